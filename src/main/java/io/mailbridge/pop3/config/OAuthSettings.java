package io.mailbridge.pop3.config;

import org.apache.kafka.common.config.types.Password;

/**
 * How a mailbox obtains OAuth 2 access tokens, with per-mailbox overrides applied. Secrets stay {@link Password}s,
 * so this record never prints them.
 *
 * @param grant         {@link OAuthGrant#NONE} when the mailbox logs in with a password
 * @param tokenEndpoint the identity provider's token endpoint (https, or http on a loopback address)
 * @param scope         space-separated scopes to ask for; null sends none
 */
public record OAuthSettings(
        OAuthGrant grant,
        String tokenEndpoint,
        String clientId,
        Password clientSecret,
        Password refreshToken,
        String scope,
        Password accessToken) {

    public static final OAuthSettings NONE = new OAuthSettings(OAuthGrant.NONE, null, null, null, null, null, null);

    public boolean enabled() {
        return grant != OAuthGrant.NONE;
    }

    @Override
    public String toString() {
        return "OAuthSettings[" + grant.configValue() + (tokenEndpoint == null ? "" : " " + tokenEndpoint)
                + (clientId == null ? "" : " client " + clientId) + "]";
    }
}
