package io.mailbridge.pop3.record;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The body of one message: walks its MIME tree once, in place in the message buffer, picks the
 * parts shown as text and html, keeps every other leaf as an attachment, and decodes content
 * on demand. One instance per message, used by one thread.
 *
 * <p>Which parts are the body mirrors CPython's {@code EmailMessage.get_body()} (Lib/email/
 * message.py, {@code _find_body}) for the preference lists {@code ('plain',)} and
 * {@code ('html',)}: a depth-first walk that
 * <ul>
 * <li>skips any part whose Content-Disposition is {@code attachment}, with all it contains;
 * <li>offers each text/* leaf it reaches; the first text/plain reached is the text (each list
 *     has one entry, so the first match ends CPython's search: in a multipart/alternative that
 *     is the first text/plain in order, not the last);
 * <li>does not enter message/* parts (an attached message/rfc822 is a leaf);
 * <li>enters every subpart of a multipart, except multipart/related, where only the root is
 *     entered: the part whose Content-ID equals the {@code start} parameter, else the first.
 * </ul>
 * Content types follow CPython's {@code get_content_type()}: no header gives text/plain
 * (message/rfc822 inside multipart/digest), a value without exactly one '/' gives text/plain.
 *
 * <p>Multiparts are split leniently and what strict parsing would reject is recorded in
 * {@link ParseProblems}: a missing boundary parameter (the first "--" line is taken as the
 * boundary, as Angus does), a boundary that never appears (the multipart stays one leaf, and
 * like CPython no body is found in it), a boundary that never closes (the last part ends at
 * the end of the data). When the message was cut ({@code truncated}), problems of a part that
 * runs into the cut (a multipart that never closes, base64 cut mid-group) are the expected
 * result of the cut and are not recorded.
 *
 * <p>Angus's MimeMultipart/MimeBodyPart are not used: every instance looks its StreamProvider
 * up through ServiceLoader (jakartaee/mail-api#699, #861), and their byte-at-a-time reading
 * through synchronized streams made a 4 KB mail cost ~85 µs even without that; splitting the
 * array directly costs a few µs.
 */
final class MimeBody {

    /** Deeper multipart nesting is treated as a leaf, so hostile input cannot exhaust the stack. */
    static final int MAX_DEPTH = 64;

    private static final String TEXT_PLAIN = "text/plain";
    private static final String TEXT_HTML = "text/html";

    // What delimiterKind found.
    private static final int NOT_DELIMITER = 0;
    private static final int DELIMITER = 1;
    private static final int CLOSE_DELIMITER = 2;

    private final byte[] buf;
    private final int messageEnd;
    private final boolean truncated;
    private final ParseProblems problems;
    private final TransferDecoder decoder = new TransferDecoder();

    private final List<Leaf> leaves = new ArrayList<>();
    private Leaf text;
    private Leaf html;

    /**
     * @param buf        the message is {@code buf[0..messageEnd)}
     * @param messageEnd where the message ends, which is where a truncated message was cut
     */
    MimeBody(byte[] buf, int messageEnd, boolean truncated, ParseProblems problems) {
        this.buf = buf;
        this.messageEnd = messageEnd;
        this.truncated = truncated;
        this.problems = problems;
    }

    /** A part that is not split further: its headers and the window of its (encoded) body. */
    static final class Leaf {
        final HeaderBlock headers;
        final int start;
        final int end;
        /** Lower-cased base type, e.g. image/png. */
        final String contentType;
        /** Lower-cased disposition type, or null. */
        final String disposition;

        Leaf(HeaderBlock headers, int start, int end, String contentType, String disposition) {
            this.headers = headers;
            this.start = start;
            this.end = end;
            this.contentType = contentType;
            this.disposition = disposition;
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

    /** Walks the message whose header section is {@code headers}. */
    void walk(HeaderBlock headers) {
        walk(headers, headers.bodyStart(), messageEnd, TEXT_PLAIN, true, 0);
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

    private void walk(HeaderBlock headers, int start, int end, String defaultType, boolean bodyCandidate, int depth) {
        String contentTypeHeader = headers.first("Content-Type");
        String type = baseType(contentTypeHeader, defaultType);
        String disposition = dispositionType(headers.first("Content-Disposition"));
        boolean candidate = bodyCandidate && !"attachment".equals(disposition);
        if (type.startsWith("multipart/")) {
            if (depth >= MAX_DEPTH) {
                problems.add("MIME nesting deeper than " + MAX_DEPTH + " levels");
            } else {
                List<Part> parts = new ArrayList<>();
                if (split(contentTypeHeader, start, end, parts)) {
                    boolean related = type.equals("multipart/related");
                    int root = related ? relatedRoot(parts, MimeParameters.get(contentTypeHeader, "start")) : -1;
                    String childDefault = type.equals("multipart/digest") ? "message/rfc822" : TEXT_PLAIN;
                    for (int i = 0; i < parts.size(); i++) {
                        Part part = parts.get(i);
                        walk(part.headers(), part.headers().bodyStart(), part.end(), childDefault,
                                candidate && (!related || i == root), depth + 1);
                    }
                    return;
                }
            }
        }
        Leaf leaf = new Leaf(headers, start, end, type, disposition);
        leaves.add(leaf);
        if (candidate) {
            if (text == null && type.equals(TEXT_PLAIN)) {
                text = leaf;
            } else if (html == null && type.equals(TEXT_HTML)) {
                html = leaf;
            }
        }
    }

    /** A subpart of a multipart: its header section, and where its body ends. */
    private record Part(HeaderBlock headers, int end) {
    }

    /**
     * Splits the multipart body {@code buf[start..end)} into its parts; false when it cannot be
     * split, so it stays one leaf.
     */
    private boolean split(String contentTypeHeader, int start, int end, List<Part> parts) {
        boolean atCut = truncated && end >= messageEnd;
        String boundary = MimeParameters.get(contentTypeHeader, "boundary");
        byte[] delimiter;
        if (boundary == null || boundary.isEmpty()) {
            problems.add("multipart without boundary parameter");
            delimiter = guessDelimiter(start, end);
        } else {
            delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        }
        int partStart = -1;
        boolean closed = false;
        int pos = start;
        while (delimiter != null && pos < end) {
            int lineEnd = HeaderBlock.lineEnd(buf, pos, end);
            int next = HeaderBlock.nextLine(buf, lineEnd, end);
            int kind = delimiterKind(pos, lineEnd, delimiter);
            if (kind != NOT_DELIMITER) {
                if (partStart >= 0) {
                    addPart(partStart, contentEnd(partStart, pos), parts);
                }
                if (kind == CLOSE_DELIMITER) {
                    closed = true;
                    break;
                }
                partStart = next;
            }
            pos = next;
        }
        if (partStart < 0) {
            if (!atCut) {
                problems.add("multipart boundary never appears");
            }
            return false;
        }
        if (!closed) {
            if (!atCut) {
                problems.add("multipart boundary never closes");
                addPart(partStart, end, parts);
            } else {
                // Like Angus, a part cut inside its header section is dropped.
                HeaderBlock headers = HeaderBlock.parse(buf, partStart, end, true);
                if (headers.complete()) {
                    addPart(headers, end, parts);
                }
            }
        }
        return true;
    }

    private void addPart(int from, int to, List<Part> parts) {
        addPart(HeaderBlock.parse(buf, from, to), to, parts);
    }

    private void addPart(HeaderBlock headers, int to, List<Part> parts) {
        if (headers.problem() != null) {
            problems.add(headers.problem());
        }
        parts.add(new Part(headers, to));
    }

    /** The line break before a delimiter line belongs to the delimiter (RFC 2046 5.1.1). */
    private int contentEnd(int partStart, int delimiterLine) {
        int end = delimiterLine;
        if (end > partStart && buf[end - 1] == '\n') {
            end--;
        }
        if (end > partStart && buf[end - 1] == '\r') {
            end--;
        }
        return end;
    }

    /**
     * A delimiter line is "--boundary" then white space; a close delimiter has "--" after the
     * boundary, and (like Angus) anything after that is ignored.
     */
    private int delimiterKind(int lineStart, int lineEnd, byte[] delimiter) {
        int length = delimiter.length;
        if (lineEnd - lineStart < length) {
            return NOT_DELIMITER;
        }
        for (int i = 0; i < length; i++) {
            if (buf[lineStart + i] != delimiter[i]) {
                return NOT_DELIMITER;
            }
        }
        int p = lineStart + length;
        if (p + 1 < lineEnd && buf[p] == '-' && buf[p + 1] == '-') {
            return CLOSE_DELIMITER;
        }
        while (p < lineEnd && (buf[p] == ' ' || buf[p] == '\t')) {
            p++;
        }
        return p == lineEnd ? DELIMITER : NOT_DELIMITER;
    }

    /** Like Angus without a boundary parameter: the first "--" line that is not all dashes. */
    private byte[] guessDelimiter(int start, int end) {
        for (int pos = start; pos < end; ) {
            int lineEnd = HeaderBlock.lineEnd(buf, pos, end);
            int trimmed = lineEnd;
            while (trimmed > pos && (buf[trimmed - 1] == ' ' || buf[trimmed - 1] == '\t')) {
                trimmed--;
            }
            if (trimmed - pos > 2 && buf[pos] == '-' && buf[pos + 1] == '-' && !allDashes(pos, trimmed)) {
                return Arrays.copyOfRange(buf, pos, trimmed);
            }
            pos = HeaderBlock.nextLine(buf, lineEnd, end);
        }
        return null;
    }

    private boolean allDashes(int from, int to) {
        for (int i = from; i < to; i++) {
            if (buf[i] != '-') {
                return false;
            }
        }
        return true;
    }

    /** CPython compares the Content-ID header with the start parameter as strings. */
    private static int relatedRoot(List<Part> parts, String start) {
        if (start == null || start.isBlank()) {
            return 0;
        }
        String wanted = start.trim();
        for (int i = 0; i < parts.size(); i++) {
            String id = parts.get(i).headers().first("Content-ID");
            if (wanted.equals(id)) {
                return i;
            }
        }
        return 0;
    }

    /** The decoded text of a text/plain or text/html leaf. */
    String decodeText(Leaf leaf) {
        Content content = decode(leaf, true);
        String charsetName = MimeParameters.get(leaf.headers.first("Content-Type"), "charset");
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
    Content decode(Leaf leaf, boolean keepBytes) {
        int length = leaf.end - leaf.start;
        String encoding = transferEncoding(leaf.headers);
        switch (encoding) {
            case "", "7bit", "8bit", "binary":
                return new Content(buf, leaf.start, length, true);
            case "base64": {
                byte[] out = keepBytes ? new byte[TransferDecoder.base64Capacity(length)] : null;
                int n = decoder.base64(buf, leaf.start, leaf.end, out);
                if (decoder.malformed() && !(truncated && leaf.end >= messageEnd)) {
                    problems.add("bad base64 in " + leaf.contentType + " part");
                }
                return out == null ? new Content(buf, 0, n, true) : new Content(out, 0, n, false);
            }
            case "quoted-printable": {
                byte[] out = keepBytes ? new byte[length] : null;
                int n = decoder.quotedPrintable(buf, leaf.start, leaf.end, out);
                return out == null ? new Content(buf, 0, n, true) : new Content(out, 0, n, false);
            }
            case "uuencode", "x-uuencode", "x-uue": {
                byte[] out = decoder.uudecode(buf, leaf.start, leaf.end);
                if (decoder.malformed() && !(truncated && leaf.end >= messageEnd)) {
                    problems.add("bad uuencode in " + leaf.contentType + " part");
                }
                return new Content(out, 0, out.length, false);
            }
            default:
                problems.add("unknown transfer encoding " + encoding);
                return new Content(buf, leaf.start, length, true);
        }
    }

    /** The file name: Content-Disposition filename (RFC 2231), else Content-Type name; RFC 2047 decoded. */
    static String fileName(Leaf leaf) {
        String name = MimeParameters.get(leaf.headers.first("Content-Disposition"), "filename");
        if (name == null) {
            name = MimeParameters.get(leaf.headers.first("Content-Type"), "name");
        }
        if (name == null) {
            return null;
        }
        name = HeaderValues.decode(name).trim();
        return name.isEmpty() ? null : name;
    }

    private static String transferEncoding(HeaderBlock headers) {
        String header = headers.first("Content-Transfer-Encoding");
        return header == null ? "" : header.toLowerCase(Locale.ROOT);
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
}
