package io.mailbridge.pop3.config;

import java.util.Locale;

/** What happens to a message larger than {@code message.max.bytes}. */
public enum OversizePolicy {
    /** The mailbox stops with an error naming the message. */
    FAIL,
    /** A record of headers and metadata only, {@code truncated=true}. */
    SKIP,
    /** Bodies cut to fit, attachment content dropped, {@code truncated=true}. */
    TRUNCATE;

    public String configValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static OversizePolicy parse(String value) {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
    }
}
