package io.mailbridge.pop3.record;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;

/**
 * The Connect schema of the record value: the product contract that downstream consumers
 * (and schema registries) depend on. {@code MessageSchemaTest} pins it, so any change here is
 * a deliberate, versioned act.
 *
 * <p>The schemas carry no {@code doc} strings on purpose: with the JSON converter and
 * {@code schemas.enable=true} the whole schema travels with every record, and docs would
 * multiply its size. The meaning of each field is documented here and in the README.
 */
public final class MessageSchema {

    public static final int VERSION = 1;

    public static final String VALUE_SCHEMA_NAME = "io.mailbridge.pop3.Message";
    public static final String ADDRESS_SCHEMA_NAME = "io.mailbridge.pop3.Address";
    public static final String HEADER_SCHEMA_NAME = "io.mailbridge.pop3.Header";
    public static final String ATTACHMENT_SCHEMA_NAME = "io.mailbridge.pop3.Attachment";

    // Message fields.
    public static final String FIELD_MAILBOX = "mailbox";
    public static final String FIELD_UID = "uid";
    /** Octets of the message as RETR delivered it; in an attachment: decoded content octets. */
    public static final String FIELD_SIZE = "size";
    public static final String FIELD_MESSAGE_ID = "message_id";
    public static final String FIELD_SUBJECT = "subject";
    public static final String FIELD_FROM = "from";
    public static final String FIELD_SENDER = "sender";
    public static final String FIELD_REPLY_TO = "reply_to";
    public static final String FIELD_TO = "to";
    public static final String FIELD_CC = "cc";
    public static final String FIELD_BCC = "bcc";
    /** ISO-8601 with the offset the sender wrote, always with seconds: {@code 2024-03-01T10:15:30+01:00}. */
    public static final String FIELD_DATE = "date";
    public static final String FIELD_HEADERS = "headers";
    public static final String FIELD_TEXT = "text";
    public static final String FIELD_HTML = "html";
    public static final String FIELD_ATTACHMENTS = "attachments";
    public static final String FIELD_RAW = "raw";
    public static final String FIELD_TRUNCATED = "truncated";
    public static final String FIELD_PARSE_ERROR = "parse_error";

    // Address and Header fields ("name" is shared by both).
    public static final String FIELD_NAME = "name";
    public static final String FIELD_ADDRESS = "address";
    public static final String FIELD_VALUE = "value";

    // Attachment fields (plus FIELD_SIZE).
    public static final String FIELD_FILENAME = "filename";
    public static final String FIELD_CONTENT_TYPE = "content_type";
    public static final String FIELD_DISPOSITION = "disposition";
    public static final String FIELD_CONTENT_ID = "content_id";
    public static final String FIELD_CONTENT = "content";

    public static final Schema ADDRESS = SchemaBuilder.struct()
            .name(ADDRESS_SCHEMA_NAME)
            .version(VERSION)
            .field(FIELD_NAME, Schema.OPTIONAL_STRING_SCHEMA)
            .field(FIELD_ADDRESS, Schema.OPTIONAL_STRING_SCHEMA)
            .build();

    public static final Schema HEADER = SchemaBuilder.struct()
            .name(HEADER_SCHEMA_NAME)
            .version(VERSION)
            .field(FIELD_NAME, Schema.STRING_SCHEMA)
            .field(FIELD_VALUE, Schema.OPTIONAL_STRING_SCHEMA)
            .build();

    public static final Schema ATTACHMENT = SchemaBuilder.struct()
            .name(ATTACHMENT_SCHEMA_NAME)
            .version(VERSION)
            .field(FIELD_FILENAME, Schema.OPTIONAL_STRING_SCHEMA)
            .field(FIELD_CONTENT_TYPE, Schema.STRING_SCHEMA)
            .field(FIELD_DISPOSITION, Schema.OPTIONAL_STRING_SCHEMA)
            .field(FIELD_CONTENT_ID, Schema.OPTIONAL_STRING_SCHEMA)
            .field(FIELD_SIZE, Schema.INT64_SCHEMA)
            .field(FIELD_CONTENT, Schema.OPTIONAL_BYTES_SCHEMA)
            .build();

    private static final Schema ADDRESSES = SchemaBuilder.array(ADDRESS).build();

    public static final Schema VALUE = SchemaBuilder.struct()
            .name(VALUE_SCHEMA_NAME)
            .version(VERSION)
            .field(FIELD_MAILBOX, Schema.STRING_SCHEMA)
            .field(FIELD_UID, Schema.STRING_SCHEMA)
            .field(FIELD_SIZE, Schema.INT64_SCHEMA)
            .field(FIELD_MESSAGE_ID, Schema.OPTIONAL_STRING_SCHEMA)
            .field(FIELD_SUBJECT, Schema.OPTIONAL_STRING_SCHEMA)
            .field(FIELD_FROM, ADDRESSES)
            .field(FIELD_SENDER, ADDRESSES)
            .field(FIELD_REPLY_TO, ADDRESSES)
            .field(FIELD_TO, ADDRESSES)
            .field(FIELD_CC, ADDRESSES)
            .field(FIELD_BCC, ADDRESSES)
            .field(FIELD_DATE, Schema.OPTIONAL_STRING_SCHEMA)
            .field(FIELD_HEADERS, SchemaBuilder.array(HEADER).build())
            .field(FIELD_TEXT, Schema.OPTIONAL_STRING_SCHEMA)
            .field(FIELD_HTML, Schema.OPTIONAL_STRING_SCHEMA)
            .field(FIELD_ATTACHMENTS, SchemaBuilder.array(ATTACHMENT).build())
            .field(FIELD_RAW, Schema.OPTIONAL_BYTES_SCHEMA)
            .field(FIELD_TRUNCATED, Schema.BOOLEAN_SCHEMA)
            .field(FIELD_PARSE_ERROR, Schema.OPTIONAL_STRING_SCHEMA)
            .build();

    private MessageSchema() {
    }
}
