package io.mailbridge.pop3.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Schema.Type;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

/**
 * Pins the record value schema: downstream consumers and schema registries depend on every
 * name, type, optionality and the field order. A failure here means the contract changed:
 * bump the version and write the migration story, don't just update the expectation.
 */
class MessageSchemaTest {

    private static final String ADDRESS = "struct io.mailbridge.pop3.Address v1";
    private static final String HEADER = "struct io.mailbridge.pop3.Header v1";
    private static final String ATTACHMENT = "struct io.mailbridge.pop3.Attachment v1";

    @Test
    void valueSchemaIsPinned() {
        assertEquals(List.of(
                "mailbox: string required",
                "uid: string required",
                "size: int64 required",
                "message_id: string optional",
                "subject: string optional",
                "from: array of " + ADDRESS + " required",
                "sender: array of " + ADDRESS + " required",
                "reply_to: array of " + ADDRESS + " required",
                "to: array of " + ADDRESS + " required",
                "cc: array of " + ADDRESS + " required",
                "bcc: array of " + ADDRESS + " required",
                "date: string optional",
                "headers: array of " + HEADER + " required",
                "text: string optional",
                "html: string optional",
                "attachments: array of " + ATTACHMENT + " required",
                "raw: bytes optional",
                "truncated: boolean required",
                "parse_error: string optional"),
                describeFields(MessageSchema.VALUE));
        assertEquals("struct io.mailbridge.pop3.Message v1", describe(MessageSchema.VALUE));
        assertFalse(MessageSchema.VALUE.isOptional());
    }

    @Test
    void addressSchemaIsPinned() {
        assertEquals(ADDRESS, describe(MessageSchema.ADDRESS));
        assertEquals(List.of("name: string optional", "address: string optional"),
                describeFields(MessageSchema.ADDRESS));
    }

    @Test
    void headerSchemaIsPinned() {
        assertEquals(HEADER, describe(MessageSchema.HEADER));
        assertEquals(List.of("name: string required", "value: string optional"),
                describeFields(MessageSchema.HEADER));
    }

    @Test
    void attachmentSchemaIsPinned() {
        assertEquals(ATTACHMENT, describe(MessageSchema.ATTACHMENT));
        assertEquals(List.of(
                "filename: string optional",
                "content_type: string required",
                "disposition: string optional",
                "content_id: string optional",
                "size: int64 required",
                "content: bytes optional"),
                describeFields(MessageSchema.ATTACHMENT));
    }

    @Test
    void arrayElementsAreRequiredStructs() {
        for (String field : List.of("from", "sender", "reply_to", "to", "cc", "bcc", "headers", "attachments")) {
            Schema array = MessageSchema.VALUE.field(field).schema();
            assertFalse(array.valueSchema().isOptional(), field);
        }
    }

    @Test
    void fieldNameConstantsMatchTheSchema() {
        List<String> constants = List.of(
                MessageSchema.FIELD_MAILBOX, MessageSchema.FIELD_UID, MessageSchema.FIELD_SIZE,
                MessageSchema.FIELD_MESSAGE_ID, MessageSchema.FIELD_SUBJECT, MessageSchema.FIELD_FROM,
                MessageSchema.FIELD_SENDER, MessageSchema.FIELD_REPLY_TO, MessageSchema.FIELD_TO,
                MessageSchema.FIELD_CC, MessageSchema.FIELD_BCC, MessageSchema.FIELD_DATE,
                MessageSchema.FIELD_HEADERS, MessageSchema.FIELD_TEXT, MessageSchema.FIELD_HTML,
                MessageSchema.FIELD_ATTACHMENTS, MessageSchema.FIELD_RAW, MessageSchema.FIELD_TRUNCATED,
                MessageSchema.FIELD_PARSE_ERROR);
        assertEquals(constants, fieldNames(MessageSchema.VALUE));
        assertEquals(List.of(MessageSchema.FIELD_NAME, MessageSchema.FIELD_ADDRESS),
                fieldNames(MessageSchema.ADDRESS));
        assertEquals(List.of(MessageSchema.FIELD_NAME, MessageSchema.FIELD_VALUE),
                fieldNames(MessageSchema.HEADER));
        assertEquals(List.of(MessageSchema.FIELD_FILENAME, MessageSchema.FIELD_CONTENT_TYPE,
                        MessageSchema.FIELD_DISPOSITION, MessageSchema.FIELD_CONTENT_ID, MessageSchema.FIELD_SIZE,
                        MessageSchema.FIELD_CONTENT),
                fieldNames(MessageSchema.ATTACHMENT));
    }

    private static List<String> fieldNames(Schema schema) {
        List<String> names = new ArrayList<>();
        for (Field field : schema.fields()) {
            names.add(field.name());
        }
        return names;
    }

    private static List<String> describeFields(Schema struct) {
        List<String> fields = new ArrayList<>();
        for (Field field : struct.fields()) {
            fields.add(field.name() + ": " + describe(field.schema())
                    + (field.schema().isOptional() ? " optional" : " required"));
        }
        return fields;
    }

    private static String describe(Schema schema) {
        if (schema.type() == Type.ARRAY) {
            return "array of " + describe(schema.valueSchema());
        }
        if (schema.type() == Type.STRUCT) {
            return "struct " + schema.name() + " v" + schema.version();
        }
        assertEquals(null, schema.name(), "primitive fields carry no logical type");
        return schema.type().getName();
    }
}
