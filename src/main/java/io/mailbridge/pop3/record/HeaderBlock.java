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
 * before it. The section ends at the first empty line. A line that is not a field (no colon,
 * or a name with characters RFC 5322 forbids) is skipped and recorded as a problem, and the
 * fields after it are kept; but when no empty line follows at all, the section is taken to
 * end at that line and the rest is body, as CPython's parser does for a part that has no
 * header section. A Unix "From " line opening a message is skipped silently.
 */
final class HeaderBlock {

    /** Eight buffer bytes at a time, for {@link #lineEnd}. */
    private static final java.lang.invoke.VarHandle LONGS =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final long LF_BYTES = 0x0A0A0A0A0A0A0A0AL;
    private static final long CR_BYTES = 0x0D0D0D0D0D0D0D0DL;
    private static final long LOW_BITS = 0x0101010101010101L;
    private static final long HIGH_BITS = 0x8080808080808080L;

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
     * a last field without a line end is incomplete: it is dropped, and is no problem.
     */
    static HeaderBlock parse(byte[] buf, int from, int to, boolean cut) {
        List<Field> fields = new ArrayList<>(from == 0 ? 24 : 4);
        String problem = null;
        int firstBad = -1;
        int fieldsBeforeBad = 0;
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
            String bad = null;
            int colon = indexOf(buf, (byte) ':', pos, lineEnd);
            if (pos == 0 && startsWith(buf, pos, lineEnd, "From ")) {
                bad = null; // the mbox separator line
            } else if (buf[pos] == ' ' || buf[pos] == '\t' || colon < 0) {
                bad = "header line without colon";
            } else {
                int nameEnd = colon;
                while (nameEnd > pos && (buf[nameEnd - 1] == ' ' || buf[nameEnd - 1] == '\t')) {
                    nameEnd--; // obsolete syntax allows white space before the colon
                }
                if (!isFieldName(buf, pos, nameEnd)) {
                    bad = "malformed header name";
                } else {
                    fields.add(new Field(latin1(buf, pos, nameEnd), value(buf, colon + 1, fieldEnd)));
                }
            }
            if (bad != null) {
                problem = problem == null ? bad : problem;
                if (firstBad < 0) {
                    firstBad = pos;
                    fieldsBeforeBad = fields.size();
                }
            }
            pos = next;
        }
        boolean complete = bodyStart >= 0;
        if (bodyStart < 0) {
            if (firstBad >= 0) {
                bodyStart = firstBad;
                fields.subList(fieldsBeforeBad, fields.size()).clear();
            } else {
                bodyStart = to;
            }
        }
        return new HeaderBlock(fields, bodyStart, complete, problem);
    }

    List<Field> fields() {
        return fields;
    }

    /** Index of the first body byte. */
    int bodyStart() {
        return bodyStart;
    }

    /** Whether an empty line ended the section. */
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

    private static boolean isFieldName(byte[] buf, int from, int to) {
        if (from >= to) {
            return false;
        }
        for (int i = from; i < to; i++) {
            byte c = buf[i];
            if (c < 33 || c > 126) { // negative for 8-bit bytes
                return false;
            }
        }
        return true;
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
