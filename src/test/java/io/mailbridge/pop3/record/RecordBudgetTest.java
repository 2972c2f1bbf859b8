package io.mailbridge.pop3.record;

import io.mailbridge.pop3.config.AttachmentMode;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.json.JsonConverter;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecordBudgetTest {

    /** What the producer gets with the worker's default converter: JSON with the schema in every record. */
    private static int jsonWithSchema(Struct value) {
        JsonConverter converter = new JsonConverter();
        converter.configure(Map.of("schemas.enable", "true", "converter.type", "value"), false);
        return converter.fromConnectData("mail", value.schema(), value).length;
    }

    private static int jsonWithoutSchema(Struct value) {
        JsonConverter converter = new JsonConverter();
        converter.configure(Map.of("schemas.enable", "false", "converter.type", "value"), false);
        return converter.fromConnectData("mail", value.schema(), value).length;
    }

    private static Struct map(String mail, AttachmentMode attachments, boolean raw) {
        byte[] bytes = mail.getBytes(StandardCharsets.UTF_8);
        return new MessageMapper(attachments, raw).map("box", "u1", bytes, bytes.length, bytes.length, false);
    }

    private static String plainMail(String body) {
        return "From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: big\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body;
    }

    @Test
    void schemaEnvelopeFitsTheReservedBytes() {
        Struct small = map(plainMail("hello\r\n"), AttachmentMode.METADATA, false);
        int envelope = jsonWithSchema(small) - jsonWithoutSchema(small);
        assertTrue(envelope + 512 <= RecordBudget.ENVELOPE_BYTES, "schema envelope is " + envelope + " bytes");
    }

    @Test
    void estimateIsAnUpperBoundOfTheConvertedSize() {
        String tricky = "quote \" backslash \\ tab \t bell \u0007 umlaut \u00fc euro \u20ac emoji \ud83d\ude00\r\n";
        for (Struct value : List.of(
                map(plainMail("hello\r\n"), AttachmentMode.METADATA, false),
                map(plainMail(tricky.repeat(1000)), AttachmentMode.METADATA, true),
                map(plainMail("x".repeat(100_000)), AttachmentMode.INLINE, true))) {
            long estimate = RecordBudget.estimate(value);
            int actual = jsonWithSchema(value);
            assertTrue(estimate >= actual, "estimate " + estimate + " < actual " + actual);
            assertTrue(estimate <= actual * 1.2 + RecordBudget.ENVELOPE_BYTES, "estimate " + estimate
                    + " far above actual " + actual);
        }
    }

    @Test
    void quickBoundIsNeverBelowTheEstimate() {
        String tricky = "\u0001\u0007 \ud83d\ude00 \u20ac \" \\ plain";
        for (Struct value : List.of(map(plainMail(tricky.repeat(200)), AttachmentMode.INLINE, true),
                map(plainMail("x".repeat(10_000)), AttachmentMode.METADATA, false))) {
            assertTrue(RecordBudget.quickBound(value) >= RecordBudget.json(value));
        }
    }

    @Test
    void recordWithinBudgetIsLeftAlone() {
        Struct value = map(plainMail("hello\r\n"), AttachmentMode.METADATA, false);
        assertSame(value, new RecordBudget(1_000_000).fit(value).value());
    }

    @Test
    void threeMegabytePlainTextMailIsCutToFitTheProducerDefaultAndMarkedTruncated() {
        String body = ("Line of text with \u00fcml\u00e4uts and \"quotes\".\r\n").repeat(75_000);
        Struct value = map(plainMail(body), AttachmentMode.METADATA, false);
        assertTrue(jsonWithSchema(value) > 3_000_000);

        Struct fitted = new RecordBudget(1_000_000).fit(value).value();

        int actual = jsonWithSchema(fitted);
        assertTrue(actual <= 1_000_000, "record is " + actual + " bytes");
        assertTrue(actual > 950_000, "record was cut more than needed: " + actual + " bytes");
        assertTrue(fitted.getBoolean(MessageSchema.FIELD_TRUNCATED));
        assertTrue(body.startsWith(fitted.getString(MessageSchema.FIELD_TEXT)));
        assertEquals("big", fitted.getString(MessageSchema.FIELD_SUBJECT));
        assertEquals(value.getInt64(MessageSchema.FIELD_SIZE), fitted.getInt64(MessageSchema.FIELD_SIZE));
        assertFalse(value.getBoolean(MessageSchema.FIELD_TRUNCATED), "the original is not changed");
    }

    @Test
    void attachmentContentAndRawGoBeforeTheText() {
        String mail = "From: a@example.com\r\nSubject: att\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nshort text\r\n"
                + "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.bin\r\n"
                + "Content-Transfer-Encoding: base64\r\n\r\n"
                + "QUFB".repeat(200_000) + "\r\n--b--\r\n";
        Struct value = map(mail, AttachmentMode.INLINE, true);

        Struct fitted = new RecordBudget(100_000).fit(value).value();

        assertTrue(jsonWithSchema(fitted) <= 100_000);
        assertEquals("short text", fitted.getString(MessageSchema.FIELD_TEXT));
        assertNull(fitted.get(MessageSchema.FIELD_RAW));
        Struct attachment = (Struct) fitted.getArray(MessageSchema.FIELD_ATTACHMENTS).get(0);
        assertNull(attachment.get(MessageSchema.FIELD_CONTENT));
        assertEquals(600_000L, attachment.getInt64(MessageSchema.FIELD_SIZE));
        assertTrue(fitted.getBoolean(MessageSchema.FIELD_TRUNCATED));
    }

    @Test
    void unparseableMessageKeepsAsMuchRawAsFits() {
        String mail = "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=never\r\n\r\n"
                + "no boundary ever\r\n".repeat(50_000);
        Struct value = map(mail, AttachmentMode.METADATA, false);
        assertNotNull(value.getString(MessageSchema.FIELD_PARSE_ERROR));

        Struct fitted = new RecordBudget(200_000).fit(value).value();

        assertTrue(jsonWithSchema(fitted) <= 200_000);
        byte[] raw = (byte[]) fitted.get(MessageSchema.FIELD_RAW);
        assertNotNull(raw);
        assertTrue(raw.length > 10_000, "raw kept: " + raw.length);
    }
}
