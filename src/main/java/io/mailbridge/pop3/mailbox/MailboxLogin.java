package io.mailbridge.pop3.mailbox;

import io.mailbridge.pop3.Pop3SourceConnectorConfig;
import io.mailbridge.pop3.client.Pop3Client;
import io.mailbridge.pop3.client.Pop3Exception;
import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.oauth.AccessToken;
import io.mailbridge.pop3.oauth.OAuthException;
import io.mailbridge.pop3.oauth.TokenSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

/**
 * Logs a mailbox in: with its password, or with an OAuth 2 access token from its {@link TokenSource}, which lives
 * as long as this object so the token is cached across sessions.
 *
 * <p>A token the server accepted before and now refuses was revoked or expired early: it is replaced once and the
 * login retried once. A newly issued token that the server refuses, or an identity provider that refuses to issue
 * one, is a problem the user must fix, reported as a {@link MailboxFailure} that names the mailbox and the key to
 * look at; an unreachable or failing token endpoint is a transient failure, retried with back-off.
 */
public final class MailboxLogin {

    private static final Logger log = LoggerFactory.getLogger(MailboxLogin.class);

    private final MailboxSettings mailbox;
    private final TokenSource tokens;

    public MailboxLogin(MailboxSettings mailbox) {
        this.mailbox = mailbox;
        this.tokens = mailbox.oauth().enabled()
                ? TokenSource.create(mailbox.id(), mailbox.oauth(), mailbox.connectTimeoutMs(), mailbox.readTimeoutMs())
                : null;
    }

    /**
     * Obtains the access token ahead of connecting (a no-op without OAuth), so that an identity provider problem is
     * reported even while the POP3 server is unreachable.
     *
     * @throws MailboxFailure caused by an {@link OAuthException}
     */
    public void prepare() {
        if (tokens != null) {
            token();
        }
    }

    /**
     * @throws Pop3Exception  when the server refuses the password (as {@link Pop3Client#login} reports it)
     * @throws MailboxFailure when no token can be obtained (caused by an {@link OAuthException}) or the server refuses
     *                        a newly issued one
     */
    public void login(Pop3Client client) throws IOException {
        if (tokens == null) {
            client.login(mailbox.username(), mailbox.password() == null ? "" : mailbox.password().value());
            return;
        }
        AccessToken token = token();
        try {
            client.login(mailbox.username(), token.value());
        } catch (Pop3Exception e) {
            if (e.kind() != Pop3Exception.Kind.AUTHENTICATION) {
                throw e;
            }
            if (!tokens.renewable() || !tokens.wasAccepted(token)) {
                throw refused(e);
            }
            log.info("Mailbox {}: the server refused the access token it accepted before; obtaining a new one and"
                    + " retrying once ({})", mailbox.id(), e.getMessage());
            tokens.discard(token);
            token = token();
            if (!client.isOpen()) {
                throw new MailboxFailure(mailbox.id(), false, where() + ": the server closed the connection after"
                        + " refusing the previous access token; retrying with the new one", e);
            }
            try {
                client.login(mailbox.username(), token.value());
            } catch (Pop3Exception again) {
                if (again.kind() == Pop3Exception.Kind.AUTHENTICATION) {
                    throw refused(again);
                }
                throw again;
            }
        }
        tokens.accepted(token);
    }

    /** Token endpoint requests made so far for this mailbox; 0 without OAuth. */
    public int tokenRequests() {
        return tokens == null ? 0 : tokens.requests();
    }

    private AccessToken token() {
        try {
            return tokens.token();
        } catch (OAuthException e) {
            throw new MailboxFailure(mailbox.id(), e.userMustFix(), "Mailbox " + mailbox.id() + ": cannot obtain an"
                    + " OAuth 2 access token: " + e.getMessage(), e);
        }
    }

    private MailboxFailure refused(Pop3Exception e) {
        String hint = tokens.renewable()
                ? "the identity provider issued a token, but the server does not accept it for this user: check '"
                        + mailbox.key(Pop3SourceConnectorConfig.USERNAME_CONFIG) + "', the scope, and that the app may access this mailbox"
                : "the static access token was refused (expired?): static tokens are for tests; use "
                        + Pop3SourceConnectorConfig.OAUTH_GRANT_CONFIG + " client_credentials or refresh_token";
        return new MailboxFailure(mailbox.id(), true, where() + ": authentication failed for user '"
                + mailbox.username() + "': " + hint + ": " + e.getMessage(), e);
    }

    private String where() {
        return "Mailbox " + mailbox.id() + " (" + mailbox.security().configValue() + "://" + mailbox.host() + ":"
                + mailbox.port() + ")";
    }
}
