package io.mailbridge.pop3.config;

import java.util.Locale;

/** Where a mailbox's OAuth 2 access token comes from ({@code pop3.oauth.grant}). */
public enum OAuthGrant {
    /** No OAuth: {@code pop3.password} is a password. */
    NONE,
    /** RFC 6749 section 4.4, app-only access (Microsoft 365 {@code POP.AccessAsApp}). */
    CLIENT_CREDENTIALS,
    /** RFC 6749 section 6, delegated access with a refresh token obtained once by the user (Gmail, Microsoft 365). */
    REFRESH_TOKEN,
    /** A fixed access token in {@code pop3.oauth.access.token}: it expires (about an hour), so for tests only. */
    STATIC;

    public String configValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static OAuthGrant parse(String value) {
        return value == null ? NONE : valueOf(value.trim().toUpperCase(Locale.ROOT));
    }
}
