package io.mailbridge.pop3.it;

import com.icegreen.greenmail.user.GreenMailUser;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.GreenMailServer;
import io.mailbridge.pop3.testing.Mails;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shipped artifact on a worker in its own JVM: the plugin zip unzipped into plugin.path (the connector is not
 * on the worker's classpath), and a {@code kill -9} of that worker followed by a new worker process, which must
 * find the committed offsets (same serialized partition bytes in a new JVM) and republish nothing.
 */
class PluginArchiveWorkerIT {

    @TempDir
    Path tmp;

    @Test
    void runsFromPluginArchiveAndRepublishesNothingAfterWorkerKill() throws Exception {
        EmbeddedKafkaCluster kafka = new EmbeddedKafkaCluster(1, ConnectCluster.brokerProps());
        kafka.start();
        try (GreenMailServer pop3 = new GreenMailServer()) {
            GreenMailUser user = pop3.user("archive", "pw");
            for (int i = 0; i < 10; i++) {
                pop3.deliver(user, Mails.numbered(i));
            }
            Path pluginPath = WorkerProcess.installPlugin(tmp);
            String mailboxId = "archive@127.0.0.1:" + pop3.port();
            Map<String, String> config = new HashMap<>();
            config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
            config.put("tasks.max", "1");
            config.put("topic", "archive");
            config.put("pop3.host", "127.0.0.1");
            config.put("pop3.port", String.valueOf(pop3.port()));
            config.put("pop3.security", "none");
            config.put("pop3.username", "archive");
            config.put("pop3.password", "pw");
            config.put("poll.interval.ms", "500");

            WorkerProcess first = WorkerProcess.start(tmp.resolve("w1"), kafka.bootstrapServers(), pluginPath, "mb");
            try {
                first.putConnector("archive", config);
                first.awaitTaskRunning("archive", Duration.ofSeconds(60));
                List<String> keys = keys(kafka, 10, Duration.ofSeconds(60));
                assertEquals(10, keys.size());
                // The kill must come after the commit: the new worker has to find these offsets.
                first.awaitCommittedUidl("archive", mailboxId, uidOf(keys.get(9), mailboxId), Duration.ofSeconds(60));
            } finally {
                first.kill();
            }

            for (int i = 10; i < 15; i++) {
                pop3.deliver(user, Mails.numbered(i));
            }
            try (WorkerProcess second = WorkerProcess.start(tmp.resolve("w2"), kafka.bootstrapServers(), pluginPath,
                    "mb")) {
                second.awaitTaskRunning("archive", Duration.ofSeconds(90));
                List<String> keys = keys(kafka, 15, Duration.ofSeconds(60));
                // Once the newest mail's offset is committed, the session that published it is wholly in the topic.
                second.awaitCommittedUidl("archive", mailboxId, uidOf(keys.get(keys.size() - 1), mailboxId),
                        Duration.ofSeconds(60));
                keys = keys(kafka, Integer.MAX_VALUE, Duration.ofSeconds(3));
                assertEquals(15, keys.size(), "every mail once, none republished by the new worker: " + keys);
                assertEquals(15, new HashSet<>(keys).size());
            }
        } finally {
            kafka.stop();
        }
    }

    /** The UIDL in a record key, {@code <mailbox id>/<uidl>}. */
    private static String uidOf(String key, String mailboxId) {
        assertTrue(key.startsWith(mailboxId + "/"), key);
        return key.substring(mailboxId.length() + 1);
    }

    private static List<String> keys(EmbeddedKafkaCluster kafka, int expected, Duration timeout) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + System.nanoTime());
        List<String> keys = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = kafka.createConsumerAndSubscribeTo(props, "archive")) {
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
