package io.mailbridge.pop3;

import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.config.OAuthGrant;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pop3.oauth.* keys: what each grant needs, per-mailbox overrides, and errors on the key at fault. */
class OAuthConfigTest {

    private static Map<String, String> m365() {
        Map<String, String> props = new HashMap<>();
        props.put("topic", "mail");
        props.put("pop3.host", "outlook.office365.com");
        props.put("pop3.username", "support@contoso.com");
        props.put("pop3.oauth.grant", "client_credentials");
        props.put("pop3.oauth.token.endpoint", "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
        props.put("pop3.oauth.client.id", "00000000-1111-2222-3333-444444444444");
        props.put("pop3.oauth.client.secret", "cs-secret-Zq9");
        props.put("pop3.oauth.scope", "https://outlook.office365.com/.default");
        return props;
    }

    private static String errorOn(Map<String, String> props, String key) {
        for (ConfigValue v : new Pop3SourceConnector().validate(props).configValues()) {
            if (v.name().equals(key) && !v.errorMessages().isEmpty()) {
                return v.errorMessages().get(0);
            }
        }
        return null;
    }

    @Test
    void clientCredentialsNeedsEndpointClientSecretAndScope() {
        MailboxSettings m = new Pop3SourceConnectorConfig(m365()).mailboxes().get(0);
        assertEquals(OAuthGrant.CLIENT_CREDENTIALS, m.oauth().grant());
        assertFalse(m.oauth().toString().contains("cs-secret-Zq9"));
        for (String key : List.of("pop3.oauth.token.endpoint", "pop3.oauth.client.id", "pop3.oauth.client.secret",
                "pop3.oauth.scope")) {
            Map<String, String> props = m365();
            props.remove(key);
            ConfigException e = assertThrows(ConfigException.class, () -> new Pop3SourceConnectorConfig(props));
            assertTrue(e.getMessage().contains(key), e.getMessage());
            String error = errorOn(props, key);
            assertTrue(error != null && error.contains("client_credentials"), key + ": " + error);
        }
    }

    @Test
    void refreshTokenGrantNeedsARefreshTokenButNoSecret() {
        Map<String, String> props = m365();
        props.put("pop3.oauth.grant", "refresh_token");
        props.remove("pop3.oauth.client.secret");
        props.remove("pop3.oauth.scope");
        assertTrue(errorOn(props, "pop3.oauth.refresh.token").contains("required"));
        props.put("pop3.oauth.refresh.token", "1//0g-refresh");
        assertEquals(OAuthGrant.REFRESH_TOKEN, new Pop3SourceConnectorConfig(props).mailboxes().get(0).oauth().grant());
    }

    @Test
    void staticGrantNeedsAnAccessToken() {
        Map<String, String> props = m365();
        props.put("pop3.oauth.grant", "static");
        assertTrue(errorOn(props, "pop3.oauth.access.token").contains("required"));
    }

    @Test
    void tokenEndpointMustBeHttpsExceptOnLoopback() {
        Map<String, String> props = m365();
        props.put("pop3.oauth.token.endpoint", "http://login.example.com/token");
        assertTrue(errorOn(props, "pop3.oauth.token.endpoint").contains("https"));
        props.put("pop3.oauth.token.endpoint", "not a url");
        assertTrue(errorOn(props, "pop3.oauth.token.endpoint") != null);
        props.put("pop3.oauth.token.endpoint", "http://127.0.0.1:8080/token");
        assertEquals(OAuthGrant.CLIENT_CREDENTIALS,
                new Pop3SourceConnectorConfig(props).mailboxes().get(0).oauth().grant());
    }

    @Test
    void passwordMechanismsAreRefusedWithAGrant() {
        Map<String, String> props = m365();
        props.put("pop3.auth.mechanisms", "PLAIN");
        assertTrue(errorOn(props, "pop3.auth.mechanisms").contains("XOAUTH2"));
        props.put("pop3.auth.mechanisms", "OAUTHBEARER,XOAUTH2");
        assertEquals(List.of("OAUTHBEARER", "XOAUTH2"),
                new Pop3SourceConnectorConfig(props).mailboxes().get(0).authMechanisms());
    }

    @Test
    void grantAndSecretsAreOverridablePerMailbox() {
        Map<String, String> props = m365();
        props.put("pop3.oauth.grant", "none");
        props.put("pop3.password", "pw");
        props.put("mailboxes", "shop,gmail");
        props.put("mailbox.gmail.pop3.host", "pop.gmail.com");
        props.put("mailbox.gmail.pop3.oauth.grant", "refresh_token");
        props.put("mailbox.gmail.pop3.oauth.token.endpoint", "https://oauth2.googleapis.com/token");
        props.put("mailbox.gmail.pop3.oauth.refresh.token", "1//0g-refresh");
        List<MailboxSettings> mailboxes = new Pop3SourceConnectorConfig(props).mailboxes();
        assertEquals(OAuthGrant.NONE, mailboxes.get(0).oauth().grant());
        assertEquals(OAuthGrant.REFRESH_TOKEN, mailboxes.get(1).oauth().grant());
        assertEquals("https://oauth2.googleapis.com/token", mailboxes.get(1).oauth().tokenEndpoint());
        assertEquals("1//0g-refresh", mailboxes.get(1).oauth().refreshToken().value());

        props.remove("mailbox.gmail.pop3.oauth.refresh.token");
        assertTrue(errorOn(props, "mailbox.gmail.pop3.oauth.refresh.token").contains("mailbox 'gmail'"));
    }
}
