package io.mailbridge.pop3.record;

import static io.mailbridge.pop3.record.MessageSchema.ADDRESS;
import static io.mailbridge.pop3.record.MessageSchema.ATTACHMENT;
import static io.mailbridge.pop3.record.MessageSchema.HEADER;
import static io.mailbridge.pop3.record.MessageSchema.VALUE;

import io.mailbridge.pop3.config.AttachmentMode;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

/**
 * Turns the raw RFC 5322 bytes of one message into the record value
 * ({@link MessageSchema#VALUE}).
 *
 * <p>Bad input never throws: whatever cannot be decoded as declared (a multipart whose boundary
 * never appears or never closes, bad base64, an unknown charset or transfer encoding, a header
 * line without a colon) is decoded as leniently as possible and named in {@code parse_error},
 * and the record then carries {@code raw}, so no message is lost. Exceptions are thrown only
 * for programming errors (null mailbox or uid, a length outside the buffer).
 *
 * <p>Instances are immutable and thread-safe. The mapper keeps no reference to the caller's
 * buffer: the returned record owns copies of everything, so the buffer can be reused at once.
 *
 * <p>Cost: the message is parsed once, in place (every part is a window on the caller's buffer,
 * via {@link SharedBytes}); content is decoded only for the text and html parts and, to count
 * decoded octets or carry content, for attachments.
 */
public final class MessageMapper {

    /**
     * Angus reads most MIME parsing switches ({@code mail.mime.multipart.*},
     * {@code mail.mime.base64.ignoreerrors}, {@code mail.mime.decodetext.strict},
     * {@code mail.mime.decodefilename}, {@code mail.mime.decodeparameters}) as JVM-wide system
     * properties, not from the Session, and a connector must not change those for the whole
     * worker. So the Session holds only what Angus does read from it, and the rest is enforced
     * per parse in {@link MimeBody} (lenient multipart with explicit checks, strict base64 with a
     * lenient retry) and {@link HeaderValues} (RFC 2047 words decoded anywhere).
     * {@code mail.mime.allowutf8=false} makes header bytes arrive one char per byte, so
     * {@link MimeCharsets#repair8bit} can choose between UTF-8 and ISO-8859-1 without loss.
     */
    private static final Session SESSION;

    static {
        Properties properties = new Properties();
        properties.setProperty("mail.mime.address.strict", "false");
        properties.setProperty("mail.mime.allowutf8", "false");
        SESSION = Session.getInstance(properties);
    }

    private static final int MAX_REASON_LENGTH = 200;

    private static final Field ADDRESS_NAME = ADDRESS.field(MessageSchema.FIELD_NAME);
    private static final Field ADDRESS_ADDRESS = ADDRESS.field(MessageSchema.FIELD_ADDRESS);
    private static final Field HEADER_NAME = HEADER.field(MessageSchema.FIELD_NAME);
    private static final Field HEADER_VALUE = HEADER.field(MessageSchema.FIELD_VALUE);
    private static final Field ATTACHMENT_FILENAME = ATTACHMENT.field(MessageSchema.FIELD_FILENAME);
    private static final Field ATTACHMENT_CONTENT_TYPE = ATTACHMENT.field(MessageSchema.FIELD_CONTENT_TYPE);
    private static final Field ATTACHMENT_DISPOSITION = ATTACHMENT.field(MessageSchema.FIELD_DISPOSITION);
    private static final Field ATTACHMENT_CONTENT_ID = ATTACHMENT.field(MessageSchema.FIELD_CONTENT_ID);
    private static final Field ATTACHMENT_SIZE = ATTACHMENT.field(MessageSchema.FIELD_SIZE);
    private static final Field ATTACHMENT_CONTENT = ATTACHMENT.field(MessageSchema.FIELD_CONTENT);

    private final AttachmentMode attachments;
    private final boolean includeRaw;

    public MessageMapper(AttachmentMode attachments, boolean includeRaw) {
        this.attachments = Objects.requireNonNull(attachments, "attachments");
        this.includeRaw = includeRaw;
    }

    /**
     * Maps a full message.
     *
     * @param raw       {@code raw[0..length)} holds the message as RETR delivered it (dot-stuffing
     *                  undone, CRLF line ends)
     * @param size      octets RETR delivered; more than {@code length} when truncated
     * @param truncated the bytes were cut by the caller (oversize policy {@code truncate}): the
     *                  record gets {@code truncated=true} and no attachment content, and a
     *                  multipart or encoding left unfinished by the cut is not a parse error
     */
    public Struct map(String mailbox, String uid, byte[] raw, int length, long size, boolean truncated) {
        Values values = new Values(mailbox, uid, raw, length, size, truncated);
        try {
            MimeMessage message = new MimeMessage(SESSION, new SharedBytes(raw, 0, length));
            readHeaders(message, values);
            readBody(message, values);
        } catch (MessagingException | RuntimeException e) {
            values.problems.add("unparseable message: " + describe(e));
        }
        return values.toStruct();
    }

    /**
     * Maps only the header section (oversize policy {@code skip}): text and html are null,
     * attachments empty, {@code truncated=true}; {@code raw}, when set, holds the header bytes.
     *
     * @param headerBytes {@code headerBytes[0..length)} holds the header section, e.g. from TOP n 0
     * @param size        the message size from LIST or RETR
     */
    public Struct mapHeadersOnly(String mailbox, String uid, byte[] headerBytes, int length, long size) {
        Values values = new Values(mailbox, uid, headerBytes, length, size, true);
        try {
            readHeaders(new MimeMessage(SESSION, new SharedBytes(headerBytes, 0, length)), values);
        } catch (MessagingException | RuntimeException e) {
            values.problems.add("unparseable message: " + describe(e));
        }
        return values.toStruct();
    }

    private static void readHeaders(MimeMessage message, Values values) throws MessagingException {
        String from = null;
        String sender = null;
        String replyTo = null;
        String to = null;
        String cc = null;
        String bcc = null;
        String date = null;
        Enumeration<String> lines = message.getAllHeaderLines();
        while (lines.hasMoreElements()) {
            String line = lines.nextElement();
            int colon = line.indexOf(':');
            if (colon <= 0) {
                // Not a header; Angus keeps reading headers after it, and so do we.
                values.problems.add("header line without colon");
                continue;
            }
            String name = line.substring(0, colon).strip();
            String raw = HeaderValues.unfold(line, colon + 1);
            String decoded = HeaderValues.decode(raw);
            values.headers.add(new Struct(HEADER).put(HEADER_NAME, name).put(HEADER_VALUE, decoded));
            // The first occurrence of each header counts, as in Python's msg[name].
            if (name.equalsIgnoreCase("Subject")) {
                values.subject = values.subject == null ? decoded : values.subject;
            } else if (name.equalsIgnoreCase("Message-ID")) {
                values.messageId = values.messageId == null ? raw : values.messageId;
            } else if (name.equalsIgnoreCase("Date")) {
                date = date == null ? raw : date;
            } else if (name.equalsIgnoreCase("From")) {
                from = from == null ? raw : from;
            } else if (name.equalsIgnoreCase("Sender")) {
                sender = sender == null ? raw : sender;
            } else if (name.equalsIgnoreCase("Reply-To")) {
                replyTo = replyTo == null ? raw : replyTo;
            } else if (name.equalsIgnoreCase("To")) {
                to = to == null ? raw : to;
            } else if (name.equalsIgnoreCase("Cc")) {
                cc = cc == null ? raw : cc;
            } else if (name.equalsIgnoreCase("Bcc")) {
                bcc = bcc == null ? raw : bcc;
            }
        }
        if (values.messageId != null && values.messageId.isEmpty()) {
            values.messageId = null;
        }
        values.date = DateHeader.toIso(date);
        values.from = addresses(from);
        values.sender = addresses(sender);
        values.replyTo = addresses(replyTo);
        values.to = addresses(to);
        values.cc = addresses(cc);
        values.bcc = addresses(bcc);
    }

    private void readBody(MimeMessage message, Values values) throws MessagingException {
        MimeBody body = new MimeBody(message, values.length, values.truncated, values.problems);
        body.walk();
        if (body.text() != null) {
            values.text = body.decodeText(body.text());
        }
        if (body.html() != null) {
            values.html = body.decodeText(body.html());
        }
        if (attachments == AttachmentMode.NONE) {
            return;
        }
        boolean withContent = attachments == AttachmentMode.INLINE && !values.truncated;
        for (MimeBody.Leaf leaf : body.attachments()) {
            values.attachments.add(attachment(body, leaf, withContent));
        }
    }

    private static Struct attachment(MimeBody body, MimeBody.Leaf leaf, boolean withContent)
            throws MessagingException {
        MimeBody.Content content = body.decode(leaf, withContent);
        String contentId = leaf.part.getHeader("Content-ID", null);
        contentId = contentId == null ? null : HeaderValues.unfold(contentId, 0);
        return new Struct(ATTACHMENT)
                .put(ATTACHMENT_FILENAME, MimeBody.fileName(leaf))
                .put(ATTACHMENT_CONTENT_TYPE, leaf.contentType)
                .put(ATTACHMENT_DISPOSITION, leaf.disposition)
                .put(ATTACHMENT_CONTENT_ID, contentId == null || contentId.isEmpty() ? null : contentId)
                .put(ATTACHMENT_SIZE, (long) content.length)
                .put(ATTACHMENT_CONTENT, withContent ? content.toArray() : null);
    }

    /**
     * Addresses of one header, groups flattened into their members; an empty header or
     * {@code <>} gives none. Parsing is Angus's lenient one; should it still reject the header,
     * its text is kept as a single address with no name rather than dropped. Either way a bad
     * address is not a parse error of the message: it says nothing about the MIME structure.
     */
    private static List<Struct> addresses(String header) {
        if (header == null || header.isEmpty()) {
            return List.of();
        }
        List<Struct> result = new ArrayList<>(2);
        try {
            for (InternetAddress address : InternetAddress.parseHeader(header, false)) {
                if (address.isGroup()) {
                    InternetAddress[] members = address.getGroup(false);
                    for (InternetAddress member : members == null ? new InternetAddress[0] : members) {
                        addAddress(result, member);
                    }
                } else {
                    addAddress(result, address);
                }
            }
        } catch (AddressException e) {
            result.clear();
            result.add(new Struct(ADDRESS).put(ADDRESS_ADDRESS, HeaderValues.decode(header)));
        }
        return result;
    }

    private static void addAddress(List<Struct> result, InternetAddress address) {
        String name = address.getPersonal();
        if (name != null && name.contains("=?")) {
            name = HeaderValues.decode(name); // words Angus's strict decoding left encoded
        }
        name = name == null || name.isBlank() ? null : name.strip();
        String email = address.getAddress();
        email = email == null || email.isBlank() ? null : email.strip();
        if (name != null || email != null) {
            result.add(new Struct(ADDRESS).put(ADDRESS_NAME, name).put(ADDRESS_ADDRESS, email));
        }
    }

    private static String describe(Exception e) {
        String message = e.getMessage();
        String reason = message == null ? e.getClass().getSimpleName()
                : e.getClass().getSimpleName() + ": " + message;
        return reason.length() > MAX_REASON_LENGTH ? reason.substring(0, MAX_REASON_LENGTH) : reason;
    }

    /** The field values of one record while it is being built. */
    private final class Values {
        final String mailbox;
        final String uid;
        final byte[] raw;
        final int length;
        final long size;
        final boolean truncated;
        final ParseProblems problems = new ParseProblems();
        final List<Struct> headers = new ArrayList<>(24);
        final List<Struct> attachments = new ArrayList<>(2);
        String messageId;
        String subject;
        String date;
        String text;
        String html;
        List<Struct> from = List.of();
        List<Struct> sender = List.of();
        List<Struct> replyTo = List.of();
        List<Struct> to = List.of();
        List<Struct> cc = List.of();
        List<Struct> bcc = List.of();

        Values(String mailbox, String uid, byte[] raw, int length, long size, boolean truncated) {
            this.mailbox = Objects.requireNonNull(mailbox, "mailbox");
            this.uid = Objects.requireNonNull(uid, "uid");
            this.raw = Objects.requireNonNull(raw, "raw");
            Objects.checkFromIndexSize(0, length, raw.length);
            this.length = length;
            this.size = size;
            this.truncated = truncated;
        }

        Struct toStruct() {
            String parseError = problems.summary();
            return new Struct(VALUE)
                    .put(MessageSchema.FIELD_MAILBOX, mailbox)
                    .put(MessageSchema.FIELD_UID, uid)
                    .put(MessageSchema.FIELD_SIZE, size)
                    .put(MessageSchema.FIELD_MESSAGE_ID, messageId)
                    .put(MessageSchema.FIELD_SUBJECT, subject)
                    .put(MessageSchema.FIELD_FROM, from)
                    .put(MessageSchema.FIELD_SENDER, sender)
                    .put(MessageSchema.FIELD_REPLY_TO, replyTo)
                    .put(MessageSchema.FIELD_TO, to)
                    .put(MessageSchema.FIELD_CC, cc)
                    .put(MessageSchema.FIELD_BCC, bcc)
                    .put(MessageSchema.FIELD_DATE, date)
                    .put(MessageSchema.FIELD_HEADERS, headers)
                    .put(MessageSchema.FIELD_TEXT, text)
                    .put(MessageSchema.FIELD_HTML, html)
                    .put(MessageSchema.FIELD_ATTACHMENTS, attachments)
                    .put(MessageSchema.FIELD_RAW, includeRaw || parseError != null ? Arrays.copyOf(raw, length) : null)
                    .put(MessageSchema.FIELD_TRUNCATED, truncated)
                    .put(MessageSchema.FIELD_PARSE_ERROR, parseError);
        }
    }
}
