package io.mailbridge.pop3.testing;

import java.nio.charset.StandardCharsets;

/** Small, realistic test mails. */
public final class Mails {

    private Mails() {
    }

    public static byte[] simple(String id, String subject, String body) {
        String mail = "From: \"Alice Example\" <alice@example.com>\r\n"
                + "To: bob@example.com\r\n"
                + "Subject: " + subject + "\r\n"
                + "Date: Fri, 1 Mar 2024 10:15:30 +0100\r\n"
                + "Message-ID: <" + id + "@example.com>\r\n"
                + "MIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=UTF-8\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n"
                + "\r\n"
                + body + "\r\n";
        return mail.getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] numbered(int n) {
        return simple("m" + n, "Message " + n, "Body of message " + n + "\r\n.leading dot line\r\nend");
    }

    /** A mail of about {@code size} bytes with a base64 attachment. */
    public static byte[] withAttachment(String id, int size) {
        StringBuilder b64 = new StringBuilder();
        String line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n";
        while (b64.length() < size) {
            b64.append(line);
        }
        String mail = "From: alice@example.com\r\n"
                + "To: bob@example.com\r\n"
                + "Subject: Attachment " + id + "\r\n"
                + "Message-ID: <" + id + "@example.com>\r\n"
                + "MIME-Version: 1.0\r\n"
                + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
                + "\r\n"
                + "--b1\r\n"
                + "Content-Type: text/plain; charset=UTF-8\r\n"
                + "\r\n"
                + "See attached.\r\n"
                + "--b1\r\n"
                + "Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
                + "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
                + "Content-Transfer-Encoding: base64\r\n"
                + "\r\n"
                + b64
                + "--b1--\r\n";
        return mail.getBytes(StandardCharsets.US_ASCII);
    }
}
