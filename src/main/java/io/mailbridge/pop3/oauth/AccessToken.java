package io.mailbridge.pop3.oauth;

/**
 * An OAuth 2 access token and when to stop using it. {@link #toString()} never shows the token.
 *
 * @param renewAtMs epoch milliseconds from which the token should be replaced (a margin before it expires);
 *                  {@link Long#MAX_VALUE} for a token that cannot be renewed
 */
public record AccessToken(String value, long renewAtMs) {

    @Override
    public String toString() {
        return "AccessToken[****, renew at " + (renewAtMs == Long.MAX_VALUE ? "never" : renewAtMs) + "]";
    }
}
