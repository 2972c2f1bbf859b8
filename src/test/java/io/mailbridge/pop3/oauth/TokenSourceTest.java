package io.mailbridge.pop3.oauth;

import io.mailbridge.pop3.config.OAuthGrant;
import io.mailbridge.pop3.config.OAuthSettings;
import io.mailbridge.pop3.testing.OAuthTokenServer;
import org.apache.kafka.common.config.types.Password;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Token acquisition, caching, renewal and error mapping against a real HTTP token endpoint. */
class TokenSourceTest {

    private static final String SECRET = "cs-Tq81-secret-value";
    private static final String REFRESH = "rt-initial-Kp20-value";
    private static final String SCOPE = "https://outlook.office365.com/.default";

    private final AtomicLong now = new AtomicLong(1_000_000);
    private OAuthTokenServer server;

    @BeforeEach
    void start() {
        server = new OAuthTokenServer()
                .client("app", SECRET, "alice@contoso.com")
                .refreshToken(REFRESH, "bob@gmail.com")
                .requiredScope(SCOPE)
                .tokenLifetimeSeconds(3600)
                .start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private OAuthSettings clientCredentials(String secret, String scope) {
        return new OAuthSettings(OAuthGrant.CLIENT_CREDENTIALS, server.tokenEndpoint(), "app", new Password(secret),
                null, scope, null);
    }

    private OAuthSettings refreshToken(String refresh) {
        return new OAuthSettings(OAuthGrant.REFRESH_TOKEN, server.tokenEndpoint(), "app", new Password(SECRET),
                new Password(refresh), null, null);
    }

    private TokenSource source(OAuthSettings settings) {
        return new TokenSource("mbx", settings, new TokenEndpoint(settings, 10_000, 10_000), now::get);
    }

    @Test
    void cachesTheTokenUntilATenthOfItsLifetimeIsLeftThenRenews() throws Exception {
        TokenSource tokens = source(clientCredentials(SECRET, SCOPE));
        AccessToken first = tokens.token();
        assertEquals(now.get() + 3_600_000 - 300_000, first.renewAtMs(), "five minutes margin on an hour");
        now.addAndGet(3_600_000 - 300_001);
        assertSame(first, tokens.token());
        assertEquals(1, server.issued());
        now.addAndGet(1);
        AccessToken second = tokens.token();
        assertNotEquals(first.value(), second.value());
        assertEquals(2, tokens.requests());
        assertEquals(List.of("client_credentials", "client_credentials"), server.tokenRequests());
    }

    @Test
    void shortLivedTokensAreRenewedATenthBeforeExpiry() throws Exception {
        server.tokenLifetimeSeconds(20);
        TokenSource tokens = source(clientCredentials(SECRET, SCOPE));
        assertEquals(now.get() + 18_000, tokens.token().renewAtMs());
    }

    @Test
    void rotatedRefreshTokenIsUsedForTheNextRenewal() throws Exception {
        server.rotateRefreshTokens(true, true);
        TokenSource tokens = source(refreshToken(REFRESH));
        tokens.token();
        now.addAndGet(3_600_000);
        tokens.token(); // fails with invalid_grant unless the rotated token was used: the first one is revoked
        assertEquals(2, server.rotatedRefreshTokens().size());
        assertEquals(1, server.rotatedRefreshTokenUses());
    }

    @Test
    void discardedTokenIsReplacedAndAcceptanceIsTrackedPerToken() throws Exception {
        TokenSource tokens = source(clientCredentials(SECRET, SCOPE));
        AccessToken first = tokens.token();
        assertFalse(tokens.wasAccepted(first));
        tokens.accepted(first);
        assertTrue(tokens.wasAccepted(first));
        tokens.discard(first);
        AccessToken second = tokens.token();
        assertNotEquals(first.value(), second.value());
        assertFalse(tokens.wasAccepted(second));
    }

    @Test
    void wrongSecretIsInvalidClientOnTheSecretKeyWithoutTheSecret() {
        OAuthException e = assertThrows(OAuthException.class,
                () -> source(clientCredentials("wrong-Zz99-secret", SCOPE)).token());
        assertEquals(OAuthException.Kind.REJECTED, e.kind());
        assertEquals("pop3.oauth.client.secret", e.configKey());
        assertTrue(e.getMessage().contains("invalid_client"), e.getMessage());
        assertFalse(e.getMessage().contains("wrong-Zz99-secret"), e.getMessage());
    }

    @Test
    void revokedRefreshTokenIsInvalidGrantOnTheRefreshTokenKey() {
        server.revokeRefreshTokens("bob@gmail.com");
        OAuthException e = assertThrows(OAuthException.class, () -> source(refreshToken(REFRESH)).token());
        assertEquals(OAuthException.Kind.REJECTED, e.kind());
        assertEquals("pop3.oauth.refresh.token", e.configKey());
        assertTrue(e.getMessage().contains("invalid_grant"), e.getMessage());
        assertFalse(e.getMessage().contains(REFRESH), e.getMessage());
    }

    @Test
    void wrongScopeIsInvalidScopeOnTheScopeKey() {
        OAuthException e = assertThrows(OAuthException.class,
                () -> source(clientCredentials(SECRET, "https://graph.microsoft.com/.default")).token());
        assertEquals("pop3.oauth.scope", e.configKey());
        assertTrue(e.getMessage().contains("invalid_scope"), e.getMessage());
    }

    @Test
    void busyProviderIsUnavailableAndAStoppedOneUnreachable() {
        server.failNext(1);
        TokenSource tokens = source(clientCredentials(SECRET, SCOPE));
        OAuthException busy = assertThrows(OAuthException.class, tokens::token);
        assertEquals(OAuthException.Kind.UNAVAILABLE, busy.kind());
        assertFalse(busy.userMustFix());
        server.stop();
        OAuthException down = assertThrows(OAuthException.class, tokens::token);
        assertEquals(OAuthException.Kind.UNREACHABLE, down.kind());
        assertEquals("pop3.oauth.token.endpoint", down.configKey());
        assertFalse(down.userMustFix());
    }

    @Test
    void notATokenEndpointIsReportedOnTheEndpointKey() {
        OAuthSettings settings = new OAuthSettings(OAuthGrant.CLIENT_CREDENTIALS,
                server.tokenEndpoint().replace("/token", "/nothing-here"), "app", new Password(SECRET), null, SCOPE,
                null);
        OAuthException e = assertThrows(OAuthException.class, () -> source(settings).token());
        assertEquals(OAuthException.Kind.UNREACHABLE, e.kind());
        assertEquals("pop3.oauth.token.endpoint", e.configKey());
        assertTrue(e.getMessage().contains("404"), e.getMessage());
    }

    @Test
    void staticTokenIsNeverRenewedNorFetched() throws Exception {
        OAuthSettings settings = new OAuthSettings(OAuthGrant.STATIC, null, null, null, null, null,
                new Password("static-token-value"));
        TokenSource tokens = TokenSource.create("mbx", settings, 1000, 1000);
        assertEquals("static-token-value", tokens.token().value());
        assertFalse(tokens.renewable());
        assertFalse(tokens.token().toString().contains("static-token-value"));
        assertEquals(0, server.tokenRequests().size());
    }
}
