package io.mailbridge.pop3.record;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The header section of a message or body part, read in place from the message buffer: each
 * field's name as written and its value unfolded, trimmed and, when it holds raw 8-bit bytes,
 * read as UTF-8 if valid, else as ISO-8859-1 (RFC 2047 words are left for
 * {@link HeaderValues#decode}).
 *
 * <p>Lines end with CRLF, LF or CR. A line starting with white space continues the field
 * before it. The section ends at the first empty line, or, as in CPython's parser, at the first
 * line that is not a header line (no colon, or a name with characters RFC 5322 forbids): that
 * line is the first line of the body, so no text is lost (a digest that starts with text
 * folded like a header, say), and the section is reported as a problem. A Unix "From " line
 * opening a message is skipped silently; one further down is skipped as a problem, or starts
 * the body when it is the section's last line. A line with an empty name, and continuation
 * lines with no field before them, are skipped as problems (as CPython does).
 */
final class HeaderBlock {

    /** Eight buffer bytes at a time, for {@link #lineEnd}. */
    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final long LF_BYTES = 0x0A0A0A0A0A0A0A0AL;
    private static final long CR_BYTES = 0x0D0D0D0D0D0D0D0DL;
    private static final long LOW_BITS = 0x0101010101010101L;
    private static final long HIGH_BITS = 0x8080808080808080L;

    // What a line of a header section is, by CPython's test (feedparser's headerRE).
    private static final int FIELD = 0;
    private static final int CONTINUATION = 1;
    private static final int ENVELOPE = 2;
    private static final int NOT_HEADER = 3;

    /** One header field: name as written, value unfolded (not RFC 2047 decoded). */
    record Field(String name, String value) {
    }

    private final List<Field> fields;
    private final int bodyStart;
    private final boolean complete;
    private final String problem;

    private HeaderBlock(List<Field> fields, int bodyStart, boolean complete, String problem) {
        this.fields = fields;
        this.bodyStart = bodyStart;
        this.complete = complete;
        this.problem = problem;
    }

    /** Parses the header section that starts at {@code from}; the body is what follows it up to {@code to}. */
    static HeaderBlock parse(byte[] buf, int from, int to) {
        return parse(buf, from, to, false);
    }

    /**
     * Like {@link #parse(byte[], int, int)}; with {@code cut}, the data was cut at {@code to}, so
     * a last line without a line end is incomplete: it is dropped, and is no problem.
     */
    static HeaderBlock parse(byte[] buf, int from, int to, boolean cut) {
        List<Field> fields = new ArrayList<>(from == 0 ? 24 : 4);
        String problem = null;
        int bodyStart = -1;
        int pos = from;
        while (pos < to) {
            int lineEnd = lineEnd(buf, pos, to);
            if (lineEnd == pos) {
                bodyStart = nextLine(buf, lineEnd, to);
                break;
            }
            int fieldEnd = lineEnd;
            int next = nextLine(buf, lineEnd, to);
            while (next < to && (buf[next] == ' ' || buf[next] == '\t')) {
                fieldEnd = lineEnd(buf, next, to);
                next = nextLine(buf, fieldEnd, to);
            }
            if (cut && fieldEnd == to) {
                break;
            }
            int kind = kind(buf, pos, lineEnd);
            if (kind == ENVELOPE && pos != 0 && !isHeaderLine(buf, next, to)) {
                kind = NOT_HEADER; // a misplaced "From " line just before the body is body, as in CPython
            }
            if (kind == NOT_HEADER) {
                bodyStart = pos;
                if (problem == null) {
                    problem = indexOf(buf, (byte) ':', pos, lineEnd) < 0 ? "header line without colon"
                            : "malformed header name";
                }
                break;
            }
            if (kind == FIELD) {
                int colon = indexOf(buf, (byte) ':', pos, lineEnd);
                int nameEnd = colon;
                while (nameEnd > pos && (buf[nameEnd - 1] == ' ' || buf[nameEnd - 1] == '\t')) {
                    nameEnd--; // obsolete syntax allows white space before the colon (RFC 5322 4.5)
                }
                if (nameEnd > pos) {
                    fields.add(new Field(latin1(buf, pos, nameEnd), value(buf, colon + 1, fieldEnd)));
                } else {
                    problem = problem == null ? "header line without name" : problem;
                }
            } else if (kind == CONTINUATION) {
                problem = problem == null ? "header section starts with a continuation line" : problem;
            } else if (pos != 0) {
                problem = problem == null ? "misplaced envelope From line" : problem;
            }
            pos = next;
        }
        boolean complete = bodyStart >= 0;
        return new HeaderBlock(fields, complete ? bodyStart : to, complete, problem);
    }

    /**
     * A line is a field when printable non-colon characters (perhaps none) are followed by a colon,
     * here also with white space between them (RFC 5322 obsolete syntax, which CPython does not
     * accept); a continuation when it starts with white space; an envelope line when it starts
     * with "From ". Anything else starts the body.
     */
    private static int kind(byte[] buf, int pos, int lineEnd) {
        if (buf[pos] == ' ' || buf[pos] == '\t') {
            return CONTINUATION;
        }
        if (startsWith(buf, pos, lineEnd, "From ")) {
            return ENVELOPE;
        }
        int i = pos;
        while (i < lineEnd && buf[i] >= 33 && buf[i] <= 126 && buf[i] != ':') { // negative for 8-bit bytes
            i++;
        }
        while (i > pos && i < lineEnd && (buf[i] == ' ' || buf[i] == '\t')) {
            i++;
        }
        return i < lineEnd && buf[i] == ':' ? FIELD : NOT_HEADER;
    }

    /** Whether another header line (not an empty line, not the body) starts at {@code pos}. */
    private static boolean isHeaderLine(byte[] buf, int pos, int to) {
        int lineEnd = lineEnd(buf, pos, to);
        return lineEnd > pos && kind(buf, pos, lineEnd) != NOT_HEADER;
    }

    List<Field> fields() {
        return fields;
    }

    /** Index of the first body byte. */
    int bodyStart() {
        return bodyStart;
    }

    /** Whether the section ended (at an empty line or at a line that starts the body) before the data did. */
    boolean complete() {
        return complete;
    }

    /** Why some line was not a header field, or null. */
    String problem() {
        return problem;
    }

    /** The value of the first field of that name (case-insensitive), or null. */
    String first(String name) {
        for (Field field : fields) {
            if (field.name().equalsIgnoreCase(name)) {
                return field.value();
            }
        }
        return null;
    }

    /**
     * Index of the CR or LF ending the line that starts at {@code pos}, or {@code to}. Runs over every line of
     * every multipart body (the delimiter search), so it reads eight bytes per step: XOR with a byte makes that
     * byte zero, and {@code (w - 0x01..01) & ~w & 0x80..80} marks the zero bytes, the lowest mark exactly
     * (little-endian load: the lowest byte comes first).
     */
    static int lineEnd(byte[] buf, int pos, int to) {
        int i = pos;
        for (int last = to - Long.BYTES; i <= last; i += Long.BYTES) {
            long w = (long) LONGS.get(buf, i);
            long lf = w ^ LF_BYTES;
            long cr = w ^ CR_BYTES;
            long found = ((lf - LOW_BITS) & ~lf | (cr - LOW_BITS) & ~cr) & HIGH_BITS;
            if (found != 0) {
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < to; i++) {
            byte c = buf[i];
            if (c == '\n' || c == '\r') {
                return i;
            }
        }
        return to;
    }


    /** Index of the next line's start, given the index of a line's end. */
    static int nextLine(byte[] buf, int lineEnd, int to) {
        if (lineEnd >= to) {
            return to;
        }
        if (buf[lineEnd] == '\r' && lineEnd + 1 < to && buf[lineEnd + 1] == '\n') {
            return lineEnd + 2;
        }
        return lineEnd + 1;
    }

    private static String value(byte[] buf, int from, int to) {
        int begin = from;
        int end = to;
        while (begin < end && isSpace(buf[begin])) {
            begin++;
        }
        while (end > begin && isSpace(buf[end - 1])) {
            end--;
        }
        boolean folded = false;
        for (int i = begin; i < end; i++) {
            if (buf[i] == '\r' || buf[i] == '\n') {
                folded = true;
                break;
            }
        }
        if (!folded) {
            return MimeCharsets.decodeLenient(buf, begin, end - begin);
        }
        // Unfolding removes the line breaks and keeps the white space after them (RFC 5322 2.2.3).
        byte[] unfolded = new byte[end - begin];
        int n = 0;
        for (int i = begin; i < end; i++) {
            if (buf[i] != '\r' && buf[i] != '\n') {
                unfolded[n++] = buf[i];
            }
        }
        return MimeCharsets.decodeLenient(unfolded, 0, n);
    }

    private static boolean isSpace(byte c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    }

    private static int indexOf(byte[] buf, byte b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (buf[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static boolean startsWith(byte[] buf, int from, int to, String prefix) {
        if (to - from < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (buf[from + i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static String latin1(byte[] buf, int from, int to) {
        return new String(buf, from, to - from, StandardCharsets.ISO_8859_1);
    }
}
