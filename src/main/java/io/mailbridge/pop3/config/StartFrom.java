package io.mailbridge.pop3.config;

import java.util.Locale;

/** Where a mailbox with no committed offset starts. */
public enum StartFrom {
    /** Publish what is already in the mailbox. */
    EARLIEST,
    /** Treat what is already in the mailbox as seen; publish only mail that arrives later. */
    LATEST;

    public String configValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static StartFrom parse(String value) {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
    }
}
