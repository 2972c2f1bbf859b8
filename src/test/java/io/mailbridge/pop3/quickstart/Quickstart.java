package io.mailbridge.pop3.quickstart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.icegreen.greenmail.user.GreenMailUser;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.GreenMailServer;
import io.mailbridge.pop3.testing.Mails;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Runs Mailbridge end to end on one machine: an in-process KRaft broker and Connect worker, the connector from
 * {@code connector-config/quickstart.json}, and either an embedded POP3 server seeded with sample mail or the
 * real mailbox named by {@code POP3_HOST}, {@code POP3_PORT}, {@code POP3_USER}, {@code POP3_PASSWORD},
 * {@code POP3_SECURITY} (tls, starttls, none) and {@code POP3_TRUSTSTORE}. Prints each record as it arrives.
 * {@code QUICKSTART_SECONDS} stops it after that long (default: run until Ctrl-C).
 */
public final class Quickstart {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Quickstart() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> env = System.getenv();
        JsonNode example = JSON.readTree(Files.readString(Path.of("connector-config", "quickstart.json")));
        String name = example.get("name").asText();
        Map<String, String> config = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = example.get("config").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            config.put(e.getKey(), e.getValue().asText());
        }

        GreenMailServer embedded = null;
        if (env.containsKey("POP3_HOST")) {
            config.put("pop3.host", env.get("POP3_HOST"));
            config.put("pop3.security", env.getOrDefault("POP3_SECURITY", "tls"));
            config.remove("pop3.port");
            if (env.containsKey("POP3_PORT")) {
                config.put("pop3.port", env.get("POP3_PORT"));
            }
            config.put("pop3.username", env.getOrDefault("POP3_USER", ""));
            config.put("pop3.password", env.getOrDefault("POP3_PASSWORD", ""));
            if (env.containsKey("POP3_TRUSTSTORE")) {
                config.put("pop3.ssl.truststore.location", env.get("POP3_TRUSTSTORE"));
            }
            System.out.println("Mailbridge quickstart: reading " + env.get("POP3_USER") + " at " + env.get("POP3_HOST")
                    + " (kept on the server: delete.after.ack=false)");
        } else {
            embedded = new GreenMailServer();
            GreenMailUser user = embedded.user("demo@localhost", "demo");
            embedded.deliver(user, Mails.simple("welcome", "Welcome to Mailbridge", "Each mail becomes one record."));
            embedded.deliver(user, Mails.simple("unicode", "=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=", "Grüße!"));
            embedded.deliver(user, Mails.withAttachment("report", 2000));
            config.put("pop3.port", String.valueOf(embedded.port()));
            config.put("pop3.host", "127.0.0.1");
            System.out.println("Mailbridge quickstart: embedded POP3 server on 127.0.0.1:" + embedded.port()
                    + " with 3 sample mails (user demo@localhost, password demo)");
        }

        String topic = config.get("topic");
        try (ConnectCluster cluster = ConnectCluster.start("quickstart", 1)) {
            System.out.println("Kafka at " + cluster.bootstrapServers() + "; creating connector '" + name + "'");
            cluster.createConnector(name, config);
            Map<String, Object> props = new HashMap<>();
            props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            props.put(ConsumerConfig.GROUP_ID_CONFIG, "quickstart");
            long stopAt = env.containsKey("QUICKSTART_SECONDS")
                    ? System.currentTimeMillis() + Long.parseLong(env.get("QUICKSTART_SECONDS")) * 1000
                    : Long.MAX_VALUE;
            int count = 0;
            try (KafkaConsumer<byte[], byte[]> consumer =
                         cluster.connect().kafka().createConsumerAndSubscribeTo(props, topic)) {
                System.out.println("Records on topic '" + topic + "' (Ctrl-C to stop):");
                while (System.currentTimeMillis() < stopAt) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                        count++;
                        JsonNode value = JSON.readTree(new String(r.value(), StandardCharsets.UTF_8));
                        System.out.println("--- record " + count + " key=" + new String(r.key(), StandardCharsets.UTF_8));
                        System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value));
                    }
                    String state = cluster.status(name).tasks().isEmpty() ? "UNASSIGNED"
                            : cluster.status(name).tasks().get(0).state();
                    if ("FAILED".equals(state)) {
                        System.out.println("Task failed: " + cluster.status(name).tasks().get(0).trace());
                        System.exit(1);
                    }
                }
            }
            System.out.println(count + " records published.");
        } finally {
            if (embedded != null) {
                embedded.close();
            }
        }
        System.exit(0);
    }
}
