package io.mailbridge.pop3.oauth;

import io.mailbridge.pop3.config.OAuthGrant;
import io.mailbridge.pop3.config.OAuthSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.LongSupplier;

/**
 * The access token of one mailbox: obtained when first needed, cached, and renewed a margin before it expires (a
 * tenth of its lifetime, at most five minutes), so a mailbox asks its identity provider about once per token
 * lifetime whatever its poll interval. Thread-safe, though one task thread uses it.
 *
 * <p>When the provider returns a new refresh token (Microsoft Entra ID does on every renewal; Google normally does
 * not), the new one is used from then on. It is held in memory only: after a task restart the configured refresh
 * token is used again, which for Entra ID stays valid until its own expiry (90 days from issue by default).
 */
public final class TokenSource {

    private static final Logger log = LoggerFactory.getLogger(TokenSource.class);

    /** Renew this long before expiry at most (Entra ID and Google tokens live about an hour). */
    private static final long MAX_RENEW_MARGIN_MS = 300_000;
    /** A token without {@code expires_in} (RFC 6749 only recommends it) is used this long, then renewed. */
    private static final long UNKNOWN_LIFETIME_MS = 600_000;

    private final String mailboxId;
    private final OAuthSettings settings;
    private final TokenEndpoint endpoint;
    private final LongSupplier clock;
    private String refreshToken;
    private AccessToken cached;
    private AccessToken accepted;
    private boolean rotationLogged;
    private int requests;

    public TokenSource(String mailboxId, OAuthSettings settings, TokenEndpoint endpoint, LongSupplier clock) {
        if (!settings.enabled()) {
            throw new IllegalArgumentException("No OAuth grant configured for mailbox " + mailboxId);
        }
        this.mailboxId = mailboxId;
        this.settings = settings;
        this.endpoint = endpoint;
        this.clock = clock;
        this.refreshToken = settings.refreshToken() == null ? null : settings.refreshToken().value();
    }

    /** A token source for the mailbox's settings, with HTTP timeouts of the given bounds. */
    public static TokenSource create(String mailboxId, OAuthSettings settings, int connectTimeoutMs, int readTimeoutMs) {
        TokenEndpoint endpoint = settings.grant() == OAuthGrant.STATIC ? null
                : new TokenEndpoint(settings, connectTimeoutMs, readTimeoutMs);
        return new TokenSource(mailboxId, settings, endpoint, System::currentTimeMillis);
    }

    /** The cached token while it is fresh enough, else a new one from the token endpoint. */
    public synchronized AccessToken token() throws OAuthException {
        if (settings.grant() == OAuthGrant.STATIC) {
            return new AccessToken(settings.accessToken().value(), Long.MAX_VALUE);
        }
        long now = clock.getAsLong();
        if (cached != null && now < cached.renewAtMs()) {
            return cached;
        }
        requests++;
        TokenEndpoint.Grant grant = endpoint.request(refreshToken);
        long lifetimeMs = grant.expiresInSeconds() < 0 ? UNKNOWN_LIFETIME_MS : grant.expiresInSeconds() * 1000;
        long margin = Math.min(MAX_RENEW_MARGIN_MS, lifetimeMs / 10);
        cached = new AccessToken(grant.accessToken(), now + lifetimeMs - margin);
        if (grant.refreshToken() != null) {
            refreshToken = grant.refreshToken();
            if (!rotationLogged) {
                rotationLogged = true;
                log.info("Mailbox {}: the identity provider issued a new refresh token; using it until the task"
                        + " restarts (then the configured one again)", mailboxId);
            }
        }
        log.debug("Mailbox {}: obtained an access token valid for {} s", mailboxId,
                grant.expiresInSeconds() < 0 ? "unknown" : grant.expiresInSeconds());
        return cached;
    }

    /** Whether a refused token can be replaced by asking the endpoint again ({@code static} tokens cannot). */
    public boolean renewable() {
        return settings.grant() != OAuthGrant.STATIC;
    }

    /** The server let the mailbox in with this token. */
    public synchronized void accepted(AccessToken token) {
        accepted = token;
    }

    /** Whether the server has let the mailbox in with this very token before (so a refusal now means it was revoked). */
    public synchronized boolean wasAccepted(AccessToken token) {
        return token == accepted;
    }

    /** Forgets a token the server refused, so the next {@link #token()} asks the endpoint. */
    public synchronized void discard(AccessToken token) {
        if (cached == token) {
            cached = null;
        }
    }

    /** Token endpoint requests made so far. */
    public synchronized int requests() {
        return requests;
    }
}
