package io.mailbridge.pop3.record;

import jakarta.mail.internet.ParameterList;
import jakarta.mail.internet.ParseException;

/**
 * Parameters of Content-Type and Content-Disposition values ({@code boundary}, {@code charset},
 * {@code start}, {@code name}, {@code filename}).
 *
 * <p>A value that uses RFC 2231 (continuations, charset and language: any '*') goes to Angus's
 * {@link ParameterList}, which decodes it. The common case, plain {@code attr=value} and
 * {@code attr="quoted value"}, is read here, which is faster and more forgiving: an unquoted
 * value runs to the next ';', so a value Angus's strict parser would reject (an unquoted file
 * name with spaces, say) is still found.
 */
final class MimeParameters {

    private MimeParameters() {
    }

    /** The named parameter of a header value, or null. */
    static String get(String header, String name) {
        if (header == null) {
            return null;
        }
        int semicolon = header.indexOf(';');
        if (semicolon < 0) {
            return null;
        }
        if (header.indexOf('*', semicolon) >= 0) {
            try {
                String value = new ParameterList(header.substring(semicolon)).get(name);
                if (value != null) {
                    return value;
                }
            } catch (ParseException e) {
                // fall back to the forgiving reading below
            }
        }
        return scan(header, semicolon, name);
    }

    private static String scan(String header, int semicolon, String name) {
        int length = header.length();
        int i = semicolon;
        while (i >= 0 && i < length) {
            i = skipSpace(header, i + 1);
            int attributeStart = i;
            while (i < length && header.charAt(i) != '=' && header.charAt(i) != ';' && !isSpace(header.charAt(i))) {
                i++;
            }
            int attributeEnd = i;
            i = skipSpace(header, i);
            if (i < length && header.charAt(i) == '=') {
                i = skipSpace(header, i + 1);
                String value;
                if (i < length && header.charAt(i) == '"') {
                    StringBuilder quoted = new StringBuilder();
                    for (i++; i < length && header.charAt(i) != '"'; i++) {
                        char c = header.charAt(i);
                        if (c == '\\' && i + 1 < length) {
                            c = header.charAt(++i);
                        }
                        quoted.append(c);
                    }
                    i++;
                    value = quoted.toString();
                } else {
                    int valueStart = i;
                    while (i < length && header.charAt(i) != ';') {
                        i++;
                    }
                    value = unquotedValue(header, valueStart, i);
                }
                if (attributeEnd - attributeStart == name.length()
                        && header.regionMatches(true, attributeStart, name, 0, name.length())) {
                    return value;
                }
            }
            i = i < length ? header.indexOf(';', i) : -1;
        }
        return null;
    }

    /** An unquoted value runs to ';' (a file name may hold spaces), less an RFC 822 comment after it. */
    private static String unquotedValue(String header, int from, int to) {
        int end = to;
        while (end > from && isSpace(header.charAt(end - 1))) {
            end--;
        }
        if (end > from && header.charAt(end - 1) == ')') {
            int open = header.lastIndexOf('(', end);
            if (open > from && isSpace(header.charAt(open - 1))) {
                end = open;
                while (end > from && isSpace(header.charAt(end - 1))) {
                    end--;
                }
            }
        }
        return header.substring(from, end);
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && isSpace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    }
}
