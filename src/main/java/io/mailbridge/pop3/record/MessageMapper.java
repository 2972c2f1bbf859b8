package io.mailbridge.pop3.record;

import io.mailbridge.pop3.config.AttachmentMode;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Turns the raw RFC 5322 bytes of one message into the record value
 * ({@link MessageSchema#VALUE}).
 *
 * <p>Bad input never throws: whatever cannot be decoded as declared (a multipart whose boundary
 * never appears or never closes, bad base64, an unknown charset or transfer encoding, a header
 * line that is not a header) is decoded as leniently as possible and named in
 * {@code parse_error}, and the record then carries {@code raw}, so no message is lost.
 * Exceptions are thrown only for programming errors (null arguments, a length outside the
 * buffer). With {@link AttachmentMode#NONE} attachment content is never decoded, so an encoding
 * error inside an attachment is not reported in that mode.
 *
 * <p>Instances are immutable and thread-safe. The mapper keeps no reference to the caller's
 * buffer: the record owns copies of everything, so the buffer may be reused at once.
 *
 * <p>Cost: the message is parsed once, in place: header sections and multipart windows are
 * read straight from the caller's array ({@link HeaderBlock}, {@link MimeBody}); content is
 * decoded only for the text and html parts and, to count decoded octets or carry content, for
 * attachments. Angus Mail is used for address lists, RFC 2231 parameters and uudecode.
 */
public final class MessageMapper {

    private static final int MAX_REASON_LENGTH = 200;

    private static final Field ADDRESS_NAME = field(MessageSchema.ADDRESS, MessageSchema.FIELD_NAME);
    private static final Field ADDRESS_ADDRESS = field(MessageSchema.ADDRESS, MessageSchema.FIELD_ADDRESS);
    private static final Field HEADER_NAME = field(MessageSchema.HEADER, MessageSchema.FIELD_NAME);
    private static final Field HEADER_VALUE = field(MessageSchema.HEADER, MessageSchema.FIELD_VALUE);
    private static final Field ATTACHMENT_FILENAME = field(MessageSchema.ATTACHMENT, MessageSchema.FIELD_FILENAME);
    private static final Field ATTACHMENT_CONTENT_TYPE = field(MessageSchema.ATTACHMENT, MessageSchema.FIELD_CONTENT_TYPE);
    private static final Field ATTACHMENT_DISPOSITION = field(MessageSchema.ATTACHMENT, MessageSchema.FIELD_DISPOSITION);
    private static final Field ATTACHMENT_CONTENT_ID = field(MessageSchema.ATTACHMENT, MessageSchema.FIELD_CONTENT_ID);
    private static final Field ATTACHMENT_SIZE = field(MessageSchema.ATTACHMENT, MessageSchema.FIELD_SIZE);
    private static final Field ATTACHMENT_CONTENT = field(MessageSchema.ATTACHMENT, MessageSchema.FIELD_CONTENT);
    private static final Field MAILBOX = field(MessageSchema.VALUE, MessageSchema.FIELD_MAILBOX);
    private static final Field UID = field(MessageSchema.VALUE, MessageSchema.FIELD_UID);
    private static final Field SIZE = field(MessageSchema.VALUE, MessageSchema.FIELD_SIZE);
    private static final Field MESSAGE_ID = field(MessageSchema.VALUE, MessageSchema.FIELD_MESSAGE_ID);
    private static final Field SUBJECT = field(MessageSchema.VALUE, MessageSchema.FIELD_SUBJECT);
    private static final Field FROM = field(MessageSchema.VALUE, MessageSchema.FIELD_FROM);
    private static final Field SENDER = field(MessageSchema.VALUE, MessageSchema.FIELD_SENDER);
    private static final Field REPLY_TO = field(MessageSchema.VALUE, MessageSchema.FIELD_REPLY_TO);
    private static final Field TO = field(MessageSchema.VALUE, MessageSchema.FIELD_TO);
    private static final Field CC = field(MessageSchema.VALUE, MessageSchema.FIELD_CC);
    private static final Field BCC = field(MessageSchema.VALUE, MessageSchema.FIELD_BCC);
    private static final Field DATE = field(MessageSchema.VALUE, MessageSchema.FIELD_DATE);
    private static final Field HEADERS = field(MessageSchema.VALUE, MessageSchema.FIELD_HEADERS);
    private static final Field TEXT = field(MessageSchema.VALUE, MessageSchema.FIELD_TEXT);
    private static final Field HTML = field(MessageSchema.VALUE, MessageSchema.FIELD_HTML);
    private static final Field ATTACHMENTS = field(MessageSchema.VALUE, MessageSchema.FIELD_ATTACHMENTS);
    private static final Field RAW = field(MessageSchema.VALUE, MessageSchema.FIELD_RAW);
    private static final Field TRUNCATED = field(MessageSchema.VALUE, MessageSchema.FIELD_TRUNCATED);
    private static final Field PARSE_ERROR = field(MessageSchema.VALUE, MessageSchema.FIELD_PARSE_ERROR);

    // Which record field a header feeds, see kind().
    private static final int OTHER_HEADER = 0;
    private static final int SUBJECT_HEADER = 1;
    private static final int MESSAGE_ID_HEADER = 2;
    private static final int DATE_HEADER = 3;
    private static final int FROM_HEADER = 4;
    private static final int SENDER_HEADER = 5;
    private static final int REPLY_TO_HEADER = 6;
    private static final int TO_HEADER = 7;
    private static final int CC_HEADER = 8;
    private static final int BCC_HEADER = 9;

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
     *                  undone, CRLF line ends); not kept after the call
     * @param size      octets RETR delivered; more than {@code length} when truncated
     * @param truncated the bytes were cut by the caller (oversize policy {@code truncate}): the
     *                  record gets {@code truncated=true} and no attachment content, and a
     *                  multipart or base64 left unfinished by the cut is not a parse error
     */
    public Struct map(String mailbox, String uid, byte[] raw, int length, long size, boolean truncated) {
        Values values = new Values(mailbox, uid, raw, length, size, truncated);
        try {
            HeaderBlock headers = readHeaders(values, truncated);
            readBody(headers, values);
        } catch (RuntimeException e) {
            // A bug met by odd input: the record still carries the message, and names the failure.
            values.problems.add("unparseable message: " + describe(e));
        }
        return values.toStruct();
    }

    /**
     * Maps only the header section (oversize policy {@code skip}): text and html are null,
     * attachments empty, {@code truncated=true}; {@code raw}, when set, holds these header bytes.
     *
     * @param headerBytes {@code headerBytes[0..length)} holds the header section, e.g. from TOP n 0
     * @param size        the message size from LIST or RETR
     */
    public Struct mapHeadersOnly(String mailbox, String uid, byte[] headerBytes, int length, long size) {
        Values values = new Values(mailbox, uid, headerBytes, length, size, true);
        try {
            readHeaders(values, false);
        } catch (RuntimeException e) {
            values.problems.add("unparseable message: " + describe(e));
        }
        return values.toStruct();
    }

    /**
     * A record for a message the server refused to deliver: no headers or bodies, {@code truncated=true} (so it is
     * never deleted), {@code raw} null, and {@code parse_error} saying why.
     *
     * @param size the message size from LIST
     */
    public Struct mapRefused(String mailbox, String uid, long size, String reason) {
        return new Struct(MessageSchema.VALUE)
                .put(MAILBOX, mailbox)
                .put(UID, uid)
                .put(SIZE, size)
                .put(FROM, List.of())
                .put(SENDER, List.of())
                .put(REPLY_TO, List.of())
                .put(TO, List.of())
                .put(CC, List.of())
                .put(BCC, List.of())
                .put(HEADERS, List.of())
                .put(ATTACHMENTS, List.of())
                .put(TRUNCATED, true)
                .put(PARSE_ERROR, reason);
    }

    private static HeaderBlock readHeaders(Values values, boolean cut) {
        HeaderBlock block = HeaderBlock.parse(values.raw, 0, values.length, cut);
        if (block.problem() != null) {
            values.problems.add(block.problem());
        }
        String from = null;
        String sender = null;
        String replyTo = null;
        String to = null;
        String cc = null;
        String bcc = null;
        String date = null;
        for (HeaderBlock.Field field : block.fields()) {
            String name = field.name();
            String raw = field.value();
            String decoded = HeaderValues.decode(raw);
            values.headers.add(new Struct(MessageSchema.HEADER).put(HEADER_NAME, name).put(HEADER_VALUE, decoded));
            // The first occurrence of each header counts, as in CPython's msg[name].
            switch (kind(name)) {
                case SUBJECT_HEADER -> values.subject = values.subject == null ? decoded : values.subject;
                case MESSAGE_ID_HEADER -> values.messageId = values.messageId == null ? raw : values.messageId;
                case DATE_HEADER -> date = date == null ? raw : date;
                case FROM_HEADER -> from = from == null ? raw : from;
                case SENDER_HEADER -> sender = sender == null ? raw : sender;
                case REPLY_TO_HEADER -> replyTo = replyTo == null ? raw : replyTo;
                case TO_HEADER -> to = to == null ? raw : to;
                case CC_HEADER -> cc = cc == null ? raw : cc;
                case BCC_HEADER -> bcc = bcc == null ? raw : bcc;
                default -> {
                    // a header that only goes to the headers array
                }
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
        return block;
    }

    /** Which record field a header feeds; the length test spares most name comparisons. */
    private static int kind(String name) {
        return switch (name.length()) {
            case 2 -> name.equalsIgnoreCase("To") ? TO_HEADER : name.equalsIgnoreCase("Cc") ? CC_HEADER : OTHER_HEADER;
            case 3 -> name.equalsIgnoreCase("Bcc") ? BCC_HEADER : OTHER_HEADER;
            case 4 -> name.equalsIgnoreCase("From") ? FROM_HEADER
                    : name.equalsIgnoreCase("Date") ? DATE_HEADER : OTHER_HEADER;
            case 6 -> name.equalsIgnoreCase("Sender") ? SENDER_HEADER : OTHER_HEADER;
            case 7 -> name.equalsIgnoreCase("Subject") ? SUBJECT_HEADER : OTHER_HEADER;
            case 8 -> name.equalsIgnoreCase("Reply-To") ? REPLY_TO_HEADER : OTHER_HEADER;
            case 10 -> name.equalsIgnoreCase("Message-ID") ? MESSAGE_ID_HEADER : OTHER_HEADER;
            default -> OTHER_HEADER;
        };
    }

    private void readBody(HeaderBlock headers, Values values) {
        MimeBody body = new MimeBody(values.raw, values.length, values.truncated, values.problems);
        body.walk(headers);
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

    private static Struct attachment(MimeBody body, MimeBody.Leaf leaf, boolean withContent) {
        MimeBody.Content content = body.decode(leaf, withContent);
        String contentId = leaf.headers.first("Content-ID");
        return new Struct(MessageSchema.ATTACHMENT)
                .put(ATTACHMENT_FILENAME, MimeBody.fileName(leaf))
                .put(ATTACHMENT_CONTENT_TYPE, leaf.contentType)
                .put(ATTACHMENT_DISPOSITION, leaf.disposition)
                .put(ATTACHMENT_CONTENT_ID, contentId == null || contentId.isEmpty() ? null : contentId)
                .put(ATTACHMENT_SIZE, (long) content.length)
                .put(ATTACHMENT_CONTENT, withContent ? content.toArray() : null);
    }

    /**
     * Addresses of one header, groups flattened into their members; an empty header,
     * {@code <>}, {@code ""} or an empty encoded word gives none. Parsing is Angus's lenient one; should it still reject the header,
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
            String text = HeaderValues.decode(header).strip();
            if (!isEmptyAddress(text)) {
                result.add(new Struct(MessageSchema.ADDRESS).put(ADDRESS_ADDRESS, text));
            }
        }
        return result;
    }

    private static void addAddress(List<Struct> result, InternetAddress address) {
        String email = address.getAddress();
        email = email == null || isEmptyAddress(email) ? null : email.strip();
        String name = displayName(address);
        if (name != null || email != null) {
            result.add(new Struct(MessageSchema.ADDRESS).put(ADDRESS_NAME, name).put(ADDRESS_ADDRESS, email));
        }
    }

    /**
     * Whether address text holds nothing but white space and delimiters, such as {@code ""} (an
     * empty quoted string) or {@code <>}: no address at all, not one empty address.
     */
    private static boolean isEmptyAddress(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isWhitespace(c) && "\"<>,;:()".indexOf(c) < 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The display name, RFC 2047 decoded by {@link HeaderValues}. {@code getPersonal()} is
     * avoided: it decodes through {@code MimeUtility.decodeText}, which looks up a
     * StreamProvider through ServiceLoader on every encoded word (jakartaee/mail-api#861). For a
     * parsed address, {@code toString()} is the still-encoded name (quoted when needed), then
     * {@code " <address>"}.
     */
    private static String displayName(InternetAddress address) {
        String written = address.toString();
        String suffix = " <" + (address.getAddress() == null ? "" : address.getAddress()) + ">";
        if (!written.endsWith(suffix) || written.length() == suffix.length()) {
            return null;
        }
        String phrase = written.substring(0, written.length() - suffix.length()).strip();
        if (phrase.length() >= 2 && phrase.charAt(0) == '"' && phrase.charAt(phrase.length() - 1) == '"') {
            StringBuilder unquoted = new StringBuilder(phrase.length());
            for (int i = 1; i < phrase.length() - 1; i++) {
                char c = phrase.charAt(i);
                if (c == '\\' && i + 1 < phrase.length() - 1) {
                    c = phrase.charAt(++i);
                }
                unquoted.append(c);
            }
            phrase = unquoted.toString();
        }
        String name = HeaderValues.decode(phrase).strip();
        return name.isEmpty() ? null : name;
    }

    private static String describe(Exception e) {
        String message = e.getMessage();
        String reason = message == null ? e.getClass().getSimpleName()
                : e.getClass().getSimpleName() + ": " + message;
        return reason.length() > MAX_REASON_LENGTH ? reason.substring(0, MAX_REASON_LENGTH) : reason;
    }

    private static Field field(Schema schema, String name) {
        return schema.field(name);
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
            return new Struct(MessageSchema.VALUE)
                    .put(MAILBOX, mailbox)
                    .put(UID, uid)
                    .put(SIZE, size)
                    .put(MESSAGE_ID, messageId)
                    .put(SUBJECT, subject)
                    .put(FROM, from)
                    .put(SENDER, sender)
                    .put(REPLY_TO, replyTo)
                    .put(TO, to)
                    .put(CC, cc)
                    .put(BCC, bcc)
                    .put(DATE, date)
                    .put(HEADERS, headers)
                    .put(TEXT, text)
                    .put(HTML, html)
                    .put(ATTACHMENTS, attachments)
                    .put(RAW, includeRaw || parseError != null ? Arrays.copyOf(raw, length) : null)
                    .put(TRUNCATED, truncated)
                    .put(PARSE_ERROR, parseError);
        }
    }
}
