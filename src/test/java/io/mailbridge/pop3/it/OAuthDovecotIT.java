package io.mailbridge.pop3.it;

import io.mailbridge.pop3.client.Pop3Client;
import io.mailbridge.pop3.client.Pop3ClientSettings;
import io.mailbridge.pop3.client.Pop3Exception;
import io.mailbridge.pop3.config.Security;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.OAuthDovecot;
import io.mailbridge.pop3.testing.OAuthTokenServer;
import io.mailbridge.pop3.testing.TopicReader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * OAuth 2 end to end on real parts: a real Dovecot whose {@code oauth2} passdb asks a real token server (HTTP, in
 * this JVM) about every token, a real KRaft broker and Connect worker. Tokens live 20 s.
 *
 * <p>The long run covers ten token lifetimes (about 200 s; {@code -Dmailbridge.oauth.lifetimes=N} changes it) with
 * four mailboxes polled at once, one per task, one per grant and mechanism combination, so the four combinations
 * share one run instead of taking four.
 */
class OAuthDovecotIT {

    private static final int LIFETIME_SECONDS = 20;
    private static final int LIFETIMES = Integer.getInteger("mailbridge.oauth.lifetimes", 10);
    /**
     * A token is renewed a tenth of its lifetime before it expires, so the task asks once per 0.9 lifetimes; the
     * live check of validate() asks once more; one more for timing jitter. Over ten lifetimes: at most 14.
     */
    private static int maxTokenRequests(double lifetimes) {
        return 1 + (int) Math.ceil(lifetimes / 0.9) + 1;
    }

    @TempDir
    static Path confDir;

    private static OAuthTokenServer tokens;
    private static DovecotServer dovecot;
    private static ConnectCluster cluster;

    @BeforeAll
    static void start() {
        tokens = new OAuthTokenServer()
                .tokenLifetimeSeconds(LIFETIME_SECONDS)
                .client("app-cc-x", "secret-cc-x", "cc-x")
                .client("app-cc-o", "secret-cc-o", "cc-o")
                .client("app-rt-x", "secret-rt-x", null)
                .client("app-rt-o", "secret-rt-o", null)
                .refreshToken("rt-initial-x", "rt-x")
                .refreshToken("rt-initial-o", "rt-o")
                .start();
        dovecot = OAuthDovecot.start(tokens, confDir, List.of("cc-x", "cc-o", "rt-x", "rt-o", "smoke"));
        cluster = ConnectCluster.start("oauth-dovecot-it", 1);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
        if (dovecot != null) {
            dovecot.close();
        }
        if (tokens != null) {
            tokens.close();
        }
    }

    @Test
    void dovecotTakesTokensOverBothMechanismsAndRefusesExpiredOnes() throws Exception {
        tokens.client("app-smoke", "secret-smoke", "smoke").tokenBytes(2500);
        String token;
        try {
            token = issue("app-smoke", "secret-smoke");
        } finally {
            tokens.tokenBytes(40);
        }
        assertEquals(2500, token.length());
        for (String mechanism : List.of("XOAUTH2", "OAUTHBEARER")) {
            try (Pop3Client client = Pop3Client.connect(settings(mechanism))) {
                client.login("smoke", token);
                client.stat();
                client.quit();
            }
        }
        tokens.revokeAccessTokens();
        for (String mechanism : List.of("XOAUTH2", "OAUTHBEARER")) {
            try (Pop3Client client = Pop3Client.connect(settings(mechanism))) {
                Pop3Exception e = assertThrows(Pop3Exception.class, () -> client.login("smoke", token));
                assertEquals(Pop3Exception.Kind.AUTHENTICATION, e.kind(), e.getMessage());
            }
        }
    }

    @Test
    void bothGrantsAndBothMechanismsRunTenTokenLifetimesWithoutFailureLossOrDuplicates() throws Exception {
        // Entra ID's behaviour: every refresh returns a new refresh token (the connector must use it from then on);
        // the old one stays valid. Entra ID tokens are 1.5-3 KB: longer than an AUTH line may be.
        tokens.rotateRefreshTokens(true, false).tokenBytes(2500);
        Map<String, String> config = new LinkedHashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "4");
        config.put("topic", "oauth-long");
        config.put("pop3.host", dovecot.host());
        config.put("pop3.port", String.valueOf(dovecot.plainPort()));
        config.put("pop3.security", "none");
        config.put("pop3.oauth.token.endpoint", tokens.tokenEndpoint());
        config.put("poll.interval.ms", "1000");
        config.put("mailboxes", "cc-x,cc-o,rt-x,rt-o");
        for (String alias : List.of("cc-x", "cc-o", "rt-x", "rt-o")) {
            String prefix = "mailbox." + alias + ".pop3.";
            boolean appOnly = alias.startsWith("cc");
            config.put(prefix + "username", alias);
            config.put(prefix + "oauth.grant", appOnly ? "client_credentials" : "refresh_token");
            config.put(prefix + "oauth.client.id", "app-" + alias);
            config.put(prefix + "oauth.client.secret", "secret-" + alias);
            if (appOnly) {
                config.put(prefix + "oauth.scope", "https://outlook.office365.com/.default");
            } else {
                config.put(prefix + "oauth.refresh.token", "rt-initial-" + alias.substring(3));
            }
            // XOAUTH2 is what an empty list picks on Dovecot (it lists both); OAUTHBEARER is asked for by name.
            if (alias.endsWith("-o")) {
                config.put(prefix + "auth.mechanisms", "OAUTHBEARER");
            }
        }
        long started = System.currentTimeMillis();
        cluster.createConnector("oauth-long", config);
        cluster.awaitRunning("oauth-long", 4);

        long end = started + LIFETIMES * LIFETIME_SECONDS * 1000L;
        int delivered = 0;
        while (System.currentTimeMillis() < end) {
            delivered++;
            for (String user : List.of("cc-x", "cc-o", "rt-x", "rt-o")) {
                dovecot.deliver(user, Mails.numbered(delivered));
            }
            int expected = delivered * 4;
            List<ConsumerRecord<String, String>> records = TopicReader.await(cluster, "oauth-long", expected,
                    Duration.ofSeconds(30));
            assertEquals(expected, records.size(), "published so far; " + tokens.tokenRequests());
            assertAllRunning("oauth-long");
            // the next mail arrives in 5 s: mail keeps arriving over the whole run
            long next = started + delivered * 5_000L;
            ConnectCluster.await(() -> System.currentTimeMillis() >= next, Duration.ofSeconds(10), "next delivery");
        }
        long elapsedMs = System.currentTimeMillis() - started;
        List<ConsumerRecord<String, String>> all = TopicReader.await(cluster, "oauth-long", delivered * 4 + 1,
                Duration.ofSeconds(3));
        Set<String> keys = new HashSet<>();
        for (ConsumerRecord<String, String> r : all) {
            assertTrue(keys.add(r.key()), "duplicate " + r.key());
        }
        assertEquals(delivered * 4, all.size(), "every mail once");
        assertAllRunning("oauth-long");
        double lifetimes = elapsedMs / (LIFETIME_SECONDS * 1000.0);
        StringBuilder figures = new StringBuilder();
        for (String alias : List.of("cc-x", "cc-o", "rt-x", "rt-o")) {
            int requests = tokens.tokenRequests("app-" + alias);
            figures.append(alias).append('=').append(requests).append(' ');
            assertTrue(requests <= maxTokenRequests(lifetimes), alias + ": " + requests + " token requests over "
                    + lifetimes + " lifetimes");
            assertTrue(requests >= Math.floor(lifetimes), alias + ": tokens were renewed: " + requests);
        }
        System.out.printf("OAuthDovecotIT: %d mails per mailbox over %.1f token lifetimes (%d s); token requests %s;"
                        + " introspections %d, of expired/unknown tokens %d%n", delivered, lifetimes, elapsedMs / 1000,
                figures, tokens.introspections(), tokens.inactiveIntrospections());
        assertEquals(0, tokens.inactiveIntrospections(), "no login was tried with an expired token");
        assertTrue(tokens.rotatedRefreshTokenUses() >= 2 * (Math.floor(lifetimes) - 1),
                "renewals presented the rotated refresh tokens: " + tokens.rotatedRefreshTokenUses());
        cluster.connect().deleteConnector("oauth-long");
    }

    private static void assertAllRunning(String connector) {
        ConnectorStateInfo status = cluster.status(connector);
        for (ConnectorStateInfo.TaskState task : status.tasks()) {
            assertEquals("RUNNING", task.state(), "task " + task.id() + ": " + task.trace());
        }
    }

    private static Pop3ClientSettings settings(String mechanism) {
        return Pop3ClientSettings.builder()
                .host(dovecot.host())
                .port(dovecot.plainPort())
                .security(Security.NONE)
                .authMechanisms(List.of(mechanism))
                .mailboxId("smoke")
                .build();
    }

    private static String issue(String clientId, String secret) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(tokens.tokenEndpoint()))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("grant_type=client_credentials&client_id=" + clientId
                        + "&client_secret=" + secret + "&scope=x"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return ConnectCluster.json(response.body()).get("access_token").asText();
    }
}
