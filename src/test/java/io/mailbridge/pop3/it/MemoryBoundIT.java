package io.mailbridge.pop3.it;

import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.MisbehavingPop3Server;
import io.mailbridge.pop3.testing.WorkerProcess;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * What a task holds in memory is bounded by what the task controls (its queue and one message per session), not by
 * what a server claims: a server that lists every message as 1 octet and sends a megabyte for each goes through a
 * worker in its own JVM with a 160 MB heap, running the plugin zip.
 */
class MemoryBoundIT {

    private static final int MESSAGES = 300;

    @TempDir
    Path tmp;

    @Test
    void aServerThatUnderstatesEverySizeCannotRaiseWhatATaskHolds() throws Exception {
        EmbeddedKafkaCluster kafka = new EmbeddedKafkaCluster(1, ConnectCluster.brokerProps());
        kafka.start();
        try (MisbehavingPop3Server pop3 = MisbehavingPop3Server.builder().user("liar", "pw-liar").build().start()) {
            String body = ("m".repeat(98) + "\r\n").repeat(10_000); // about 1 MB of text each
            for (int i = 0; i < MESSAGES; i++) {
                pop3.deliver(Mails.simple("big" + i, "Big " + i, body));
            }
            pop3.listedSizeOfAll(1L);
            Path pluginPath = WorkerProcess.installPlugin(tmp);
            Map<String, String> config = new HashMap<>();
            config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
            config.put("tasks.max", "1");
            config.put("topic", "liar");
            config.put("pop3.host", pop3.host());
            config.put("pop3.port", String.valueOf(pop3.port()));
            config.put("pop3.security", "none");
            config.put("pop3.username", "liar");
            config.put("pop3.password", "pw-liar");
            config.put("poll.interval.ms", "500");
            config.put("queue.max.bytes", String.valueOf(16 * 1024 * 1024));
            try (WorkerProcess worker = WorkerProcess.start(tmp.resolve("w"), kafka.bootstrapServers(), pluginPath,
                    "memory", Map.of(), List.of("-Xmx160m", "-XX:+ExitOnOutOfMemoryError"))) {
                worker.putConnector("liar", config);
                worker.awaitTaskRunning("liar", Duration.ofSeconds(60));
                Set<String> keys = keys(kafka, MESSAGES, Duration.ofSeconds(120));
                assertEquals(MESSAGES, keys.size(), "every message published once\n" + worker.logTail());
                assertFalse(worker.logText().contains("OutOfMemoryError"), worker.logTail());
                assertEquals("RUNNING", worker.status("liar").get("tasks").get(0).get("state").asText());
            }
        } finally {
            kafka.stop();
        }
    }

    private static Set<String> keys(EmbeddedKafkaCluster kafka, int expected, Duration timeout) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + System.nanoTime());
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 2 * 1024 * 1024);
        Set<String> keys = new HashSet<>();
        try (KafkaConsumer<byte[], byte[]> consumer = kafka.createConsumerAndSubscribeTo(props, "liar")) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (keys.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    keys.add(new String(r.key(), StandardCharsets.UTF_8));
                }
            }
        }
        return keys;
    }
}
