package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.icegreen.greenmail.configuration.GreenMailConfiguration;
import com.icegreen.greenmail.configuration.PropertiesBasedGreenMailConfigurationBuilder;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.PropertiesBasedServerSetupBuilder;
import com.icegreen.greenmail.util.ServerSetup;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.SecretManifestConfigProvider;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The deployment examples users copy, run for real so they cannot rot: the connector config that
 * {@code docker/docker-compose.yml} registers, against GreenMail configured from that file's own
 * {@code GREENMAIL_OPTS} (same users, same preloaded mail, same GreenMail version as the image); and the
 * {@code KafkaConnector} of {@code deploy/strimzi/}, its {@code spec.config}, {@code class} and {@code tasksMax}
 * deployed against Dovecot, its {@code ${secrets:namespace/name:key}} password resolved by a provider registered
 * under the name the {@code KafkaConnect} declares, reading the example Secret manifest. Only where things are
 * changes: host and port become the test server's, and for {@code tls} the test CA stands in for the public CA that
 * the example trusts through the JVM default.
 */
class ComposeAndStrimziExamplesIT {

    private static final Path COMPOSE = Path.of("docker", "docker-compose.yml");
    private static final Path STRIMZI = Path.of("deploy", "strimzi");
    private static final Pattern SYSTEM_PROPERTY = Pattern.compile("-D([^=\\s]+)(?:=(\\S*))?");
    private static final Pattern SECRET_REFERENCE = Pattern.compile("\\$\\{([^:}]+):([^:}]+):([^}]+)}");
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final YAMLMapper YAML = new YAMLMapper();

    private static ConnectCluster cluster;
    private static String secretsProvider;

    @BeforeAll
    static void startWorkerWithTheStrimziConfigProvider() throws Exception {
        // The provider name and the worker settings come from the KafkaConnect example; only the class is ours.
        JsonNode workerConfig = strimzi("KafkaConnect").path("spec").path("config");
        secretsProvider = workerConfig.path("config.providers").asText();
        assertEquals("io.strimzi.kafka.KubernetesSecretConfigProvider",
                workerConfig.path("config.providers." + secretsProvider + ".class").asText(),
                "the KafkaConnect declares Strimzi's Kubernetes Secret provider");
        Map<String, String> workerProps = new LinkedHashMap<>();
        workerProps.put("config.providers", secretsProvider);
        workerProps.put("config.providers." + secretsProvider + ".class", SecretManifestConfigProvider.class.getName());
        workerProps.put("config.providers." + secretsProvider + ".param.manifest",
                STRIMZI.resolve("pop3-secret.yaml").toAbsolutePath().toString());
        cluster = ConnectCluster.start("deployment-examples", 1, workerProps);
    }

    @Test
    void strimziBuildFetchesTheAttachedPluginZipWithItsSha512() throws Exception {
        JsonNode plugins = strimzi("KafkaConnect").path("spec").path("build").path("plugins");
        assertEquals(1, plugins.size(), plugins.toString());
        JsonNode artifact = plugins.get(0).path("artifacts").get(0);
        assertEquals("zip", artifact.path("type").asText());
        // The Maven repository path of the zip the build attaches (classifier plugin, type zip).
        assertTrue(artifact.path("url").asText().matches(
                "https://\\S+/io/mailbridge/kafka-connect-pop3/([^/]+)/kafka-connect-pop3-\\1-plugin\\.zip"),
                artifact.path("url").asText());
        assertTrue(artifact.path("sha512sum").asText().matches("[0-9a-f]{128}"), artifact.toString());
    }

    @AfterAll
    static void stopWorker() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void composeDemoConnectorPublishesEveryPreloadedDemoMail() throws Exception {
        JsonNode mailService = YAML.readTree(COMPOSE.toFile()).path("services").path("mail");
        Properties greenMailProps = new Properties();
        Matcher option = SYSTEM_PROPERTY.matcher(mailService.path("environment").path("GREENMAIL_OPTS").asText());
        while (option.find()) {
            greenMailProps.setProperty(option.group(1), option.group(2) == null ? "" : option.group(2));
        }
        String preloadInContainer = greenMailProps.getProperty("greenmail.preload.dir");
        assertNotNull(preloadInContainer, "the demo mailbox is preloaded: " + greenMailProps);
        Path preload = hostPathOf(mailService, preloadInContainer);
        greenMailProps.setProperty("greenmail.preload.dir", preload.toString());
        greenMailProps.setProperty("greenmail.hostname", "127.0.0.1");
        int demoMails;
        try (Stream<Path> files = Files.walk(preload)) {
            demoMails = (int) files.filter(p -> p.toString().endsWith(".eml")).count();
        }
        assertTrue(demoMails >= 3, "sample mail in " + preload);

        GreenMailConfiguration users = new PropertiesBasedGreenMailConfigurationBuilder().build(greenMailProps);
        ServerSetup[] setups = ServerSetup.dynamicPort(new PropertiesBasedServerSetupBuilder().build(greenMailProps));
        GreenMail greenMail = new GreenMail(setups).withConfiguration(users);
        greenMail.start();
        try {
            Map<String, String> config = readFlatJson(Path.of("docker", "demo", "connector.json"));
            assertEquals("mail", config.get("pop3.host"), "the compose connector reads the `mail` service");
            config.put("pop3.host", "127.0.0.1");
            config.put("pop3.port", String.valueOf(greenMail.getPop3().getPort()));
            cluster.createConnector("demo-mailbox", config);

            List<ConsumerRecord<String, String>> records = cluster.consume(config.get("topic"), demoMails, WAIT);
            assertEquals(demoMails, records.size(), "one record per preloaded mail; status: "
                    + cluster.status("demo-mailbox"));
            Set<String> subjects = new HashSet<>();
            for (ConsumerRecord<String, String> r : records) {
                subjects.add(ConnectCluster.json(r.value()).path("subject").asText());
            }
            assertTrue(subjects.contains("Welcome to Mailbridge"), subjects.toString());
            assertTrue(subjects.contains("Grüße aus Köln ☕"), "RFC 2047 subject decoded: " + subjects);
            cluster.connect().deleteConnector("demo-mailbox");
        } finally {
            greenMail.stop();
        }
    }

    @Test
    void strimziKafkaConnectorRunsWithItsPasswordFromTheKubernetesSecret() throws Exception {
        JsonNode connector = strimzi("KafkaConnector");
        JsonNode spec = connector.path("spec");
        Map<String, String> config = new LinkedHashMap<>();
        spec.path("config").properties().forEach(e -> config.put(e.getKey(), e.getValue().asText()));
        config.put("connector.class", spec.path("class").asText());
        config.put("tasks.max", spec.path("tasksMax").asText());
        assertEquals(connector.path("metadata").path("labels").path("strimzi.io/cluster").asText(),
                strimzi("KafkaConnect").path("metadata").path("name").asText(),
                "the KafkaConnector targets the example's KafkaConnect");

        Matcher reference = SECRET_REFERENCE.matcher(config.get("pop3.password"));
        assertTrue(reference.matches(), "the password comes through a config provider: " + config.get("pop3.password"));
        assertEquals(secretsProvider, reference.group(1), "the password names the provider the KafkaConnect declares");
        SecretManifestConfigProvider secrets = new SecretManifestConfigProvider();
        secrets.configure(Map.of("manifest", STRIMZI.resolve("pop3-secret.yaml").toString()));
        String password = secrets.get(reference.group(2), Set.of(reference.group(3))).data().get(reference.group(3));
        String user = config.get("pop3.username");

        DovecotServer.requireInstalled();
        try (DovecotServer dovecot = DovecotServer.builder().user(user, password).build().start()) {
            String security = config.getOrDefault("pop3.security", "tls");
            config.put("pop3.host", "localhost");
            config.put("pop3.port", String.valueOf("tls".equals(security) ? dovecot.tlsPort() : dovecot.plainPort()));
            if (!"none".equals(security) && !config.containsKey("pop3.ssl.truststore.location")) {
                config.put("pop3.ssl.truststore.location", dovecot.caPem().toString());
            }
            for (int i = 0; i < 3; i++) {
                dovecot.deliver(user, Mails.numbered(i));
            }
            String name = connector.path("metadata").path("name").asText();
            cluster.createConnector(name, config);
            List<ConsumerRecord<String, String>> records = cluster.consume(config.get("topic"), 3, WAIT);
            assertEquals(3, records.size(), "records of the Strimzi example; status: " + cluster.status(name));
            String configStored = new ObjectMapper().writeValueAsString(cluster.connect().connectorInfo(name).config());
            assertTrue(!configStored.contains(password), "the worker keeps the reference, not the password");
            cluster.connect().deleteConnector(name);
        }
    }

    /** The one document of {@code kind} in {@code deploy/strimzi/*.yaml}. */
    private static JsonNode strimzi(String kind) throws Exception {
        List<JsonNode> found = new ArrayList<>();
        try (Stream<Path> files = Files.list(STRIMZI)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
                    while (docs.hasNext()) {
                        JsonNode doc = docs.next();
                        if (kind.equals(doc.path("kind").asText())) {
                            found.add(doc);
                        }
                    }
                }
            }
        }
        assertEquals(1, found.size(), "one " + kind + " in " + STRIMZI);
        return found.get(0);
    }

    /** The host folder that a compose service mounts at {@code containerPath} (relative to the compose file). */
    private static Path hostPathOf(JsonNode service, String containerPath) {
        for (JsonNode volume : service.path("volumes")) {
            String[] parts = volume.asText().split(":");
            if (parts.length >= 2 && parts[1].equals(containerPath)) {
                Path host = COMPOSE.getParent().resolve(parts[0]).normalize();
                assertTrue(Files.isDirectory(host), host + " exists");
                return host.toAbsolutePath();
            }
        }
        throw new AssertionError("no volume mounted at " + containerPath + " in " + service);
    }

    private static Map<String, String> readFlatJson(Path file) throws Exception {
        Map<String, String> config = new LinkedHashMap<>();
        new ObjectMapper().readTree(file.toFile()).properties().forEach(e -> {
            assertTrue(e.getValue().isTextual(), file + ": " + e.getKey() + " must be a JSON string");
            config.put(e.getKey(), e.getValue().asText());
        });
        return config;
    }
}
