package io.mailbridge.pop3.config;

import java.util.Locale;

/** What the record carries of each attachment. */
public enum AttachmentMode {
    /** Name, type, size; no content. */
    METADATA,
    /** Metadata plus the decoded content as bytes. */
    INLINE,
    /** No attachments array entries at all. */
    NONE;

    public String configValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static AttachmentMode parse(String value) {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
    }
}
