package io.mailbridge.pop3.config;

import java.util.Locale;

/** How the POP3 connection is protected. */
public enum Security {
    /** Implicit TLS from the first byte (POP3S, port 995). */
    TLS(995),
    /** Plain connection upgraded with STLS (RFC 2595) before login; never falls back to plaintext. */
    STARTTLS(110),
    /** No encryption at all. */
    NONE(110);

    private final int defaultPort;

    Security(int defaultPort) {
        this.defaultPort = defaultPort;
    }

    public int defaultPort() {
        return defaultPort;
    }

    public String configValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Security parse(String value) {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
    }
}
