package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.icegreen.greenmail.user.GreenMailUser;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.GreenMailServer;
import io.mailbridge.pop3.testing.Mails;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

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
import java.util.Set;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every example in {@code connector-config/} is parsed and deployed, so an example cannot rot. Only where to
 * connect is redirected to a local POP3 server; every other setting runs as written.
 */
class ConnectorConfigExamplesIT {

    private static final Pattern CONNECTION_KEY =
            Pattern.compile("(mailbox\\.[^.]+\\.)?pop3\\.(host|port|security|username|password|ssl\\..*)");

    private static ConnectCluster cluster;
    private static GreenMailServer pop3;

    @BeforeAll
    static void start() {
        pop3 = new GreenMailServer();
        cluster = ConnectCluster.start("examples-it", 1);
    }

    @AfterAll
    static void stop() {
        cluster.close();
        pop3.close();
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
            deploy(example, name, body.get("config"));
        }
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
