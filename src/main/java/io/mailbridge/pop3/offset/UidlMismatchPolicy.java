package io.mailbridge.pop3.offset;

import java.util.Locale;

/**
 * Keep mode: what to do when none of the remembered UIDLs is on the server any more and the listing is large, which
 * is what a server that rebuilt its UIDL index looks like (every message would seem new).
 */
public enum UidlMismatchPolicy {
    /** Stop the mailbox with an error that says what happened; nothing is published. */
    FAIL,
    /** Publish every listed message again (at-least-once). */
    EARLIEST,
    /** Treat every listed message as already published. */
    LATEST;

    public String configValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static UidlMismatchPolicy parse(String value) {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
    }
}
