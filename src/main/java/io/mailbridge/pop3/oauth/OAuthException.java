package io.mailbridge.pop3.oauth;

import java.io.IOException;

/**
 * The identity provider did not issue a token. The message names the endpoint, the provider's error code and
 * description, and the config key to look at; it never contains a secret or a token.
 */
public final class OAuthException extends IOException {

    private static final long serialVersionUID = 1L;

    /** What a caller should do about it. */
    public enum Kind {
        /** The provider refused the request ({@code invalid_client}, {@code invalid_grant}, ...): fix the config. */
        REJECTED,
        /** The endpoint could not be reached, or is not a token endpoint (unknown host, refused, 404). */
        UNREACHABLE,
        /** The provider is busy or failing (5xx, 429, {@code temporarily_unavailable}, a timeout): retry later. */
        UNAVAILABLE
    }

    private final Kind kind;
    private final String configKey;

    public OAuthException(Kind kind, String configKey, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.configKey = configKey;
    }

    public Kind kind() {
        return kind;
    }

    /** The {@code pop3.oauth.*} key most likely at fault (without a mailbox prefix). */
    public String configKey() {
        return configKey;
    }

    /** Whether retrying cannot help until someone changes the configuration or the provider's settings. */
    public boolean userMustFix() {
        return kind == Kind.REJECTED;
    }
}
