package io.mailbridge.pop3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigValue;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Compose demo ({@code docker/docker-compose.yml}) is valid as Docker Compose reads it, without a Docker
 * daemon: {@code docker-compose config} (Debian's docker-compose 1.29, installed by scripts/test.sh) must accept it,
 * every path it mounts or builds from must exist, the connector it registers must pass the connector's own
 * validation, and the console consumer must read the topic that connector writes. ComposeAndStrimziExamplesIT runs
 * that connector config against GreenMail set up from the same file.
 */
class ComposeDemoTest {

    private static final Path COMPOSE = Path.of("docker", "docker-compose.yml");
    private static final Pattern PUT_URL = Pattern.compile("http://connect:8083/connectors/([^/]+)/config");

    @Test
    void dockerComposeAcceptsTheDemoFile() throws Exception {
        JsonNode resolved = composeConfig();
        JsonNode services = resolved.path("services");
        for (String service : List.of("kafka", "mail", "connect", "register", "consumer")) {
            assertTrue(services.has(service), "service " + service + " in " + services.fieldNames());
        }
    }

    @Test
    void everyMountedAndBuiltPathExists() throws Exception {
        JsonNode services = composeConfig().path("services");
        int binds = 0;
        for (JsonNode service : services) {
            for (JsonNode volume : service.path("volumes")) {
                String[] bind = bind(volume);
                if (bind != null) {
                    binds++;
                    assertTrue(Files.exists(Path.of(bind[0])), "mounted path " + bind[0] + " does not exist");
                }
            }
            JsonNode build = service.path("build");
            if (!build.isMissingNode()) {
                Path context = Path.of(build.path("context").asText());
                assertTrue(Files.isRegularFile(context.resolve(build.path("dockerfile").asText("Dockerfile"))),
                        "Dockerfile of " + build);
            }
        }
        assertTrue(binds >= 2, "the mail and the connector config are mounted from docker/demo");
    }

    @Test
    void registeredConnectorConfigPassesTheConnectorsValidation() throws Exception {
        JsonNode register = composeConfig().path("services").path("register");
        List<String> command = new ArrayList<>();
        register.path("command").forEach(c -> command.add(c.asText()));
        String url = command.get(command.size() - 1);
        assertTrue(PUT_URL.matcher(url).matches(), "register PUTs a connector config: " + url);
        assertTrue(command.contains("@/demo/connector.json"), "register sends /demo/connector.json: " + command);
        Path configFile = null;
        for (JsonNode volume : register.path("volumes")) {
            String[] bind = bind(volume);
            if (bind != null && "/demo/connector.json".equals(bind[1])) {
                configFile = Path.of(bind[0]);
            }
        }
        assertTrue(configFile != null && configFile.endsWith(Path.of("docker", "demo", "connector.json")),
                "register mounts docker/demo/connector.json: " + register);

        Map<String, String> config = new LinkedHashMap<>();
        new ObjectMapper().readTree(configFile.toFile()).properties()
                .forEach(e -> config.put(e.getKey(), e.getValue().asText()));
        assertEquals(Pop3SourceConnector.class.getName(), config.get("connector.class"));
        // The compose network's host "mail" does not resolve here: the live check treats it as unreachable right
        // now, which never blocks a config, so only real field errors remain.
        Config validated = new Pop3SourceConnector().validate(config);
        for (ConfigValue value : validated.configValues()) {
            assertTrue(value.errorMessages().isEmpty(), value.name() + ": " + value.errorMessages());
        }

        List<String> consumer = new ArrayList<>();
        composeConfig().path("services").path("consumer").path("command").forEach(c -> consumer.add(c.asText()));
        assertEquals(config.get("topic"), consumer.get(consumer.indexOf("--topic") + 1),
                "the console consumer reads the connector's topic");
    }

    @Test
    void demoMailServerImageIsTheGreenMailVersionTheTestsRun() throws IOException {
        String pom = Files.readString(Path.of("pom.xml"));
        Matcher version = Pattern.compile("<greenmail.version>([^<]+)</greenmail.version>").matcher(pom);
        assertTrue(version.find());
        String image = new YAMLMapper().readTree(COMPOSE.toFile()).path("services").path("mail").path("image").asText();
        assertEquals("greenmail/standalone:" + version.group(1), image,
                "ComposeAndStrimziExamplesIT checks the demo's GreenMail setup with the test dependency's version");
    }

    @Test
    void dockerfileCopiesTheArchiveMavenBuildsIntoTheSameKafkaImageAsTheBroker() throws IOException {
        String dockerfile = Files.readString(Path.of("docker", "Dockerfile"));
        Matcher copy = Pattern.compile("(?m)^COPY (target/components/packages/(\\S+)) ").matcher(dockerfile);
        assertTrue(copy.find(), "the Dockerfile copies the plugin archive: " + dockerfile);
        Matcher finalName = Pattern.compile("<finalName>([^<]+)</finalName>").matcher(Files.readString(Path.of("pom.xml")));
        assertTrue(finalName.find());
        String archive = finalName.group(1).replace("${project.version}", "0.1.0") + ".zip";
        String glob = copy.group(2).replace(".", "\\.").replace("*", "[^/]*");
        assertTrue(archive.matches(glob), copy.group(1) + " matches the archive mvn package writes, e.g. " + archive);

        Matcher from = Pattern.compile("(?m)^FROM (apache/kafka:\\S+)").matcher(dockerfile);
        assertTrue(from.find(), "the worker image is Apache Kafka's");
        String brokerImage = new YAMLMapper().readTree(COMPOSE.toFile()).path("services").path("kafka").path("image")
                .asText();
        assertEquals(brokerImage, from.group(1), "worker and broker run the same Kafka version");
    }

    /**
     * {source, target} of a bind mount, in the short form {@code docker-compose} 1.x prints
     * ({@code /abs/source:/target:ro}) or the long form of newer Compose; null for a named volume.
     */
    private static String[] bind(JsonNode volume) {
        if (volume.isTextual()) {
            String[] parts = volume.asText().split(":");
            return parts.length >= 2 && parts[0].startsWith("/") ? new String[] {parts[0], parts[1]} : null;
        }
        return "bind".equals(volume.path("type").asText())
                ? new String[] {volume.path("source").asText(), volume.path("target").asText()} : null;
    }

    /** {@code docker-compose config} output: the file as Compose resolved it (paths absolute, defaults filled). */
    private static JsonNode composeConfig() throws IOException, InterruptedException {
        Process process;
        try {
            process = new ProcessBuilder("docker-compose", "-f", COMPOSE.toString(), "config")
                    .redirectErrorStream(false).start();
        } catch (IOException e) {
            fail("docker-compose is not installed (scripts/test.sh installs it: apt-get install docker-compose): " + e);
            throw e;
        }
        byte[] out = process.getInputStream().readAllBytes();
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "docker-compose config did not finish");
        assertEquals(0, process.exitValue(), "docker-compose config rejects " + COMPOSE + ":\n" + err);
        return new YAMLMapper().readTree(out);
    }
}
