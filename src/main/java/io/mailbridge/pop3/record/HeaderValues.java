package io.mailbridge.pop3.record;

import java.nio.charset.Charset;
import java.util.Arrays;

/**
 * RFC 2047 encoded-word decoding of header text.
 *
 * <p>Angus's {@code MimeUtility.decodeText} is not used: its leniency is a JVM-wide system
 * property ({@code mail.mime.decodetext.strict}), and it decodes each encoded word on its own,
 * which breaks a multi-byte character split across two adjacent words (common in long UTF-8
 * and Japanese subjects). Here adjacent words in one charset are joined before decoding, as
 * Python's {@code email.header.decode_header} does, and words embedded in other text are
 * decoded too. A malformed word, or one in a charset this JVM lacks, is kept as written.
 */
final class HeaderValues {

    private static final int MAX_CHARSET_LENGTH = 64;

    // What Word.parse found.
    private static final int WORD = 0;
    private static final int MALFORMED = 1;
    private static final int NO_END = 2;

    private HeaderValues() {
    }

    /** Decodes the RFC 2047 encoded words in an (unfolded) header value. */
    static String decode(String value) {
        int next = value.indexOf("=?");
        if (next < 0) {
            return value;
        }
        StringBuilder out = new StringBuilder(value.length());
        Run run = new Run();
        int plainFrom = 0; // value[plainFrom..) is neither in out nor in the run
        Word word = new Word();
        while (next >= 0) {
            int parsed = word.parse(value, next);
            if (parsed == NO_END) {
                break; // no "?=" anywhere after this: no later word can be complete either
            }
            if (parsed == MALFORMED) {
                next = value.indexOf("=?", next + 2);
                continue;
            }
            boolean adjacent = !run.isEmpty() && isBlank(value, plainFrom, next);
            if (!adjacent || !run.charset.equalsIgnoreCase(word.charset)) {
                run.flush(value, out);
            }
            // White space between two encoded words is dropped (RFC 2047 section 6.2).
            if (!adjacent) {
                out.append(value, plainFrom, next);
            }
            run.add(value, next, word);
            plainFrom = word.end;
            next = value.indexOf("=?", plainFrom);
        }
        if (run.isEmpty() && plainFrom == 0) {
            return value;
        }
        run.flush(value, out);
        return out.append(value, plainFrom, value.length()).toString();
    }

    private static boolean isBlank(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!isSpace(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    }

    /** The parts of one {@code =?charset?encoding?text?=} word. */
    private static final class Word {
        String charset;
        boolean base64;
        int textStart;
        int textEnd;
        int end;

        /** WORD when a well-formed word starts there; the searches stay linear on hostile input. */
        int parse(String s, int start) {
            int charsetStart = start + 2;
            int limit = Math.min(s.length(), charsetStart + MAX_CHARSET_LENGTH + 1);
            int q1 = charsetStart;
            while (q1 < limit && s.charAt(q1) != '?') {
                char c = s.charAt(q1);
                if (c <= ' ' || c == '=' || c >= 0x7F) {
                    return MALFORMED;
                }
                q1++;
            }
            if (q1 == charsetStart || q1 >= limit || q1 + 2 >= s.length() || s.charAt(q1 + 2) != '?') {
                return MALFORMED;
            }
            char encoding = s.charAt(q1 + 1);
            base64 = encoding == 'B' || encoding == 'b';
            if (!base64 && encoding != 'Q' && encoding != 'q') {
                return MALFORMED;
            }
            textStart = q1 + 3;
            textEnd = s.indexOf("?=", textStart);
            if (textEnd < 0) {
                return NO_END;
            }
            end = textEnd + 2;
            int star = s.indexOf('*', charsetStart); // RFC 2231 language suffix: UTF-8*en
            charset = s.substring(charsetStart, star >= 0 && star < q1 ? star : q1);
            return WORD;
        }
    }

    /** Bytes of adjacent encoded words in one charset, decoded together. */
    private static final class Run {
        private byte[] bytes = new byte[64];
        private int length;
        String charset;
        /** Where the run's first word starts and its last word ends, to keep it as written. */
        private int start;
        private int end;

        boolean isEmpty() {
            return charset == null;
        }

        void add(String s, int wordStart, Word word) {
            if (charset == null) {
                charset = word.charset;
                start = wordStart;
            }
            end = word.end;
            if (word.base64) {
                appendBase64(s, word.textStart, word.textEnd);
            } else {
                appendQ(s, word.textStart, word.textEnd);
            }
        }

        void flush(String s, StringBuilder out) {
            if (charset == null) {
                return;
            }
            Charset cs = MimeCharsets.forName(charset);
            if (cs == null) {
                out.append(s, start, end);
            } else {
                out.append(new String(bytes, 0, length, cs));
            }
            charset = null;
            length = 0;
        }

        private void appendQ(String s, int from, int to) {
            for (int i = from; i < to; i++) {
                char c = s.charAt(i);
                int hi;
                int lo;
                if (c == '_') {
                    add(' ');
                } else if (c == '=' && i + 2 < to
                        && (hi = Character.digit(s.charAt(i + 1), 16)) >= 0
                        && (lo = Character.digit(s.charAt(i + 2), 16)) >= 0) {
                    add(hi << 4 | lo);
                    i += 2;
                } else {
                    add(c);
                }
            }
        }

        private void appendBase64(String s, int from, int to) {
            int bits = 0;
            int count = 0;
            for (int i = from; i < to; i++) {
                int v = base64Value(s.charAt(i));
                if (v < 0) {
                    continue; // padding and stray characters, like Python's non-strict decoder
                }
                bits = (bits << 6 | v) & 0xFFFF;
                count += 6;
                if (count >= 8) {
                    count -= 8;
                    add(bits >> count);
                }
            }
        }

        private void add(int b) {
            if (length == bytes.length) {
                bytes = Arrays.copyOf(bytes, length * 2);
            }
            bytes[length++] = (byte) b;
        }

        private static int base64Value(char c) {
            if (c >= 'A' && c <= 'Z') {
                return c - 'A';
            }
            if (c >= 'a' && c <= 'z') {
                return c - 'a' + 26;
            }
            if (c >= '0' && c <= '9') {
                return c - '0' + 52;
            }
            if (c == '+') {
                return 62;
            }
            if (c == '/') {
                return 63;
            }
            return -1;
        }
    }
}
