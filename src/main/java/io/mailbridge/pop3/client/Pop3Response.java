package io.mailbridge.pop3.client;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One status line: {@code +OK}, {@code -ERR}, or a SASL continuation ({@code +}), with the
 * optional RFC 2449 response code in brackets.
 *
 * @param ok           true for {@code +OK}
 * @param continuation true for a SASL continuation line ({@code "+ challenge"})
 * @param code         the response code without brackets, upper-case; null if none
 * @param text         everything after the status indicator, code included, as the server sent it
 */
record Pop3Response(boolean ok, boolean continuation, String code, String text) {

    /** Parses a status line without its line end; null when it is neither {@code +OK}, {@code -ERR} nor {@code +}. */
    static Pop3Response parse(byte[] line, int length) {
        if (startsWith(line, length, "+OK")) {
            return withText(true, line, 3, length);
        }
        if (startsWith(line, length, "-ERR")) {
            return withText(false, line, 4, length);
        }
        if (length >= 1 && line[0] == '+' && (length == 1 || line[1] == ' ')) {
            String challenge = length > 2 ? new String(line, 2, length - 2, StandardCharsets.US_ASCII) : "";
            return new Pop3Response(false, true, null, challenge);
        }
        return null;
    }

    private static boolean startsWith(byte[] line, int length, String status) {
        int n = status.length();
        if (length < n || (length > n && line[n] != ' ' && line[n] != '\t')) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            // Status indicators are upper case in RFC 1939, but lenient servers exist.
            int c = line[i];
            if (c >= 'a' && c <= 'z') {
                c -= 'a' - 'A';
            }
            if (c != status.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static Pop3Response withText(boolean ok, byte[] line, int start, int length) {
        String text = new String(line, start, length - start, StandardCharsets.UTF_8).trim();
        return new Pop3Response(ok, false, codeOf(text), text);
    }

    private static String codeOf(String text) {
        if (text.isEmpty() || text.charAt(0) != '[') {
            return null;
        }
        int end = text.indexOf(']');
        if (end < 2) {
            return null;
        }
        for (int i = 1; i < end; i++) {
            char c = text.charAt(i);
            if (c <= ' ' || c == '[' || c >= 0x7f) {
                return null;
            }
        }
        return text.substring(1, end).toUpperCase(Locale.ROOT);
    }

    /** The text without the leading response code. */
    String detail() {
        if (code == null) {
            return text;
        }
        return text.substring(code.length() + 2).trim();
    }
}
