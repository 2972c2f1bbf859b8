package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.OAuthDovecot;
import io.mailbridge.pop3.testing.OAuthTokenServer;
import io.mailbridge.pop3.testing.TestCertificates;
import io.mailbridge.pop3.testing.WorkerProcess;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every example in {@code connector-config/} is parsed and deployed, security settings included, so an example
 * cannot rot: against Dovecot with a certificate from the test CA, on a worker in its own JVM that loads the plugin
 * archive, with the file config provider configured as README tells users to. Only where things are is changed:
 * host names become {@code localhost} (the certificate's name, so host name verification stays on), ports become
 * Dovecot's (implicit TLS or plain/STLS by the example's {@code pop3.security}), a trust store path becomes the test
 * CA's PEM file and a {@code ${file:PATH:KEY}} password keeps its form and key with PATH moved to a temp file.
 * Security modes, trust store types, user names and every other key run as written; an example that relies on the
 * JVM's default trust gets it from the worker JVM's {@code javax.net.ssl.trustStore}, which holds the test CA.
 * The OAuth 2 examples log in with tokens from a test token server (their token endpoint is the one thing moved),
 * checked by Dovecot's {@code oauth2} passdb; their client secrets and refresh tokens come through their own
 * {@code ${file:...}} references like the passwords.
 */
class ConnectorConfigExamplesIT {

    private static final Pattern HOST = Pattern.compile("(mailbox\\.[^.]+\\.)?pop3\\.host");
    private static final Pattern TRUSTSTORE = Pattern.compile("(mailbox\\.[^.]+\\.)?pop3\\.ssl\\.truststore\\.location");
    private static final Pattern TOKEN_ENDPOINT = Pattern.compile("(mailbox\\.[^.]+\\.)?pop3\\.oauth\\.token\\.endpoint");
    private static final Pattern FILE_REFERENCE = Pattern.compile("\\$\\{file:([^:}]+):([^}]+)}");
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path tmp;

    /** One example: its name, its config as written, and the mailboxes it reads (alias or null, user). */
    private record Example(Path file, String name, Map<String, String> config, Map<String, String> users) {
    }

    @Test
    void everyExampleConfigDeploysWithItsSecuritySettingsAgainstDovecotAndPublishes() throws Exception {
        DovecotServer.requireInstalled();
        List<Example> examples = readExamples();
        assertTrue(examples.size() >= 3, "quickstart, POP3S and delete-after-ack examples at least");

        // Passwords: a literal one is the user's password as written; a ${file:...} one gets a password of the
        // test's in the file it will be read from, one set of files per example (two examples may use the same key
        // of the same file for different users, as pop3s.json and multi-mailbox.json do with support.password).
        Map<String, String> passwords = new TreeMap<>();
        Map<String, Map<String, Path>> secretFiles = new HashMap<>();
        OAuthTokenServer tokens = new OAuthTokenServer().start();
        boolean oauth = false;
        for (Example example : examples) {
            Map<String, Properties> secrets = new TreeMap<>();
            if (example.config().containsKey("pop3.oauth.grant")) {
                oauth = true;
                registerOAuth(example, tokens, secrets);
            }
            for (Map.Entry<String, String> user : example.users().entrySet()) {
                String password = example.config().get(key(user.getKey(), "pop3.password"));
                if (password == null) {
                    password = example.config().get("pop3.password");
                }
                if (password == null) {
                    password = "pw-unused-" + user.getValue(); // OAuth: only tokens log this user in
                }
                Matcher ref = FILE_REFERENCE.matcher(password);
                if (ref.matches()) {
                    String generated = "pw-" + user.getValue();
                    secrets.computeIfAbsent(ref.group(1), p -> new Properties()).setProperty(ref.group(2), generated);
                    password = generated;
                }
                String previous = passwords.put(user.getValue(), password);
                assertTrue(previous == null || previous.equals(password), "user " + user.getValue()
                        + " has two passwords in the examples");
            }
            Map<String, Path> files = new HashMap<>();
            for (Map.Entry<String, Properties> e : secrets.entrySet()) {
                Path file = tmp.resolve("secrets").resolve(example.name() + "-" + files.size())
                        .resolve(Path.of(e.getKey()).getFileName());
                Files.createDirectories(file.getParent());
                try (var out = Files.newBufferedWriter(file)) {
                    e.getValue().store(out, "passwords of the example users");
                }
                files.put(e.getKey(), file);
            }
            secretFiles.put(example.name(), files);
        }

        DovecotServer.Builder builder = DovecotServer.builder();
        passwords.forEach(builder::user);
        if (oauth) {
            Path oauthConf = tmp.resolve("oauth2");
            Files.createDirectories(oauthConf);
            OAuthDovecot.configure(builder, tokens, oauthConf);
        }
        EmbeddedKafkaCluster kafka = new EmbeddedKafkaCluster(1, ConnectCluster.brokerProps());
        kafka.start();
        try (tokens; DovecotServer dovecot = builder.build().start()) {
            Path jvmTrust = TestCertificates.shared().caPkcs12(tmp.resolve("jvm-truststore.p12"), "changeit");
            Map<String, String> workerProps = Map.of(
                    "config.providers", "file",
                    "config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider");
            List<String> jvmOptions = List.of("-Djavax.net.ssl.trustStore=" + jvmTrust,
                    "-Djavax.net.ssl.trustStorePassword=changeit", "-Djavax.net.ssl.trustStoreType=PKCS12");
            try (WorkerProcess worker = WorkerProcess.start(tmp.resolve("worker"), kafka.bootstrapServers(),
                    WorkerProcess.installPlugin(tmp), "examples", workerProps, jvmOptions)) {
                for (Example example : examples) {
                    deploy(example, dovecot, worker, kafka, secretFiles.get(example.name()), tokens);
                }
            }
        } finally {
            kafka.stop();
        }
    }

    /**
     * The client and refresh token of an OAuth example become known to the token server, with values of the test's
     * written to the secrets files the example reads them from.
     */
    private static void registerOAuth(Example example, OAuthTokenServer tokens, Map<String, Properties> secrets) {
        Map<String, String> config = example.config();
        String user = example.users().get(null);
        assertTrue(user != null, example.file() + ": the OAuth examples are single-mailbox examples");
        Map<String, String> values = new HashMap<>();
        for (String secretKey : List.of("pop3.oauth.client.secret", "pop3.oauth.refresh.token")) {
            String value = config.get(secretKey);
            if (value == null) {
                continue;
            }
            Matcher ref = FILE_REFERENCE.matcher(value);
            assertTrue(ref.matches(), example.file() + ": " + secretKey + " must come through a config provider");
            String generated = "test-" + example.name() + "-" + ref.group(2);
            secrets.computeIfAbsent(ref.group(1), p -> new Properties()).setProperty(ref.group(2), generated);
            values.put(secretKey, generated);
        }
        boolean appOnly = "client_credentials".equals(config.get("pop3.oauth.grant"));
        tokens.client(config.get("pop3.oauth.client.id"), values.get("pop3.oauth.client.secret"), appOnly ? user : null);
        if (!appOnly) {
            tokens.refreshToken(values.get("pop3.oauth.refresh.token"), user);
        }
    }

    private void deploy(Example example, DovecotServer dovecot, WorkerProcess worker, EmbeddedKafkaCluster kafka,
                        Map<String, Path> secretFiles, OAuthTokenServer tokens) throws Exception {
        Map<String, String> config = new LinkedHashMap<>();
        int tokenRequests = tokens.tokenRequests(example.config().get("pop3.oauth.client.id"));
        for (Map.Entry<String, String> e : example.config().entrySet()) {
            String value = e.getValue();
            if (HOST.matcher(e.getKey()).matches()) {
                value = "localhost";
            } else if (TOKEN_ENDPOINT.matcher(e.getKey()).matches()) {
                value = tokens.tokenEndpoint();
            } else if (TRUSTSTORE.matcher(e.getKey()).matches()) {
                value = dovecot.caPem().toString();
            } else {
                Matcher ref = FILE_REFERENCE.matcher(value);
                if (ref.matches()) {
                    value = "${file:" + secretFiles.get(ref.group(1)) + ":" + ref.group(2) + "}";
                }
            }
            config.put(e.getKey(), value);
        }
        for (String alias : example.users().keySet()) {
            String security = example.config().getOrDefault(key(alias, "pop3.security"),
                    example.config().getOrDefault("pop3.security", "tls"));
            int port = "tls".equals(security) ? dovecot.tlsPort() : dovecot.plainPort();
            config.put(key(alias, "pop3.port"), String.valueOf(port));
        }
        for (String user : example.users().values()) {
            dovecot.deliver(user, Mails.numbered(1));
        }

        worker.putConnector(example.name(), config);
        String topic = config.get("topic");
        int mailboxes = example.users().size();
        List<ConsumerRecord<byte[], byte[]>> records = records(kafka, topic, mailboxes);
        assertEquals(mailboxes, records.size(), example.file() + " published one record per mailbox; status: "
                + worker.status(example.name()) + "\n" + worker.logTail());
        if (config.containsKey("pop3.oauth.grant")) {
            assertTrue(tokens.tokenRequests(config.get("pop3.oauth.client.id")) > tokenRequests,
                    example.file() + " logged in with tokens from the token endpoint");
        }
        if (Boolean.parseBoolean(config.get("delete.after.ack"))) {
            for (String user : example.users().values()) {
                ConnectCluster.await(() -> dovecot.messageCount(user) == 0, WAIT, example.file() + " drains "
                        + user + " after the ack");
            }
        }
        HttpResponse<String> deleted = worker.request("DELETE", "/connectors/" + example.name(), null);
        assertTrue(deleted.statusCode() < 300, deleted.body());
    }

    /** Reads every example; {@code users} maps each mailbox alias (null for a single mailbox) to its user. */
    private static List<Example> readExamples() throws Exception {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(Path.of("connector-config"), "*.json")) {
            dir.forEach(files::add);
        }
        files.sort(null);
        Set<String> names = new HashSet<>();
        List<Example> examples = new ArrayList<>();
        for (Path file : files) {
            JsonNode body = new ObjectMapper().readTree(Files.readString(file));
            assertTrue(body.hasNonNull("name") && body.get("config").isObject(),
                    file + " is not in the REST body form {\"name\":..., \"config\":{...}}");
            String name = body.get("name").asText();
            assertTrue(names.add(name), "two examples named " + name);
            Map<String, String> config = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : body.get("config").properties()) {
                assertTrue(e.getValue().isTextual(), file + ": " + e.getKey() + " must be a JSON string");
                config.put(e.getKey(), e.getValue().asText());
            }
            assertEquals("io.mailbridge.pop3.Pop3SourceConnector", config.get("connector.class"), file.toString());
            Map<String, String> users = new LinkedHashMap<>();
            String aliases = config.get("mailboxes");
            if (aliases == null || aliases.isBlank()) {
                users.put(null, config.get("pop3.username"));
            } else {
                for (String alias : aliases.split(",")) {
                    String a = alias.trim();
                    users.put(a, config.getOrDefault(key(a, "pop3.username"), config.get("pop3.username")));
                }
            }
            examples.add(new Example(file, name, config, users));
        }
        return examples;
    }

    /** {@code pop3Key} for one mailbox: {@code mailbox.<alias>.<pop3Key>}, or the shared key without an alias. */
    private static String key(String alias, String pop3Key) {
        return alias == null ? pop3Key : "mailbox." + alias + "." + pop3Key;
    }

    private static List<ConsumerRecord<byte[], byte[]>> records(EmbeddedKafkaCluster kafka, String topic,
                                                               int expected) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "examples-" + System.nanoTime());
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = kafka.createConsumerAndSubscribeTo(props, topic)) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
