package io.mailbridge.pop3.record;

import jakarta.activation.DataSource;
import jakarta.mail.MessagingException;
import jakarta.mail.internet.ContentDisposition;
import jakarta.mail.internet.ContentType;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import jakarta.mail.internet.MimePart;
import jakarta.mail.internet.ParseException;
import org.eclipse.angus.mail.util.BASE64DecoderStream;
import org.eclipse.angus.mail.util.DecodingException;
import org.eclipse.angus.mail.util.QPDecoderStream;
import org.eclipse.angus.mail.util.UUDecoderStream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;

/**
 * The body of one message: walks its MIME tree once, picks the parts shown as text and html,
 * keeps every other leaf as an attachment, and decodes content on demand. One instance per
 * message, used by one thread.
 *
 * <p>Which parts are the body mirrors CPython's {@code EmailMessage.get_body()} (Lib/email/
 * message.py, {@code _find_body}) for the preference lists {@code ('plain',)} and
 * {@code ('html',)}: a depth-first walk that
 * <ul>
 * <li>skips any part whose Content-Disposition is {@code attachment}, with all it contains;
 * <li>offers each text/* leaf it reaches (the first text/plain reached is the text; since the
 *     lists have a single entry, the first match wins: in a multipart/alternative that is the
 *     first text/plain in order, not the last);
 * <li>does not enter message/* parts (an attached message/rfc822 is a leaf);
 * <li>enters every subpart of a multipart, except multipart/related, where only the root is
 *     entered: the part whose Content-ID equals the {@code start} parameter, else the first.
 * </ul>
 * Content types follow CPython's {@code get_content_type()}: no header gives text/plain
 * (message/rfc822 inside multipart/digest), a value without exactly one '/' gives text/plain.
 *
 * <p>Multiparts are parsed leniently (a missing end boundary ends the last part at the end of
 * the data; a missing boundary parameter is guessed from the first "--" line), and what
 * strict parsing would have rejected is recorded in {@link ParseProblems}, so a well-formed
 * message is split once. When the message was cut ({@code truncated}), problems in a part
 * that runs into the cut (a multipart that never closes, base64 cut mid-quantum) are the
 * expected result of the cut and are not recorded.
 */
final class MimeBody {

    /** Deeper multipart nesting is treated as a leaf, so hostile input cannot exhaust the stack. */
    static final int MAX_DEPTH = 64;

    private static final String TEXT_PLAIN = "text/plain";
    private static final String TEXT_HTML = "text/html";
    private static final int SCRATCH_SIZE = 8192;

    private final MimeMessage message;
    private final int messageEnd;
    private final boolean truncated;
    private final ParseProblems problems;

    private final List<Leaf> leaves = new ArrayList<>();
    private Leaf text;
    private Leaf html;
    private byte[] scratch;

    /**
     * @param messageEnd the index just past the message in the shared buffer, where a truncated
     *                   message was cut
     */
    MimeBody(MimeMessage message, int messageEnd, boolean truncated, ParseProblems problems) {
        this.message = message;
        this.messageEnd = messageEnd;
        this.truncated = truncated;
        this.problems = problems;
    }

    /** A part that is not split further, with the header facts the record needs. */
    static final class Leaf {
        final MimePart part;
        /** Lower-cased base type, e.g. image/png. */
        final String contentType;
        final String contentTypeHeader;
        /** Lower-cased disposition type, or null. */
        final String disposition;
        final String dispositionHeader;

        Leaf(MimePart part, String contentType, String contentTypeHeader,
             String disposition, String dispositionHeader) {
            this.part = part;
            this.contentType = contentType;
            this.contentTypeHeader = contentTypeHeader;
            this.disposition = disposition;
            this.dispositionHeader = dispositionHeader;
        }
    }

    /** Decoded content: a window on the message buffer for identity encodings, else a new array. */
    static final class Content {
        final byte[] bytes;
        final int offset;
        final int length;
        private final boolean shared;

        private Content(byte[] bytes, int offset, int length, boolean shared) {
            this.bytes = bytes;
            this.offset = offset;
            this.length = length;
            this.shared = shared;
        }

        /** The content as an array of its own, never the caller's message buffer. */
        byte[] toArray() {
            if (!shared && offset == 0 && length == bytes.length) {
                return bytes;
            }
            return Arrays.copyOfRange(bytes, offset, offset + length);
        }
    }

    void walk() throws MessagingException {
        walk(message, TEXT_PLAIN, true, 0);
    }

    Leaf text() {
        return text;
    }

    Leaf html() {
        return html;
    }

    /** Every leaf other than the text and html parts, in MIME order. */
    List<Leaf> attachments() {
        List<Leaf> result = new ArrayList<>(leaves.size());
        for (Leaf leaf : leaves) {
            if (leaf != text && leaf != html) {
                result.add(leaf);
            }
        }
        return result;
    }

    private void walk(MimePart part, String defaultType, boolean bodyCandidate, int depth)
            throws MessagingException {
        String contentTypeHeader = part.getHeader("Content-Type", null);
        String type = baseType(contentTypeHeader, defaultType);
        String dispositionHeader = part.getHeader("Content-Disposition", null);
        String disposition = dispositionType(dispositionHeader);
        if (part != message) {
            checkHeaderLines(part);
        }
        boolean candidate = bodyCandidate && !"attachment".equals(disposition);
        if (type.startsWith("multipart/")) {
            if (depth >= MAX_DEPTH) {
                problems.add("MIME nesting deeper than " + MAX_DEPTH + " levels");
            } else {
                ContentType contentType = multipartType(contentTypeHeader, type);
                List<MimeBodyPart> children = contentType == null ? null
                        : split(part, contentTypeHeader, contentType);
                if (children != null) {
                    boolean related = type.equals("multipart/related");
                    int root = related ? relatedRoot(children, contentType.getParameter("start")) : -1;
                    String childDefault = type.equals("multipart/digest") ? "message/rfc822" : TEXT_PLAIN;
                    for (int i = 0; i < children.size(); i++) {
                        walk(children.get(i), childDefault, candidate && (!related || i == root), depth + 1);
                    }
                    return;
                }
            }
        }
        Leaf leaf = new Leaf(part, type, contentTypeHeader, disposition, dispositionHeader);
        leaves.add(leaf);
        if (candidate) {
            if (text == null && type.equals(TEXT_PLAIN)) {
                text = leaf;
            } else if (html == null && type.equals(TEXT_HTML)) {
                html = leaf;
            }
        }
    }

    private ContentType multipartType(String header, String type) {
        try {
            ContentType contentType = new ContentType(header);
            if (contentType.getParameter("boundary") == null) {
                problems.add("multipart without boundary parameter");
            }
            return contentType;
        } catch (ParseException e) {
            problems.add("unparseable " + type + " content type");
            return null;
        }
    }

    /** The subparts, or null when the multipart cannot be split (it then stays one leaf). */
    private List<MimeBodyPart> split(MimePart part, String header, ContentType contentType)
            throws MessagingException {
        SharedBytes content = rawContent(part);
        boolean atCut = truncated && content.end() >= messageEnd;
        LenientMultipart multipart = new LenientMultipart(new PartSource(content, header));
        int count;
        try {
            count = multipart.getCount();
        } catch (ParseException e) {
            // The only ParseException lenient parsing leaves is a missing start boundary.
            if (!atCut) {
                problems.add("multipart boundary never appears");
            }
            return null;
        }
        if (!multipart.isComplete() && !atCut) {
            problems.add("multipart boundary never closes");
        }
        List<MimeBodyPart> children = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            children.add((MimeBodyPart) multipart.getBodyPart(i));
        }
        return children;
    }

    /** CPython compares the Content-ID header with the start parameter as strings. */
    private static int relatedRoot(List<MimeBodyPart> children, String start) throws MessagingException {
        if (start == null || start.isEmpty()) {
            return 0;
        }
        String wanted = start.trim();
        for (int i = 0; i < children.size(); i++) {
            String id = children.get(i).getHeader("Content-ID", null);
            if (id != null && id.trim().equals(wanted)) {
                return i;
            }
        }
        return 0;
    }

    private void checkHeaderLines(MimePart part) throws MessagingException {
        Enumeration<String> lines = part.getAllHeaderLines();
        while (lines.hasMoreElements()) {
            if (lines.nextElement().indexOf(':') <= 0) {
                problems.add("header line without colon");
            }
        }
    }

    /** The decoded text of a text/plain or text/html leaf. */
    String decodeText(Leaf leaf) throws MessagingException {
        Content content = decode(leaf, true);
        String charsetName = parameter(leaf.contentTypeHeader, "charset");
        if (charsetName == null || charsetName.isBlank()) {
            return MimeCharsets.decodeLenient(content.bytes, content.offset, content.length);
        }
        Charset charset = MimeCharsets.forName(charsetName);
        if (charset == null) {
            problems.add("unknown charset " + charsetName.trim());
        }
        // Text labelled US-ASCII that holds 8-bit bytes is common; lenient decoding keeps it.
        if (charset == null || charset.equals(StandardCharsets.US_ASCII)) {
            return MimeCharsets.decodeLenient(content.bytes, content.offset, content.length);
        }
        return new String(content.bytes, content.offset, content.length, charset);
    }

    /** Decoded content of a leaf; with {@code keepBytes} false only the length is meaningful. */
    Content decode(Leaf leaf, boolean keepBytes) throws MessagingException {
        SharedBytes raw = rawContent(leaf.part);
        boolean atCut = truncated && raw.end() >= messageEnd;
        String encoding = transferEncoding(leaf.part);
        int rawLength = raw.end() - raw.position();
        try {
            switch (encoding) {
                case "", "7bit", "8bit", "binary":
                    return new Content(raw.array(), raw.position(), rawLength, true);
                case "base64":
                    try {
                        return read(new BASE64DecoderStream(raw, false), keepBytes, rawLength / 4 * 3 + 3);
                    } catch (DecodingException e) {
                        if (!atCut) {
                            problems.add("bad base64 in " + leaf.contentType + " part");
                        }
                        return read(new BASE64DecoderStream(rawContent(leaf.part), true), keepBytes,
                                rawLength / 4 * 3 + 3);
                    }
                case "quoted-printable":
                    return read(new QPDecoderStream(raw), keepBytes, rawLength);
                case "uuencode", "x-uuencode", "x-uue":
                    try {
                        return read(new UUDecoderStream(raw, false, false), keepBytes, rawLength);
                    } catch (IOException e) {
                        if (!atCut) {
                            problems.add("bad uuencode in " + leaf.contentType + " part");
                        }
                        return read(new UUDecoderStream(rawContent(leaf.part), true, true), keepBytes, rawLength);
                    }
                default:
                    problems.add("unknown transfer encoding " + encoding);
                    return new Content(raw.array(), raw.position(), rawLength, true);
            }
        } catch (IOException e) {
            // Reading a byte array fails only inside a decoder that ignores errors: keep the raw bytes.
            problems.add("undecodable " + encoding + " in " + leaf.contentType + " part");
            return new Content(raw.array(), raw.position(), rawLength, true);
        }
    }

    /** The file name: Content-Disposition filename (RFC 2231), else Content-Type name; RFC 2047 decoded. */
    static String fileName(Leaf leaf) {
        String name = leaf.dispositionHeader == null ? null
                : dispositionParameter(HeaderValues.unfold(leaf.dispositionHeader, 0), "filename");
        if (name == null && leaf.contentTypeHeader != null) {
            name = parameter(HeaderValues.unfold(leaf.contentTypeHeader, 0), "name");
        }
        if (name == null) {
            return null;
        }
        name = HeaderValues.decode(name).trim();
        return name.isEmpty() ? null : name;
    }

    private Content read(InputStream in, boolean keepBytes, int sizeHint) throws IOException {
        if (!keepBytes) {
            if (scratch == null) {
                scratch = new byte[SCRATCH_SIZE];
            }
            int total = 0;
            for (int n; (n = in.read(scratch, 0, scratch.length)) > 0; ) {
                total += n;
            }
            return new Content(scratch, 0, total, true);
        }
        byte[] out = new byte[Math.max(sizeHint, 16)];
        int length = 0;
        for (int n; (n = in.read(out, length, out.length - length)) > 0; ) {
            length += n;
            if (length == out.length) {
                out = Arrays.copyOf(out, out.length * 2);
            }
        }
        return new Content(out, 0, length, false);
    }

    private static SharedBytes rawContent(MimePart part) throws MessagingException {
        InputStream in = part instanceof MimeMessage m ? m.getRawInputStream()
                : ((MimeBodyPart) part).getRawInputStream();
        if (in instanceof SharedBytes shared) {
            return shared;
        }
        // Not expected (every part is cut from our buffer), but never worth failing a message.
        try (in) {
            byte[] bytes = in.readAllBytes();
            return new SharedBytes(bytes, 0, bytes.length);
        } catch (IOException e) {
            throw new MessagingException("cannot read part content", e);
        }
    }

    private static String transferEncoding(MimePart part) throws MessagingException {
        String header = part.getHeader("Content-Transfer-Encoding", null);
        return header == null ? "" : header.trim().toLowerCase(Locale.ROOT);
    }

    /** Lower-cased "type/subtype" of a Content-Type value, with CPython's defaults. */
    static String baseType(String header, String defaultType) {
        if (header == null) {
            return defaultType;
        }
        String type = token(header);
        int slash = type.indexOf('/');
        if (slash <= 0 || slash == type.length() - 1 || type.indexOf('/', slash + 1) >= 0) {
            return TEXT_PLAIN; // RFC 2045 5.2: an invalid type reads as text/plain
        }
        return type.toLowerCase(Locale.ROOT);
    }

    static String dispositionType(String header) {
        if (header == null) {
            return null;
        }
        String type = token(header);
        return type.isEmpty() ? null : type.toLowerCase(Locale.ROOT);
    }

    /** The leading token of a header value: up to ';' or white space. */
    private static String token(String header) {
        int begin = 0;
        int end = header.length();
        while (begin < end && header.charAt(begin) <= ' ') {
            begin++;
        }
        for (int i = begin; i < end; i++) {
            char c = header.charAt(i);
            if (c == ';' || c <= ' ') {
                end = i;
                break;
            }
        }
        return header.substring(begin, end);
    }

    /** A Content-Type parameter, RFC 2231 decoded; a hand scan when the header does not parse. */
    static String parameter(String contentTypeHeader, String name) {
        if (contentTypeHeader == null) {
            return null;
        }
        try {
            return new ContentType(contentTypeHeader).getParameter(name);
        } catch (ParseException e) {
            return scanParameter(contentTypeHeader, name);
        }
    }

    private static String dispositionParameter(String dispositionHeader, String name) {
        try {
            return new ContentDisposition(dispositionHeader).getParameter(name);
        } catch (ParseException e) {
            return scanParameter(dispositionHeader, name);
        }
    }

    /**
     * Fallback for headers Angus's strict parameter parser rejects (an unquoted file name with
     * spaces, say): the text after {@code name=} up to the next ';', quotes removed.
     */
    static String scanParameter(String header, String name) {
        int from = header.indexOf(';');
        while (from >= 0) {
            int begin = from + 1;
            while (begin < header.length() && header.charAt(begin) <= ' ') {
                begin++;
            }
            int next = header.indexOf(';', begin);
            int end = next < 0 ? header.length() : next;
            if (header.regionMatches(true, begin, name, 0, name.length())) {
                int eq = begin + name.length();
                while (eq < end && header.charAt(eq) <= ' ') {
                    eq++;
                }
                if (eq < end && header.charAt(eq) == '=') {
                    String value = header.substring(eq + 1, end).trim();
                    if (value.length() >= 2 && value.charAt(0) == '"') {
                        int close = value.lastIndexOf('"');
                        value = close > 0 ? value.substring(1, close) : value.substring(1);
                    }
                    return value;
                }
            }
            from = next;
        }
        return null;
    }

    /**
     * A multipart parsed with our leniency, not the JVM-wide {@code mail.mime.multipart.*}
     * system properties that Angus reads; strictness is checked by the caller instead.
     */
    private static final class LenientMultipart extends MimeMultipart {
        LenientMultipart(DataSource source) throws MessagingException {
            super(source);
        }

        @Override
        protected void initializeProperties() {
            ignoreMissingEndBoundary = true;
            ignoreMissingBoundaryParameter = true;
            ignoreExistingBoundaryParameter = false;
            allowEmpty = false;
        }
    }

    /** Feeds a part's undecoded content (a window on the shared buffer) to MimeMultipart. */
    private static final class PartSource implements DataSource {
        private final SharedBytes content;
        private final String contentType;

        PartSource(SharedBytes content, String contentType) {
            this.content = content;
            this.contentType = contentType;
        }

        @Override
        public InputStream getInputStream() {
            return content.newStream(0, -1);
        }

        @Override
        public OutputStream getOutputStream() throws IOException {
            throw new IOException("read-only");
        }

        @Override
        public String getContentType() {
            return contentType;
        }

        @Override
        public String getName() {
            return null;
        }
    }
}
