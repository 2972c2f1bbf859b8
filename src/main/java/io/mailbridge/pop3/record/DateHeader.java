package io.mailbridge.pop3.record;

import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Lenient RFC 5322 date parsing that keeps the sender's offset, rendered as ISO-8601 with
 * seconds: {@code 2024-03-01T10:15:30+01:00} (a zero offset is written {@code +00:00}).
 *
 * <p>Accepted beyond RFC 5322 section 3.3: the obsolete forms of section 4.3 (no day of the
 * week, two- and three-digit years, named zones UT/GMT/EST/EDT/CST/CDT/MST/MDT/PST/PDT and
 * military letters), comments such as {@code (CET)}, missing seconds, day and month swapped
 * (asctime: {@code Fri Mar  1 10:15:30 2024}), RFC 850 dates ({@code 01-Mar-24}), a time
 * written with dots, {@code +01:00} offsets. A zone that is missing, unknown or alphabetic
 * other than the named ones reads as {@code +00:00}, which is what section 4.3 prescribes for
 * an unknown zone. Anything else (no day, month, year or time; impossible values) gives null.
 *
 * <p>No java.time formatter or regex: this runs for every message.
 */
final class DateHeader {

    private static final String[] MONTHS = {
        "january", "february", "march", "april", "may", "june",
        "july", "august", "september", "october", "november", "december",
    };
    private static final String[] DAYS = {
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    };
    private static final int MAX_OFFSET_SECONDS = 18 * 3600;

    private int day = -1;
    private int month = -1;
    private int year = -1;
    private int hour = -1;
    private int minute = -1;
    private int second;
    private int offsetSeconds;
    private boolean namedZone;
    private boolean numericZone;

    private DateHeader() {
    }

    /** The ISO-8601 form of a Date header value, or null when missing or unparseable. */
    static String toIso(String value) {
        if (value == null) {
            return null;
        }
        DateHeader date = new DateHeader();
        for (String token : tokens(value)) {
            if (!date.accept(token)) {
                return null;
            }
        }
        return date.format();
    }

    /** White space and commas separate tokens; comments are dropped. */
    private static List<String> tokens(String value) {
        List<String> tokens = new ArrayList<>(8);
        int depth = 0;
        int start = -1;
        for (int i = 0; i <= value.length(); i++) {
            char c = i < value.length() ? value.charAt(i) : ' ';
            boolean separator;
            if (depth > 0) {
                if (c == '\\') {
                    i++;
                } else if (c == '(') {
                    depth++;
                } else if (c == ')') {
                    depth--;
                }
                separator = true;
            } else if (c == '(') {
                depth = 1;
                separator = true;
            } else {
                separator = c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n';
            }
            if (separator) {
                if (start >= 0) {
                    tokens.add(value.substring(start, i));
                    start = -1;
                }
            } else if (start < 0) {
                start = i;
            }
        }
        return tokens;
    }

    /** Takes one token; false when it cannot belong to a date. */
    private boolean accept(String token) {
        char first = token.charAt(0);
        if (isLetter(first)) {
            return acceptWord(token);
        }
        if ((first == '+' || first == '-') && token.length() > 1) {
            return acceptZone(token);
        }
        if (token.indexOf(':') > 0) {
            return acceptTime(token);
        }
        int dash = token.indexOf('-');
        if (dash > 0) {
            return acceptRfc850(token, dash);
        }
        if (token.indexOf('.') > 0) {
            return acceptTime(token);
        }
        int n = number(token, 0, token.length());
        if (n < 0) {
            return false;
        }
        if (day < 0 && token.length() <= 2) {
            day = n;
        } else if (year < 0) {
            year = token.length() <= 2 ? n + (n < 50 ? 2000 : 1900) : token.length() == 3 ? n + 1900 : n;
        } else if (day < 0) {
            day = n;
        } else {
            return false;
        }
        return true;
    }

    private boolean acceptWord(String token) {
        String lower = token.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".")) {
            lower = lower.substring(0, lower.length() - 1);
        }
        if (lower.length() >= 3) {
            for (String dayName : DAYS) {
                if (dayName.startsWith(lower)) {
                    return true;
                }
            }
            for (int m = 0; m < MONTHS.length; m++) {
                if (MONTHS[m].startsWith(lower) && month < 0) {
                    month = m + 1;
                    return true;
                }
            }
        }
        int sign = Math.max(lower.indexOf('+'), lower.indexOf('-'));
        if (sign > 0) {
            return acceptZone(token.substring(sign)); // GMT+0100
        }
        if (namedZone || numericZone) {
            return true; // "+0100 CET": the numeric offset is the one that counts
        }
        namedZone = true;
        offsetSeconds = switch (lower) {
            case "edt" -> -4 * 3600;
            case "est", "cdt" -> -5 * 3600;
            case "cst", "mdt" -> -6 * 3600;
            case "mst", "pdt" -> -7 * 3600;
            case "pst" -> -8 * 3600;
            default -> 0; // UT, GMT, UTC, Z, military letters and unknown names (RFC 5322 4.3)
        };
        return true;
    }

    private boolean acceptZone(String token) {
        if (numericZone) {
            return false;
        }
        int sign = token.charAt(0) == '-' ? -1 : 1;
        int colon = token.indexOf(':');
        int hours;
        int minutes;
        if (colon > 0) {
            hours = number(token, 1, colon);
            minutes = number(token, colon + 1, token.length());
        } else {
            int value = number(token, 1, token.length());
            boolean hoursOnly = token.length() <= 3;
            hours = value < 0 ? -1 : hoursOnly ? value : value / 100;
            minutes = value < 0 ? -1 : hoursOnly ? 0 : value % 100;
        }
        if (hours < 0 || minutes < 0 || minutes > 59) {
            return false;
        }
        int seconds = sign * (hours * 3600 + minutes * 60);
        if (Math.abs(seconds) > MAX_OFFSET_SECONDS) {
            return false;
        }
        numericZone = true;
        offsetSeconds = seconds;
        return true;
    }

    private boolean acceptTime(String token) {
        if (hour >= 0) {
            return false;
        }
        char separator = token.indexOf(':') > 0 ? ':' : '.';
        int end = token.length();
        for (int i = 1; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c == '+' || c == '-' || isLetter(c)) {
                end = i;
                break;
            }
        }
        int sep1 = token.indexOf(separator);
        int sep2 = token.indexOf(separator, sep1 + 1);
        if (sep2 >= end) {
            sep2 = -1;
        }
        hour = number(token, 0, sep1);
        minute = number(token, sep1 + 1, sep2 < 0 ? end : sep2);
        second = sep2 < 0 ? 0 : number(token, sep2 + 1, end);
        if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60
                || sep1 > 2 || (sep2 < 0 ? end - sep1 : sep2 - sep1) > 3) {
            return false;
        }
        second = Math.min(second, 59); // a leap second is not representable; keep the minute
        return end == token.length() || accept(token.substring(end));
    }

    private boolean acceptRfc850(String token, int dash) {
        int dash2 = token.indexOf('-', dash + 1);
        if (dash2 < 0 || token.indexOf('-', dash2 + 1) >= 0) {
            return false;
        }
        return accept(token.substring(0, dash))
                && accept(token.substring(dash + 1, dash2))
                && accept(token.substring(dash2 + 1));
    }

    private String format() {
        if (day < 1 || month < 1 || year < 1 || year > 9999 || hour < 0
                || !YearMonth.of(year, month).isValidDay(day)) {
            return null;
        }
        StringBuilder sb = new StringBuilder(25);
        pad(sb, year, 4).append('-');
        pad(sb, month, 2).append('-');
        pad(sb, day, 2).append('T');
        pad(sb, hour, 2).append(':');
        pad(sb, minute, 2).append(':');
        pad(sb, second, 2);
        int offset = Math.abs(offsetSeconds);
        sb.append(offsetSeconds < 0 ? '-' : '+');
        pad(sb, offset / 3600, 2).append(':');
        return pad(sb, offset / 60 % 60, 2).toString();
    }

    private static StringBuilder pad(StringBuilder sb, int value, int width) {
        for (int limit = 10, i = 1; i < width; i++, limit *= 10) {
            if (value < limit) {
                sb.append('0');
            }
        }
        return sb.append(value);
    }

    /** The decimal number in s[from..to), or -1 when it is empty, too long or not digits. */
    private static int number(String s, int from, int to) {
        if (from >= to || to - from > 9) {
            return -1;
        }
        int n = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    private static boolean isLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}
