package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.MisbehavingPop3Server;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.OAuthStyle;
import io.mailbridge.pop3.testing.OAuthTokenServer;
import io.mailbridge.pop3.testing.TopicReader;
import jakarta.ws.rs.core.Response;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * OAuth 2 against servers that speak XOAUTH2 the way Exchange Online and Gmail do ({@link MisbehavingPop3Server}),
 * with a real token endpoint ({@link OAuthTokenServer}) and a real broker and Connect worker: long tokens after the
 * continuation, error challenges, revoked tokens, an identity provider that goes away, and validation answers.
 */
class OAuthFaultsIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SECRET = "Mb7-oauth-client-Jd52-secret";
    private static final String REFRESH = "Mb7-oauth-refresh-Hq73-token";
    private static final String SCOPE = "https://outlook.office365.com/.default";

    private static ConnectCluster cluster;

    private OAuthTokenServer tokens;
    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private final List<String> connectors = new ArrayList<>();

    @BeforeAll
    static void startCluster() {
        cluster = ConnectCluster.start("oauth-faults-it", 1);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @BeforeEach
    void startTokens() {
        tokens = new OAuthTokenServer()
                .client("m365-app", SECRET, "support@contoso.com")
                .client("gmail-app", SECRET, null)
                .refreshToken(REFRESH, "support@contoso.com")
                .requiredScope(SCOPE)
                .tokenBytes(2600)
                .start();
        cleanup.add(tokens);
    }

    @AfterEach
    void tearDown() {
        for (String name : connectors) {
            try {
                cluster.connect().deleteConnector(name);
            } catch (RuntimeException e) {
                // already gone
            }
        }
        for (AutoCloseable c : cleanup) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort
            }
        }
    }

    @Test
    void exchangeOnlineStyleGetsLongTokensAfterTheContinuationNeverOnTheAuthLine() throws Exception {
        MisbehavingPop3Server pop3 = started(OAuthStyle.MICROSOFT);
        pop3.deliver(Mails.numbered(1));
        pop3.deliver(Mails.numbered(2));
        create("oauth-m365", appOnly(pop3, "oauth-m365"));
        assertEquals(2, TopicReader.await(cluster, "oauth-m365", 2, WAIT).size(), pop3.describe());
        assertTrue(pop3.successfulLoginTimes().size() >= 2, "live check and task logged in\n" + pop3.describe());
        assertTrue(pop3.longestAuthLine() <= 255, "AUTH lines within RFC 5034's 255 octets: " + pop3.longestAuthLine());
        assertEquals(0, pop3.rejectedLoginTimes().size(), pop3.describe());
        assertRunning("oauth-m365");
    }

    @Test
    void revokedAccessTokenIsReplacedOnceAndTheMailboxGoesOn() throws Exception {
        MisbehavingPop3Server pop3 = started(OAuthStyle.MICROSOFT);
        pop3.deliver(Mails.numbered(1));
        create("oauth-revoked-access", appOnly(pop3, "oauth-revoked-access"));
        assertEquals(1, TopicReader.await(cluster, "oauth-revoked-access", 1, WAIT).size(), pop3.describe());
        int before = tokens.tokenRequests("m365-app");

        tokens.revokeAccessTokens(); // e.g. an administrator revoked sessions; the cached token is still "fresh"
        pop3.deliver(Mails.numbered(2));
        assertEquals(2, TopicReader.await(cluster, "oauth-revoked-access", 2, WAIT).size(), pop3.describe());
        assertEquals(before + 1, tokens.tokenRequests("m365-app"), "one renewal");
        assertEquals(1, pop3.rejectedLoginTimes().size(), "one refusal, then the retry got in\n" + pop3.describe());
        assertRunning("oauth-revoked-access");
    }

    @Test
    void tokenRefusedAgainAfterOneRenewalFailsTheTaskAsNeedingAttention() throws Exception {
        AtomicBoolean permission = new AtomicBoolean(true);
        MisbehavingPop3Server pop3 = MisbehavingPop3Server.builder()
                .user("support@contoso.com", "no-password-logins")
                .saslPlain(false)
                .xoauth2(OAuthStyle.MICROSOFT, (user, token) -> permission.get() && tokens.valid(user, token))
                .build();
        cleanup.add(0, pop3);
        pop3.start();
        pop3.deliver(Mails.numbered(1));
        create("oauth-permission", appOnly(pop3, "oauth-permission"));
        assertEquals(1, TopicReader.await(cluster, "oauth-permission", 1, WAIT).size(), pop3.describe());
        int before = tokens.tokenRequests("m365-app");

        permission.set(false); // an administrator removed the app's FullAccess on the mailbox
        pop3.deliver(Mails.numbered(2));
        ConnectorStateInfo.TaskState failed = awaitTaskState("oauth-permission", "FAILED");
        assertTrue(failed.trace().contains("does not accept it"), failed.trace());
        assertTrue(failed.trace().contains("pop3.username"), failed.trace());
        assertEquals(before + 1, tokens.tokenRequests("m365-app"), "exactly one renewal before giving up");
        assertEquals(2, pop3.rejectedLoginTimes().size(), "the cached token and the renewed one\n" + pop3.describe());
    }

    @Test
    void gmailErrorChallengeIsAnsweredAndARevokedRefreshTokenFailsTheTaskWithoutAHotLoop() throws Exception {
        MisbehavingPop3Server pop3 = started(OAuthStyle.GOOGLE);
        pop3.deliver(Mails.numbered(1));
        create("oauth-gmail", delegated(pop3, "oauth-gmail"));
        assertEquals(1, TopicReader.await(cluster, "oauth-gmail", 1, WAIT).size(), pop3.describe());

        // The user removed the app's access in their Google account: tokens and refresh token die together.
        tokens.revokeRefreshTokens("support@contoso.com");
        tokens.revokeAccessTokens();
        pop3.deliver(Mails.numbered(2));
        ConnectorStateInfo.TaskState failed = awaitTaskState("oauth-gmail", "FAILED");
        assertTrue(failed.trace().contains("invalid_grant"), failed.trace());
        assertTrue(failed.trace().contains("pop3.oauth.refresh.token"), "names the key to fix:\n" + failed.trace());
        assertTrue(failed.trace().contains(pop3.mailboxId()), "names the mailbox:\n" + failed.trace());
        assertFalse(failed.trace().contains(REFRESH) || failed.trace().contains(SECRET), failed.trace());
        assertTrue(pop3.errorChallenges() >= 1, "the JSON error challenge was answered with an empty line\n"
                + pop3.describe());
        int requests = tokens.tokenRequests("gmail-app");
        int sessions = pop3.sessions();
        // FAILED is final: nothing more happens, however long one waits (observed over two polls' worth of time)
        long until = System.currentTimeMillis() + 1500;
        ConnectCluster.await(() -> System.currentTimeMillis() >= until, Duration.ofSeconds(5), "1.5 s");
        assertEquals(requests, tokens.tokenRequests("gmail-app"), "no more token requests");
        assertEquals(sessions, pop3.sessions(), "no more sessions");
        assertTrue(requests <= 3, "live check, first token, one refresh attempt: " + tokens.tokenRequests());
        assertEquals(1, TopicReader.readAll(cluster, "oauth-gmail", Duration.ofMillis(500)).size());
    }

    @Test
    void unreachableTokenEndpointIsRetriedWithBackoffAndTheMailboxResumes() throws Exception {
        MisbehavingPop3Server pop3 = started(OAuthStyle.MICROSOFT);
        pop3.deliver(Mails.numbered(1));
        create("oauth-idp-down", appOnly(pop3, "oauth-idp-down"));
        assertEquals(1, TopicReader.await(cluster, "oauth-idp-down", 1, WAIT).size(), pop3.describe());

        tokens.revokeAccessTokens();
        tokens.stop();
        int sessions = pop3.sessions();
        pop3.deliver(Mails.numbered(2));
        ConnectCluster.await(() -> pop3.sessions() >= sessions + 3, WAIT, "three attempts while the endpoint is down");
        assertRunning("oauth-idp-down");
        tokens.start();
        assertEquals(2, TopicReader.await(cluster, "oauth-idp-down", 2, WAIT).size(), pop3.describe());
        assertRunning("oauth-idp-down");
    }

    @Test
    void validationReportsIdentityProviderErrorsOnTheKeyAtFaultWithoutSecrets() throws Exception {
        MisbehavingPop3Server pop3 = started(OAuthStyle.MICROSOFT);
        Map<String, String> config = appOnly(pop3, "oauth-validate");
        assertEquals(Map.of(), errors(config), "a good config validates");

        Map<String, String> wrongSecret = new LinkedHashMap<>(config);
        wrongSecret.put("pop3.oauth.client.secret", "Mb7-wrong-Xc11-secret");
        String error = errors(wrongSecret).get("pop3.oauth.client.secret");
        assertTrue(error != null && error.contains("invalid_client"), String.valueOf(errors(wrongSecret)));
        assertFalse(error.contains("Mb7-wrong-Xc11-secret"), error);

        Map<String, String> wrongScope = new LinkedHashMap<>(config);
        wrongScope.put("pop3.oauth.scope", "https://graph.microsoft.com/.default");
        assertTrue(String.valueOf(errors(wrongScope).get("pop3.oauth.scope")).contains("invalid_scope"));

        Map<String, String> nowhere = new LinkedHashMap<>(config);
        nowhere.put("pop3.oauth.token.endpoint", "http://127.0.0.1:1/token");
        assertTrue(String.valueOf(errors(nowhere).get("pop3.oauth.token.endpoint")).contains("Cannot reach"));

        Map<String, String> revoked = delegated(pop3, "oauth-validate");
        tokens.revokeRefreshTokens("support@contoso.com");
        String grant = errors(revoked).get("pop3.oauth.refresh.token");
        assertTrue(grant != null && grant.contains("invalid_grant"), String.valueOf(errors(revoked)));
        assertFalse(grant.contains(REFRESH), grant);

        Map<String, String> wrongUser = appOnly(pop3, "oauth-validate");
        wrongUser.put("pop3.username", "someone-else@contoso.com");
        String refused = errors(wrongUser).get("pop3.username");
        assertTrue(refused != null && refused.contains("does not accept it"), String.valueOf(errors(wrongUser)));
    }

    // ========================================================================================== helpers

    private MisbehavingPop3Server started(OAuthStyle style) {
        MisbehavingPop3Server server = MisbehavingPop3Server.builder()
                .user("support@contoso.com", "no-password-logins")
                .saslPlain(false)
                .xoauth2(style, tokens::valid)
                .build();
        cleanup.add(0, server);
        return server.start();
    }

    private Map<String, String> base(MisbehavingPop3Server pop3, String topic) {
        Map<String, String> config = new LinkedHashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", topic);
        config.put("pop3.host", pop3.host());
        config.put("pop3.port", String.valueOf(pop3.port()));
        config.put("pop3.security", "none");
        config.put("pop3.username", pop3.user());
        config.put("pop3.oauth.token.endpoint", tokens.tokenEndpoint());
        config.put("pop3.oauth.client.secret", SECRET);
        config.put("pop3.connect.timeout.ms", "2000");
        config.put("pop3.read.timeout.ms", "5000");
        config.put("poll.interval.ms", "300");
        return config;
    }

    /** Microsoft 365 app-only access. */
    private Map<String, String> appOnly(MisbehavingPop3Server pop3, String topic) {
        Map<String, String> config = base(pop3, topic);
        config.put("pop3.oauth.grant", "client_credentials");
        config.put("pop3.oauth.client.id", "m365-app");
        config.put("pop3.oauth.scope", SCOPE);
        return config;
    }

    /** Gmail (or Microsoft 365 delegated) access with a refresh token. */
    private Map<String, String> delegated(MisbehavingPop3Server pop3, String topic) {
        Map<String, String> config = base(pop3, topic);
        config.put("pop3.oauth.grant", "refresh_token");
        config.put("pop3.oauth.client.id", "gmail-app");
        config.put("pop3.oauth.refresh.token", REFRESH);
        return config;
    }

    private void create(String name, Map<String, String> config) {
        connectors.add(name);
        cluster.createConnector(name, config);
    }

    private static void assertRunning(String name) {
        ConnectorStateInfo status = cluster.status(name);
        for (ConnectorStateInfo.TaskState task : status.tasks()) {
            assertEquals("RUNNING", task.state(), task.trace());
        }
    }

    private static ConnectorStateInfo.TaskState awaitTaskState(String name, String state) throws Exception {
        ConnectorStateInfo.TaskState[] last = new ConnectorStateInfo.TaskState[1];
        ConnectCluster.await(() -> {
            try {
                ConnectorStateInfo status = cluster.status(name);
                last[0] = status.tasks().isEmpty() ? null : status.tasks().get(0);
            } catch (RuntimeException e) {
                last[0] = null;
            }
            return last[0] != null && state.equals(last[0].state());
        }, WAIT, "task of " + name + " " + state);
        return last[0];
    }

    /** The errors of PUT /connector-plugins/Pop3SourceConnector/config/validate, by key. */
    private static Map<String, String> errors(Map<String, String> config) throws Exception {
        String url = cluster.connect().endpointForResource("connector-plugins/Pop3SourceConnector/config/validate");
        Map<String, String> named = new LinkedHashMap<>(config);
        named.put("name", "oauth-validate");
        Response response = cluster.connect().requestPut(url, JSON.writeValueAsString(named));
        String body = String.valueOf(response.getEntity());
        assertEquals(200, response.getStatus(), body);
        Map<String, String> errors = new LinkedHashMap<>();
        for (JsonNode c : JSON.readTree(body).get("configs")) {
            JsonNode value = c.get("value");
            if (value.get("errors").size() > 0) {
                errors.put(value.get("name").asText(), value.get("errors").get(0).asText());
            }
        }
        return errors;
    }
}
