package io.mailbridge.pop3.mailbox;

import io.mailbridge.pop3.Pop3SourceConnectorConfig;
import io.mailbridge.pop3.client.Pop3Client;
import io.mailbridge.pop3.client.Pop3ClientSettings;
import io.mailbridge.pop3.client.Pop3Exception;
import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.config.OAuthGrant;
import io.mailbridge.pop3.oauth.OAuthException;

import java.io.IOException;
import java.security.cert.CertificateException;
import java.util.Optional;

/**
 * The short live check behind {@code validate()}: with OAuth, obtain an access token; then connect, log in, UIDL
 * support, STAT, QUIT.
 *
 * <p>It reports only what the user must fix (credentials, certificate trust, a server without UIDL or STLS). A
 * server that is down or unreachable right now is not a reason to refuse a config: the task backs off and retries.
 */
public final class MailboxCheck {

    /** A problem attached to the config key at fault. */
    public record Problem(String key, String message) {
    }

    private MailboxCheck() {
    }

    public static Optional<Problem> check(MailboxSettings mailbox, int timeoutMs) {
        MailboxSettings bounded = mailbox.withTimeoutsAtMost(timeoutMs);
        String where = "Mailbox " + mailbox.id() + " (" + mailbox.host() + ":" + mailbox.port() + ")";
        Pop3ClientSettings settings;
        try {
            settings = ClientSettingsFactory.create(bounded);
        } catch (IOException | RuntimeException e) {
            return Optional.of(new Problem(mailbox.key(Pop3SourceConnectorConfig.TRUSTSTORE_LOCATION_CONFIG),
                    where + ": cannot load the trust store: " + e.getMessage()));
        }
        MailboxLogin login = new MailboxLogin(bounded);
        try {
            login.prepare();
        } catch (MailboxFailure e) {
            return oauthProblem(mailbox, e);
        }
        try (Pop3Client client = Pop3Client.connect(settings)) {
            login.login(client);
            if (!client.capabilities().uidl()) {
                client.uidl(); // some servers implement UIDL without advertising CAPA; this throws if not
            }
            client.stat();
            client.quit();
            return Optional.empty();
        } catch (Pop3Exception e) {
            switch (e.kind()) {
                case AUTHENTICATION:
                    return Optional.of(new Problem(mailbox.key(Pop3SourceConnectorConfig.PASSWORD_CONFIG),
                            where + ": authentication failed for user '" + mailbox.username() + "': "
                                    + e.getMessage()));
                case PROTOCOL:
                case PERMANENT:
                    return Optional.of(new Problem(mailbox.key(Pop3SourceConnectorConfig.HOST_CONFIG),
                            where + ": " + e.getMessage()));
                default:
                    return Optional.empty();
            }
        } catch (IOException | RuntimeException e) {
            if (MailboxFailure.causedBy(e, CertificateException.class)
                    || MailboxFailure.causedBy(e, javax.net.ssl.SSLHandshakeException.class)) {
                return Optional.of(new Problem(mailbox.key(Pop3SourceConnectorConfig.TRUSTSTORE_LOCATION_CONFIG),
                        where + ": TLS handshake failed: " + e.getMessage()));
            }
            if (e instanceof MailboxFailure f && f.userMustFix()) {
                // an access token refused by the server
                String key = mailbox.oauth().grant() == OAuthGrant.STATIC
                        ? Pop3SourceConnectorConfig.OAUTH_ACCESS_TOKEN_CONFIG : Pop3SourceConnectorConfig.USERNAME_CONFIG;
                return Optional.of(new Problem(mailbox.key(key), f.getMessage()));
            }
            // Unknown host, refused connection, timeout: may pass; the task retries with back-off and logs it.
            return Optional.empty();
        }
    }

    /**
     * An identity provider that refuses the request, or cannot be reached at all (almost always a wrong URL or a
     * missing proxy setting), is reported on the key at fault; one that is merely busy (5xx, 429) is not.
     */
    private static Optional<Problem> oauthProblem(MailboxSettings mailbox, MailboxFailure failure) {
        if (failure.getCause() instanceof OAuthException e && e.kind() != OAuthException.Kind.UNAVAILABLE) {
            return Optional.of(new Problem(mailbox.key(e.configKey()), failure.getMessage()));
        }
        return Optional.empty();
    }
}
