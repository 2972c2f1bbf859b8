package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.LogRecorder;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.MisbehavingPop3Server;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.Cert;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.StlsFault;
import io.mailbridge.pop3.testing.OAuthTokenServer;
import io.mailbridge.pop3.testing.TopicReader;
import jakarta.ws.rs.core.Response;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Secrets and transport security on a real KRaft broker and Connect worker: the password never shows up in logs,
 * the status API, validation answers, exceptions or records; {@code ${file:...}} config providers work for
 * {@code pop3.password}; {@code starttls} never falls back to plaintext.
 */
class SecurityIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Distinctive, and plain ASCII so that JSON escaping cannot hide it from the scan. */
    private static final String CANARY_PASSWORD = "Mb7-canary-Qx42-Zt9k-secret";
    private static final String PROVIDED_PASSWORD = "Mb7-provided-Lw83-Hy5n-secret";

    private static DovecotServer dovecot;
    private static ConnectCluster cluster;

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private final List<String> connectors = new ArrayList<>();

    @BeforeAll
    static void start() {
        DovecotServer.requireInstalled();
        dovecot = DovecotServer.builder()
                .user("canary", CANARY_PASSWORD)
                .user("provided", PROVIDED_PASSWORD)
                .build()
                .start();
        cluster = ConnectCluster.start("security-it", 1, Map.of(
                "config.providers", "file",
                "config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider"));
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
        if (dovecot != null) {
            dovecot.close();
        }
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
        List<AutoCloseable> reversed = new ArrayList<>(cleanup);
        Collections.reverse(reversed);
        for (AutoCloseable c : reversed) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort
            }
        }
    }

    // ========================================================================================== secrets

    @Test
    void passwordNeverAppearsInLogsStatusValidationErrorsOrRecords() throws Exception {
        Map<String, String> surfaces = new LinkedHashMap<>();
        try (LogRecorder logs = LogRecorder.start(Map.of("io.mailbridge", Level.DEBUG,
                "org.apache.kafka.connect", Level.INFO))) {
            // 1. Success over STLS (SASL PLAIN) against Dovecot.
            dovecot.deliver("canary", List.of(Mails.numbered(1), Mails.numbered(2), Mails.numbered(3)));
            Map<String, String> stls = dovecotConfig("canary", CANARY_PASSWORD, "secret-canary");
            create("secret-canary", stls);
            assertEquals(3, TopicReader.await(cluster, "secret-canary", 3, WAIT).size(), dovecot.diagnostics());

            // 2. Wrong password: the administrator changed it on the server.
            dovecot.changePassword("canary", "rotated-by-admin-1");
            ConnectorStateInfo.TaskState failed = awaitTaskState("secret-canary", "FAILED");
            assertTrue(failed.trace().toLowerCase(Locale.ROOT).contains("authentication"), failed.trace());
            surfaces.put("status of secret-canary (wrong password)", get("connectors/secret-canary/status"));
            surfaces.put("validation with the now wrong password", validate(stls));

            // 3. TLS failure: the server starts presenting a certificate nobody trusts (USER/PASS this time).
            MisbehavingPop3Server tls = started(MisbehavingPop3Server.builder().user("canary", CANARY_PASSWORD)
                    .implicitTls().saslPlain(false));
            tls.deliver(Mails.numbered(10));
            Map<String, String> tlsConfig = misbehavingConfig(tls, "tls", "secret-tls");
            create("secret-tls", tlsConfig);
            assertEquals(1, TopicReader.await(cluster, "secret-tls", 1, WAIT).size(), tls.describe());
            tls.certificate(Cert.UNTRUSTED);
            tls.deliver(Mails.numbered(11));
            ConnectorStateInfo.TaskState tlsFailed = awaitTaskState("secret-tls", "FAILED");
            assertTrue(tlsFailed.trace().contains("TLS"), tlsFailed.trace());
            assertTrue(tls.tlsHandshakeFailures() >= 1, tls.describe());
            surfaces.put("status of secret-tls (untrusted certificate)", get("connectors/secret-tls/status"));
            surfaces.put("validation against the untrusted certificate", validate(tlsConfig));

            // Everything the worker logged meanwhile.
            List<LogRecorder.Event> events = logs.events();
            long debug = events.stream().filter(e -> e.logger().startsWith("io.mailbridge")
                    && e.level().equals("DEBUG")).count();
            long connectInfo = events.stream().filter(e -> e.logger().startsWith("org.apache.kafka.connect")
                    && e.level().equals("INFO")).count();
            assertTrue(debug > 0 && connectInfo > 0, "the capture saw io.mailbridge at DEBUG (" + debug
                    + " events) and org.apache.kafka.connect at INFO (" + connectInfo + " events)");
            for (int i = 0; i < events.size(); i++) {
                LogRecorder.Event e = events.get(i);
                if (e.logger().startsWith("org.apache.kafka.connect.util.clusters")
                        && e.message().startsWith("PUT response for URL=") && e.message().contains("/config is ")) {
                    // The test's own REST client logging the answer to PUT /connectors/<name>/config: that is the
                    // connector config, which may hold the password when no config provider is used.
                    continue;
                }
                surfaces.put("log event " + i, e.text());
            }
        }
        for (String topic : List.of("secret-canary", "secret-tls")) {
            List<ConsumerRecord<String, String>> records = TopicReader.readAll(cluster, topic, Duration.ofSeconds(1));
            for (ConsumerRecord<String, String> r : records) {
                StringBuilder headers = new StringBuilder();
                for (Header h : r.headers()) {
                    headers.append(h.key()).append('=').append(new String(h.value(), StandardCharsets.UTF_8))
                            .append(';');
                }
                surfaces.put("record " + topic + "@" + r.offset(), r.key() + "\n" + r.value() + "\n" + headers);
            }
        }
        assertNoSecret(surfaces, "canary", CANARY_PASSWORD);
    }

    @Test
    void fileConfigProviderSuppliesThePasswordAndKeepsItOutOfTheConnectorConfig() throws Exception {
        Path dir = Files.createTempDirectory("mailbridge-secrets-");
        cleanup.add(() -> {
            Files.deleteIfExists(dir.resolve("pop3.properties"));
            Files.deleteIfExists(dir);
        });
        Path secrets = dir.resolve("pop3.properties");
        Files.writeString(secrets, "provided.password=" + PROVIDED_PASSWORD + "\n");
        String reference = "${file:" + secrets + ":provided.password}";

        Map<String, String> surfaces = new LinkedHashMap<>();
        try (LogRecorder logs = LogRecorder.start(Map.of("io.mailbridge", Level.DEBUG,
                "org.apache.kafka.connect", Level.INFO))) {
            dovecot.deliver("provided", List.of(Mails.numbered(1), Mails.numbered(2)));
            Map<String, String> config = dovecotConfig("provided", reference, "secret-provided");
            create("secret-provided", config);
            List<ConsumerRecord<String, String>> published = TopicReader.await(cluster, "secret-provided", 2, WAIT);
            assertEquals(2, published.size(), "the password from the file provider logged in\n"
                    + dovecot.diagnostics());
            // The offsets of both records committed: the logs below cover a whole publish-and-commit cycle.
            cluster.awaitCommittedUidl("secret-provided", "provided@localhost:" + dovecot.plainPort(),
                    ConnectCluster.json(published.get(1).value()).get("uid").asText(), WAIT);

            String connectorConfig = get("connectors/secret-provided/config");
            assertTrue(connectorConfig.contains(reference.replace("\\", "\\\\")), "the config keeps the reference: "
                    + connectorConfig);
            surfaces.put("GET /connectors/secret-provided/config", connectorConfig);
            surfaces.put("GET /connectors/secret-provided/tasks", get("connectors/secret-provided/tasks"));
            surfaces.put("GET /connectors/secret-provided/status", get("connectors/secret-provided/status"));
            surfaces.put("GET /connectors/secret-provided", get("connectors/secret-provided"));
            surfaces.put("validation", validate(config));
            List<LogRecorder.Event> events = logs.events();
            for (int i = 0; i < events.size(); i++) {
                surfaces.put("log event " + i, events.get(i).text());
            }
        }
        for (ConsumerRecord<String, String> r : TopicReader.readAll(cluster, "secret-provided", Duration.ofSeconds(1))) {
            surfaces.put("record @" + r.offset(), r.key() + "\n" + r.value());
        }
        assertNoSecret(surfaces, "provided", PROVIDED_PASSWORD);
    }

    @Test
    void oauthClientSecretRefreshAndAccessTokensNeverAppearInLogsStatusTaskConfigsValidationOrRecords()
            throws Exception {
        String clientSecret = "Mb7-oauth-secret-Wv36-canary";
        String refreshToken = "Mb7-oauth-refresh-Rk58-canary";
        OAuthTokenServer tokens = new OAuthTokenServer()
                .client("security-app", clientSecret, null)
                .refreshToken(refreshToken, "oauth-canary")
                .rotateRefreshTokens(true, false)
                .tokenBytes(2600)
                .start();
        cleanup.add(tokens);
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("oauth-canary", "unused-password")
                .saslPlain(false).xoauth2(MisbehavingPop3Server.OAuthStyle.GOOGLE, tokens::valid));
        Path dir = Files.createTempDirectory("mailbridge-oauth-secrets-");
        Path file = dir.resolve("gmail.properties");
        cleanup.add(() -> {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        });
        Files.writeString(file, "client.secret=" + clientSecret + "\nrefresh.token=" + refreshToken + "\n");
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", "secret-oauth");
        config.put("pop3.host", pop3.host());
        config.put("pop3.port", String.valueOf(pop3.port()));
        config.put("pop3.security", "none");
        config.put("pop3.username", pop3.user());
        config.put("pop3.oauth.grant", "refresh_token");
        config.put("pop3.oauth.token.endpoint", tokens.tokenEndpoint());
        config.put("pop3.oauth.client.id", "security-app");
        config.put("pop3.oauth.client.secret", "${file:" + file + ":client.secret}");
        config.put("pop3.oauth.refresh.token", "${file:" + file + ":refresh.token}");
        config.put("poll.interval.ms", "300");

        Map<String, String> surfaces = new LinkedHashMap<>();
        try (LogRecorder logs = LogRecorder.start(Map.of("io.mailbridge", Level.DEBUG,
                "org.apache.kafka.connect", Level.INFO))) {
            pop3.deliver(Mails.numbered(1));
            create("secret-oauth", config);
            assertEquals(1, TopicReader.await(cluster, "secret-oauth", 1, WAIT).size(), pop3.describe());
            // A revoked access token: the Gmail error challenge, a renewal with the rotated refresh token, a retry.
            tokens.revokeAccessTokens();
            pop3.deliver(Mails.numbered(2));
            assertEquals(2, TopicReader.await(cluster, "secret-oauth", 2, WAIT).size(), pop3.describe());
            assertTrue(tokens.rotatedRefreshTokenUses() >= 1, "the rotated refresh token was used");
            surfaces.put("GET /connectors/secret-oauth/config", get("connectors/secret-oauth/config"));
            surfaces.put("GET /connectors/secret-oauth/tasks", get("connectors/secret-oauth/tasks"));
            surfaces.put("GET /connectors/secret-oauth/status", get("connectors/secret-oauth/status"));
            surfaces.put("validation through the provider", validate(config));
            Map<String, String> inline = new HashMap<>(config);
            inline.put("pop3.oauth.client.secret", clientSecret);
            inline.put("pop3.oauth.refresh.token", refreshToken);
            surfaces.put("validation with inline secrets", validate(inline));
            inline.put("pop3.oauth.client.secret", clientSecret + "-wrong");
            String wrong = validate(inline);
            assertTrue(wrong.contains("invalid_client"), wrong);
            surfaces.put("validation with a wrong inline secret", wrong);

            // The user revokes the grant: the task fails.
            tokens.revokeRefreshTokens("oauth-canary");
            tokens.revokeAccessTokens();
            pop3.deliver(Mails.numbered(3));
            ConnectorStateInfo.TaskState failed = awaitTaskState("secret-oauth", "FAILED");
            assertTrue(failed.trace().contains("invalid_grant"), failed.trace());
            surfaces.put("status of secret-oauth (revoked grant)", get("connectors/secret-oauth/status"));
            surfaces.put("validation with the revoked refresh token", validate(config));
            List<LogRecorder.Event> events = logs.events();
            for (int i = 0; i < events.size(); i++) {
                surfaces.put("log event " + i, events.get(i).text());
            }
        }
        for (ConsumerRecord<String, String> r : TopicReader.readAll(cluster, "secret-oauth", Duration.ofSeconds(1))) {
            surfaces.put("record @" + r.offset(), r.key() + "\n" + r.value());
        }
        Map<String, String> forms = new LinkedHashMap<>();
        forms.put("client secret", clientSecret);
        forms.put("refresh token", refreshToken);
        int n = 0;
        for (String rotated : tokens.rotatedRefreshTokens()) {
            forms.put("rotated refresh token " + ++n, rotated);
        }
        n = 0;
        for (String access : tokens.accessTokens()) {
            n++;
            forms.put("access token " + n, access.substring(0, 40));
            forms.put("XOAUTH2 response with access token " + n,
                    base64("user=oauth-canary\u0001auth=Bearer " + access + "\u0001\u0001").substring(0, 60));
        }
        assertTrue(n >= 3, "tokens issued: " + n);
        assertNoSecretForms(surfaces, forms);
    }

    // ========================================================================================== STLS downgrade

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = StlsFault.class, names = {"NOT_ADVERTISED", "REFUSED"})
    void starttlsDowngradeFailsTheTaskAndNeverSendsCredentialsInPlaintext(StlsFault fault) throws Exception {
        String name = "stls-" + fault.name().toLowerCase(Locale.ROOT).replace('_', '-');
        String password = "Mb7-stls-Vb61-secret";
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("stls", password).starttls());
        pop3.deliver(Mails.numbered(1));
        pop3.faultsFromSession(2);
        pop3.stlsFault(fault);
        create(name, misbehavingConfig(pop3, "starttls", name));

        ConnectorStateInfo.TaskState task = awaitTaskState(name, "FAILED");
        assertTrue(task.trace().contains(pop3.mailboxId()), "names the mailbox:\n" + task.trace());
        assertTrue(task.trace().contains("STLS"), "says STLS is unavailable:\n" + task.trace());
        assertTrue(pop3.fired("STLS") >= 1 || fault == StlsFault.NOT_ADVERTISED, pop3.describe());
        assertTrue(pop3.sessions() >= 2, pop3.describe());
        Thread.sleep(1000);
        assertTrue(pop3.sessions() <= 4, "no hot loop\n" + pop3.describe());
        assertEquals(List.of(), pop3.plaintextCredentialCommands(), "no USER, PASS or AUTH outside TLS\n"
                + pop3.describe());
        assertFalse(pop3.plaintextContains(password), "the password never crossed the wire in plaintext");
        assertFalse(pop3.plaintextContains(base64("\0stls\0" + password)), "nor a SASL PLAIN response");
        assertTrue(pop3.commands().stream().anyMatch(c -> c.credential() && c.tls()), "the live check logged in"
                + " over TLS (the server works when it offers STLS)\n" + pop3.describe());
        assertEquals(0, TopicReader.readAll(cluster, name, Duration.ofMillis(500)).size(), "nothing was read");
    }

    @Test
    void validationRejectsAStarttlsServerThatOffersNoStlsWithoutSendingCredentials() throws Exception {
        String password = "Mb7-nostls-Pk20-secret";
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("nostls", password).starttls());
        pop3.stlsFault(StlsFault.NOT_ADVERTISED);
        String answer = validate(misbehavingConfig(pop3, "starttls", "no-stls"));
        assertTrue(answer.contains("STLS"), "the validation error says STLS is missing: " + answer);
        assertTrue(answer.contains(pop3.mailboxId()), "and names the mailbox: " + answer);
        assertTrue(pop3.sessions() >= 1, pop3.describe());
        assertEquals(List.of(), pop3.plaintextCredentialCommands(), pop3.describe());
        assertFalse(pop3.plaintextContains(password));
        assertFalse(answer.contains(password));
    }

    // ========================================================================================== helpers

    private MisbehavingPop3Server started(MisbehavingPop3Server.Builder builder) {
        MisbehavingPop3Server server = builder.build();
        cleanup.add(server);
        return server.start();
    }

    private void create(String name, Map<String, String> config) {
        connectors.add(name);
        cluster.createConnector(name, config);
    }

    private static Map<String, String> dovecotConfig(String user, String password, String topic) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", topic);
        config.put("pop3.host", "localhost");
        config.put("pop3.port", String.valueOf(dovecot.plainPort()));
        config.put("pop3.security", "starttls");
        config.put("pop3.username", user);
        config.put("pop3.password", password);
        config.put("pop3.ssl.truststore.location", dovecot.caPem().toString());
        config.put("poll.interval.ms", "300");
        return config;
    }

    private static Map<String, String> misbehavingConfig(MisbehavingPop3Server server, String security, String topic) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", topic);
        config.put("pop3.host", server.host());
        config.put("pop3.port", String.valueOf(server.port()));
        config.put("pop3.security", security);
        config.put("pop3.username", server.user());
        config.put("pop3.password", passwordOf(server));
        config.put("pop3.ssl.truststore.location", server.caPem().toString());
        config.put("pop3.connect.timeout.ms", "2000");
        config.put("pop3.read.timeout.ms", "5000");
        config.put("poll.interval.ms", "300");
        return config;
    }

    private static String passwordOf(MisbehavingPop3Server server) {
        switch (server.user()) {
            case "canary":
                return CANARY_PASSWORD;
            case "stls":
                return "Mb7-stls-Vb61-secret";
            case "nostls":
                return "Mb7-nostls-Pk20-secret";
            default:
                throw new IllegalArgumentException(server.user());
        }
    }

    private static ConnectorStateInfo.TaskState awaitTaskState(String name, String state) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        ConnectorStateInfo.TaskState task = null;
        while (System.nanoTime() < deadline) {
            try {
                ConnectorStateInfo status = cluster.status(name);
                task = status.tasks().isEmpty() ? null : status.tasks().get(0);
            } catch (RuntimeException e) {
                task = null;
            }
            if (task != null && state.equals(task.state())) {
                assertNotNull(task.trace());
                return task;
            }
            Thread.sleep(100);
        }
        fail("task of " + name + " is not " + state + ": " + (task == null ? "no task" : task.state() + "\n"
                + task.trace()));
        return null;
    }

    /** The body of a REST GET, as a user would see it. */
    private static String get(String resource) {
        Response response = cluster.connect().requestGet(cluster.connect().endpointForResource(resource));
        String body = String.valueOf(response.getEntity());
        assertEquals(200, response.getStatus(), resource + ": " + body);
        return body;
    }

    /** The body of PUT /connector-plugins/Pop3SourceConnector/config/validate. */
    private static String validate(Map<String, String> config) throws Exception {
        String url = cluster.connect().endpointForResource("connector-plugins/Pop3SourceConnector/config/validate");
        Response response = cluster.connect().requestPut(url, JSON.writeValueAsString(config));
        String body = String.valueOf(response.getEntity());
        assertEquals(200, response.getStatus(), body);
        return body;
    }

    private static String base64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** Fails listing every surface that holds the password (or its SASL PLAIN / base64 forms), with the secret masked. */
    private static void assertNoSecret(Map<String, String> surfaces, String user, String password) {
        Map<String, String> forms = new LinkedHashMap<>();
        forms.put("password", password);
        forms.put("base64(password)", base64(password));
        forms.put("SASL PLAIN response", base64("\0" + user + "\0" + password));
        assertNoSecretForms(surfaces, forms);
    }

    /** Fails listing every surface that holds one of the secrets, with the secret masked. */
    private static void assertNoSecretForms(Map<String, String> surfaces, Map<String, String> forms) {
        List<String> hits = new ArrayList<>();
        for (Map.Entry<String, String> s : surfaces.entrySet()) {
            for (Map.Entry<String, String> f : forms.entrySet()) {
                int at = s.getValue().indexOf(f.getValue());
                if (at >= 0) {
                    String context = s.getValue().substring(Math.max(0, at - 200),
                            Math.min(s.getValue().length(), at + f.getValue().length() + 100));
                    String head = s.getValue().substring(0, Math.min(160, s.getValue().length()));
                    hits.add(s.getKey() + " [" + head.replace(f.getValue(), "<SECRET>") + "] holds the "
                            + f.getKey() + ": ..." + context.replace(f.getValue(),
                            "<" + f.getKey().toUpperCase(Locale.ROOT) + ">") + "...");
                }
            }
        }
        assertTrue(surfaces.size() > 5, "scanned " + surfaces.size() + " surfaces");
        assertTrue(hits.isEmpty(), hits.size() + " of " + surfaces.size() + " surfaces hold the secret:\n"
                + String.join("\n\n", hits));
    }
}
