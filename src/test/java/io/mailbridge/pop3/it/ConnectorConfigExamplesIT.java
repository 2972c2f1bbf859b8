package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.icegreen.greenmail.user.GreenMailUser;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.GreenMailServer;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.OAuthDovecot;
import io.mailbridge.pop3.testing.OAuthTokenServer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every example in {@code connector-config/} is parsed and deployed, so an example cannot rot. Only where to
 * connect is redirected to a local POP3 server; every other setting runs as written. The OAuth 2 examples run
 * against Dovecot and a test token server (endpoint redirected), their {@code ${file:...}} secrets read from a file
 * the test writes.
 */
class ConnectorConfigExamplesIT {

    private static final Pattern CONNECTION_KEY =
            Pattern.compile("(mailbox\\.[^.]+\\.)?pop3\\.(host|port|security|username|password|ssl\\..*)");
    private static final Pattern FILE_REFERENCE = Pattern.compile("\\$\\{file:([^:}]*/)?([^/:}]+):([^}]+)}");

    private static ConnectCluster cluster;
    private static GreenMailServer pop3;
    private static OAuthTokenServer tokens;
    private static DovecotServer dovecot;

    @TempDir
    static Path secrets;

    @BeforeAll
    static void start() {
        pop3 = new GreenMailServer();
        cluster = ConnectCluster.start("examples-it", 1, Map.of(
                "config.providers", "file",
                "config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider"));
    }

    @AfterAll
    static void stop() {
        cluster.close();
        pop3.close();
        if (dovecot != null) {
            dovecot.close();
        }
        if (tokens != null) {
            tokens.close();
        }
    }

    @Test
    void everyExampleConfigDeploysAndPublishes() throws Exception {
        List<Path> examples = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(Path.of("connector-config"), "*.json")) {
            dir.forEach(examples::add);
        }
        assertTrue(examples.size() >= 3, "quickstart, POP3S and delete-after-ack examples at least");
        Set<String> names = new HashSet<>();
        for (Path example : examples) {
            JsonNode body = new ObjectMapper().readTree(Files.readString(example));
            assertTrue(body.hasNonNull("name") && body.get("config").isObject(),
                    example + " is not in the REST body form {\"name\":..., \"config\":{...}}");
            String name = body.get("name").asText();
            assertTrue(names.add(name), "two examples named " + name);
            if (body.get("config").has("pop3.oauth.grant")) {
                deployOAuth(example, name, body.get("config"));
            } else {
                deploy(example, name, body.get("config"));
            }
        }
    }

    /**
     * An OAuth 2 example, against Dovecot's oauth2 passdb and the test token server: the client id, grant and scope
     * run as written; the endpoint is redirected; the secrets come through the example's own {@code ${file:...}}
     * references, pointed at a file in a temp directory.
     */
    private void deployOAuth(Path example, String name, JsonNode json) throws Exception {
        if (tokens == null) {
            tokens = new OAuthTokenServer().start();
            dovecot = OAuthDovecot.start(tokens, secrets, List.of("m365-user", "gmail-user", "oauth-user"));
        }
        String user = name.contains("gmail") ? "gmail-user" : name.contains("m365") ? "m365-user" : "oauth-user";
        Map<String, String> config = new LinkedHashMap<>();
        Properties fileSecrets = new Properties();
        String secretFile = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertTrue(e.getValue().isTextual(), example + ": " + e.getKey() + " must be a JSON string");
            String value = e.getValue().asText();
            Matcher reference = FILE_REFERENCE.matcher(value);
            if (reference.matches()) {
                secretFile = reference.group(2);
                fileSecrets.setProperty(reference.group(3), "test-" + name + "-" + reference.group(3));
                value = "${file:" + secrets.resolve(secretFile) + ":" + reference.group(3) + "}";
            }
            if (!CONNECTION_KEY.matcher(e.getKey()).matches()) {
                config.put(e.getKey(), value);
            }
        }
        assertTrue(fileSecrets.containsKey("client.secret"), example + " reads the client secret through ${file:}");
        try (var out = Files.newOutputStream(secrets.resolve(secretFile))) {
            fileSecrets.store(out, null);
        }
        String clientId = config.get("pop3.oauth.client.id");
        boolean appOnly = config.get("pop3.oauth.grant").equals("client_credentials");
        tokens.client(clientId, fileSecrets.getProperty("client.secret"), appOnly ? user : null);
        if (!appOnly) {
            assertTrue(fileSecrets.containsKey("refresh.token"), example + " reads the refresh token through ${file:}");
            tokens.refreshToken(fileSecrets.getProperty("refresh.token"), user);
        }
        config.put("pop3.oauth.token.endpoint", tokens.tokenEndpoint());
        config.put("pop3.host", dovecot.host());
        config.put("pop3.port", String.valueOf(dovecot.plainPort()));
        config.put("pop3.security", "none");
        config.put("pop3.username", user);
        config.put("poll.interval.ms", "500");
        dovecot.deliver(user, Mails.numbered(1));
        String topic = config.get("topic");
        int before = tokens.tokenRequests(clientId);
        cluster.createConnector(name, config);
        List<ConsumerRecord<String, String>> records = cluster.consume(topic, 1, Duration.ofSeconds(60));
        assertEquals(1, records.size(), example + " published the mail\n" + dovecot.diagnostics());
        assertTrue(tokens.tokenRequests(clientId) > before, example + " obtained its tokens from the endpoint");
        cluster.connect().deleteConnector(name);
    }

    private void deploy(Path example, String name, JsonNode json) throws Exception {
        Map<String, String> config = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertTrue(e.getValue().isTextual(), example + ": " + e.getKey() + " must be a JSON string");
            if (!CONNECTION_KEY.matcher(e.getKey()).matches()) {
                config.put(e.getKey(), e.getValue().asText());
            }
        }
        assertEquals("io.mailbridge.pop3.Pop3SourceConnector", config.get("connector.class"), example.toString());
        config.put("pop3.host", "127.0.0.1");
        config.put("pop3.port", String.valueOf(pop3.port()));
        config.put("pop3.security", "none");
        config.put("poll.interval.ms", "500");
        List<GreenMailUser> users = new ArrayList<>();
        String aliases = config.get("mailboxes");
        if (aliases == null || aliases.isBlank()) {
            users.add(pop3.user(name, "pw"));
            config.put("pop3.username", name);
            config.put("pop3.password", "pw");
        } else {
            for (String alias : aliases.split(",")) {
                String login = name + "-" + alias.trim();
                users.add(pop3.user(login, "pw"));
                config.put("mailbox." + alias.trim() + ".pop3.username", login);
                config.put("mailbox." + alias.trim() + ".pop3.password", "pw");
            }
        }
        for (GreenMailUser user : users) {
            pop3.deliver(user, Mails.numbered(1));
        }
        String topic = config.get("topic");
        cluster.createConnector(name, config);
        List<ConsumerRecord<String, String>> records = cluster.consume(topic, users.size(), Duration.ofSeconds(60));
        assertEquals(users.size(), records.size(), example + " published one record per mailbox");
        assertFalse(records.get(0).value().isEmpty());
        cluster.connect().deleteConnector(name);
    }
}
