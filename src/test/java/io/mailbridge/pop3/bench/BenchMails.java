package io.mailbridge.pop3.bench;

import java.nio.charset.StandardCharsets;

/**
 * The mails the benchmark delivers: shaped like real traffic (trace headers, an RFC 2047 subject now and then,
 * multipart/alternative with a quoted-printable text and html body, or a big base64 attachment), deterministic,
 * and of the requested size give or take a few bytes.
 */
final class BenchMails {

    /** Body lines, each valid quoted-printable on its own (no escape split across lines), under 76 characters. */
    private static final String[] LINES = {
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod",
        "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim",
        "veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea",
        "commodo consequat. Gr=C3=BC=C3=9Fe aus K=C3=B6ln, Ihre Bestellung ist",
        "unterwegs. Duis aute irure dolor in reprehenderit in voluptate velit esse",
        "cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat",
        "non proident, sunt in culpa qui officia deserunt mollit anim id est =",
        "laborum. Total: 42,00 =E2=82=AC incl. VAT, reference 2024-03-01/7781.",
    };

    private BenchMails() {
    }

    /**
     * A typical notification-sized mail of about {@code size} bytes (CRLF): eight trace and identity headers, a
     * multipart/alternative body with a text/plain and a text/html part, both quoted-printable.
     */
    static byte[] text(int n, int size) {
        String boundary = "=_alt_" + Integer.toHexString(0x5a5a0000 + n);
        StringBuilder head = new StringBuilder(1024)
                .append("Return-Path: <alerts@example.com>\r\n")
                .append("Received: from mx1.example.com (mx1.example.com [192.0.2.10])\r\n")
                .append("\tby pop.example.net (Postfix) with ESMTPS id 4T").append(n).append("\r\n")
                .append("\tfor <inbox@example.net>; Fri, 1 Mar 2024 10:15:30 +0100 (CET)\r\n")
                .append("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1;\r\n")
                .append("\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n")
                .append("\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSwganVzdCBzb21lIGJ5dGVz\r\n")
                .append("From: \"Alerts Example\" <alerts@example.com>\r\n")
                .append("To: Inbox <inbox@example.net>, ops@example.net\r\n")
                .append(n % 3 == 0 ? "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln_?= #" + n + "\r\n"
                        : "Subject: Order confirmation #" + n + "\r\n")
                .append("Date: Fri, 1 Mar 2024 10:15:30 +0100\r\n")
                .append("Message-ID: <bench-").append(n).append("@example.com>\r\n")
                .append("MIME-Version: 1.0\r\n")
                .append("Content-Type: multipart/alternative; boundary=\"").append(boundary).append("\"\r\n")
                .append("\r\n");
        int budget = Math.max(200, size - head.length() - 3 * boundary.length() - 250);
        int textBudget = budget * 2 / 5;
        int htmlBudget = budget - textBudget;
        StringBuilder mail = head
                .append("--").append(boundary).append("\r\n")
                .append("Content-Type: text/plain; charset=UTF-8\r\n")
                .append("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        appendLines(mail, "Hello,\r\n", textBudget, "");
        mail.append("\r\n--").append(boundary).append("\r\n")
                .append("Content-Type: text/html; charset=UTF-8\r\n")
                .append("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        appendLines(mail, "<html><body><p>Hello,</p>\r\n", htmlBudget - 16, "<p>");
        mail.append("</body></html>\r\n--").append(boundary).append("--\r\n");
        return mail.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void appendLines(StringBuilder out, String first, int budget, String prefix) {
        out.append(first);
        int written = first.length();
        for (int i = 0; written < budget; i++) {
            String line = prefix + LINES[i % LINES.length];
            if (written + line.length() + 2 > budget) {
                line = line.substring(0, Math.max(0, budget - written - 2));
                int eq = line.lastIndexOf('=');
                if (eq >= 0 && eq > line.length() - 3) {
                    line = line.substring(0, eq); // never cut an escape
                }
            }
            out.append(line).append("\r\n");
            written += line.length() + 2;
        }
    }

    /** A mail of about {@code size} bytes: a short text body and one base64 attachment. */
    static byte[] attachment(int n, int size) {
        String head = "From: \"Reports\" <reports@example.com>\r\n"
                + "To: inbox@example.net\r\n"
                + "Subject: Monthly report " + n + "\r\n"
                + "Date: Fri, 1 Mar 2024 10:15:30 +0100\r\n"
                + "Message-ID: <report-" + n + "@example.com>\r\n"
                + "MIME-Version: 1.0\r\n"
                + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
                + "\r\n"
                + "--b1\r\n"
                + "Content-Type: text/plain; charset=UTF-8\r\n"
                + "\r\n"
                + "The report is attached.\r\n"
                + "--b1\r\n"
                + "Content-Type: application/pdf; name=\"report-" + n + ".pdf\"\r\n"
                + "Content-Disposition: attachment; filename=\"report-" + n + ".pdf\"\r\n"
                + "Content-Transfer-Encoding: base64\r\n"
                + "\r\n";
        String tail = "--b1--\r\n";
        byte[] line = "JVBERi0xLjcKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29kZT4+\r\n"
                .getBytes(StandardCharsets.US_ASCII);
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] t = tail.getBytes(StandardCharsets.US_ASCII);
        int lines = Math.max(1, (size - h.length - t.length) / line.length);
        byte[] mail = new byte[h.length + lines * line.length + t.length];
        System.arraycopy(h, 0, mail, 0, h.length);
        int pos = h.length;
        for (int i = 0; i < lines; i++) {
            System.arraycopy(line, 0, mail, pos, line.length);
            pos += line.length;
        }
        System.arraycopy(t, 0, mail, pos, t.length);
        return mail;
    }
}
