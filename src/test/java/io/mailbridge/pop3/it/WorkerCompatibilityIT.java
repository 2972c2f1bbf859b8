package io.mailbridge.pop3.it;

import com.icegreen.greenmail.user.GreenMailUser;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.GreenMailServer;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.PrometheusScrape;
import io.mailbridge.pop3.testing.WorkerJars;
import io.mailbridge.pop3.testing.WorkerProcess;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compatibility matrix (README "Compatibility"): the shipped plugin zip in a Connect worker process of each Kafka
 * release whose jars the build put in {@code target/compat/} (two by default, all of {@code compat/} with
 * {@code -Pcompat}), each started with the Prometheus JMX exporter agent and {@code monitoring/prometheus/jmx-exporter.yml}
 * and a JMX port. On each: mail is published; the per-mailbox metrics are MBeans of the same names on every version
 * (the worker's plugin metrics on 4.1+, the connector's own before); the exporter serves them with the labels
 * connector, task and mailbox; and a connector restart through the REST API resumes from the committed offset and
 * republishes nothing.
 */
class WorkerCompatibilityIT {

    /** README "Metrics": the attributes of each mailbox's MBean. */
    private static final Set<String> MBEAN_ATTRIBUTES = Set.of("messages-total", "bytes-total", "deleted-total",
            "sessions-total", "failures-total", "failing", "last-success-timestamp-ms", "last-poll-timestamp-ms",
            "session-open", "session-duration-ms", "backlog", "oldest-pending-age-ms");
    /** README "Prometheus": what the exporter config makes of them. */
    private static final List<String> PROMETHEUS_METRICS = List.of("mailbridge_mailbox_messages_total",
            "mailbridge_mailbox_bytes_total", "mailbridge_mailbox_deleted_total", "mailbridge_mailbox_sessions_total",
            "mailbridge_mailbox_failures_total", "mailbridge_mailbox_failing",
            "mailbridge_mailbox_last_success_timestamp_seconds", "mailbridge_mailbox_last_poll_timestamp_seconds",
            "mailbridge_mailbox_session_open", "mailbridge_mailbox_session_duration_seconds",
            "mailbridge_mailbox_backlog", "mailbridge_mailbox_oldest_pending_age_seconds");

    @TempDir
    static Path tmp;
    private static EmbeddedKafkaCluster kafka;
    private static GreenMailServer pop3;
    private static Path pluginPath;

    @BeforeAll
    static void start() throws IOException {
        kafka = new EmbeddedKafkaCluster(1, ConnectCluster.brokerProps());
        kafka.start();
        pop3 = new GreenMailServer();
        pluginPath = WorkerProcess.installPlugin(tmp);
    }

    @AfterAll
    static void stop() {
        if (pop3 != null) {
            pop3.close();
        }
        if (kafka != null) {
            kafka.stop();
        }
    }

    static List<WorkerJars> workers() throws IOException {
        return WorkerJars.prepared();
    }

    @ParameterizedTest(name = "Kafka {0}")
    @MethodSource("workers")
    void publishesExportsMailboxMetricsAndRepublishesNothingAfterRestart(WorkerJars worker) throws Exception {
        long started = System.nanoTime();
        String tag = "kafka-" + worker.version().replace('.', '-');
        String connector = "compat-" + tag;
        String topic = "mail-" + tag;
        GreenMailUser user = pop3.user(tag, "pw");
        for (int i = 0; i < 10; i++) {
            pop3.deliver(user, Mails.numbered(i));
        }
        String mailboxId = tag + "@127.0.0.1:" + pop3.port();
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", topic);
        config.put("pop3.host", "127.0.0.1");
        config.put("pop3.port", String.valueOf(pop3.port()));
        config.put("pop3.security", "none");
        config.put("pop3.username", tag);
        config.put("pop3.password", "pw");
        config.put("poll.interval.ms", "500");

        int jmxPort = freePort();
        int metricsPort = freePort();
        List<String> jvm = List.of(
                "-javaagent:" + Path.of("target", "jmx-exporter", "jmx_prometheus_javaagent.jar").toAbsolutePath()
                        + "=127.0.0.1:" + metricsPort + ":"
                        + Path.of("monitoring", "prometheus", "jmx-exporter.yml").toAbsolutePath(),
                "-Dcom.sun.management.jmxremote.port=" + jmxPort,
                "-Dcom.sun.management.jmxremote.rmi.port=" + jmxPort,
                "-Dcom.sun.management.jmxremote.host=127.0.0.1",
                "-Djava.rmi.server.hostname=127.0.0.1",
                "-Dcom.sun.management.jmxremote.authenticate=false",
                "-Dcom.sun.management.jmxremote.ssl=false");
        try (WorkerProcess w = WorkerProcess.start(tmp.resolve(tag), kafka.bootstrapServers(), pluginPath, connector,
                Map.of(), jvm, worker.classpath())) {
            w.putConnector(connector, config);
            w.awaitTaskRunning(connector, Duration.ofSeconds(60));
            List<String> keys = keys(topic, 10, Duration.ofSeconds(60));
            assertEquals(10, keys.size(), "published on Kafka " + worker + ": " + keys);
            w.awaitCommittedUidl(connector, mailboxId, uidOf(keys.get(9), mailboxId), Duration.ofSeconds(60));

            assertMailboxMBean(jmxPort, connector, mailboxId, worker);
            assertExported("http://127.0.0.1:" + metricsPort + "/metrics", connector, mailboxId, worker);

            int startsBefore = countOccurrences(w.logText(), "Mailbox " + mailboxId + ": starting after UIDL");
            var restart = w.request("POST", "/connectors/" + connector + "/restart?includeTasks=true", null);
            assertTrue(restart.statusCode() < 300, "restart: " + restart.statusCode() + " " + restart.body());
            await(() -> countOccurrences(w.logText(), "Mailbox " + mailboxId + ": starting after UIDL") > startsBefore,
                    Duration.ofSeconds(60), () -> "the task did not restart from its committed offset; log: "
                            + w.logTail());
            w.awaitTaskRunning(connector, Duration.ofSeconds(60));
            for (int i = 10; i < 15; i++) {
                pop3.deliver(user, Mails.numbered(i));
            }
            keys = keys(topic, 15, Duration.ofSeconds(60));
            w.awaitCommittedUidl(connector, mailboxId, uidOf(keys.get(keys.size() - 1), mailboxId),
                    Duration.ofSeconds(60));
            keys = keys(topic, Integer.MAX_VALUE, Duration.ofSeconds(3));
            assertEquals(15, keys.size(), "every mail once, none republished after the restart: " + keys);
            assertEquals(15, new HashSet<>(keys).size());
        }
        System.out.printf("WorkerCompatibilityIT: Kafka %s passed in %.1f s%n", worker,
                (System.nanoTime() - started) / 1e9);
    }

    /** The MBean a 4.1+ worker registers for plugin metrics, on every version, with every attribute. */
    private static void assertMailboxMBean(int jmxPort, String connector, String mailboxId, WorkerJars worker)
            throws Exception {
        String expected = "kafka.connect:type=plugins,connector=" + connector + ",task=0,mailbox="
                + ObjectName.quote(mailboxId);
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi");
        try (JMXConnector jmx = JMXConnectorFactory.connect(url)) {
            MBeanServerConnection mbs = jmx.getMBeanServerConnection();
            ObjectName name = new ObjectName(expected);
            await(() -> mbs.isRegistered(name)
                            && ((Number) mbs.getAttribute(name, "messages-total")).longValue() == 10,
                    Duration.ofSeconds(30), () -> "no " + expected + " with messages-total=10 on Kafka " + worker
                            + "; plugin MBeans: " + names(mbs));
            List<String> mailboxBeans = new ArrayList<>();
            for (ObjectName n : mbs.queryNames(new ObjectName("kafka.connect:type=plugins,*"), null)) {
                if (n.getKeyProperty("mailbox") != null) {
                    mailboxBeans.add(n.toString());
                }
            }
            // toString keeps the key order the JMX exporter's patterns match on
            assertEquals(List.of(expected), mailboxBeans, "MBean names on Kafka " + worker);
            Set<String> attributes = new TreeSet<>();
            for (var info : mbs.getMBeanInfo(name).getAttributes()) {
                attributes.add(info.getName());
            }
            assertEquals(new TreeSet<>(MBEAN_ATTRIBUTES), attributes, "attributes on Kafka " + worker);
        }
    }

    private static String names(MBeanServerConnection mbs) {
        Set<String> out = new TreeSet<>();
        try {
            for (ObjectName n : mbs.queryNames(new ObjectName("kafka.connect:type=plugins,*"), null)) {
                out.add(n.toString());
            }
        } catch (IOException | javax.management.MalformedObjectNameException e) {
            return "(cannot list: " + e + ")";
        }
        return out.toString();
    }

    /** The exporter agent serves every mailbox metric under its documented name with connector, task, mailbox. */
    private static void assertExported(String url, String connector, String mailboxId, WorkerJars worker)
            throws Exception {
        Map<String, String> labels = Map.of("connector", connector, "task", "0", "mailbox", mailboxId);
        PrometheusScrape[] last = new PrometheusScrape[1];
        await(() -> {
            last[0] = PrometheusScrape.get(url);
            Double messages = last[0].value("mailbridge_mailbox_messages_total", labels);
            return messages != null && messages == 10;
        }, Duration.ofSeconds(30), () -> "no mailbridge_mailbox_messages_total=10 with " + labels + " on Kafka "
                + worker + "; scraped: " + (last[0] == null ? "nothing" : last[0].linesStartingWith("mailbridge_")));
        for (String metric : PROMETHEUS_METRICS) {
            assertTrue(last[0].value(metric, labels) != null, metric + " with " + labels + " on Kafka " + worker
                    + "; scraped: " + last[0].linesStartingWith("mailbridge_"));
            assertEquals(1, last[0].samples(metric).size(), metric + ": one series per mailbox");
        }
        assertEquals(0.0, last[0].value("mailbridge_mailbox_backlog", labels), "backlog once all is published");
        assertEquals(0.0, last[0].value("mailbridge_mailbox_failing", labels));
        assertEquals(0.0, last[0].value("mailbridge_mailbox_oldest_pending_age_seconds", labels));
        assertTrue(last[0].value("mailbridge_mailbox_sessions_total", labels) >= 1);
        double lastSuccess = last[0].value("mailbridge_mailbox_last_success_timestamp_seconds", labels);
        assertTrue(Math.abs(lastSuccess - System.currentTimeMillis() / 1000.0) < 600,
                "a Unix time in seconds: " + lastSuccess);
        Map<String, String> task = Map.of("connector", connector, "task", "0");
        for (String metric : List.of("mailbridge_task_mailboxes", "mailbridge_task_mailboxes_failing",
                "mailbridge_task_messages_total", "mailbridge_task_backlog", "mailbridge_task_oldest_pending_age_seconds",
                "mailbridge_task_sessions_open")) {
            assertTrue(last[0].value(metric, task) != null, metric + " with " + task + " on Kafka " + worker
                    + "; scraped: " + last[0].linesStartingWith("mailbridge_task"));
        }
        assertEquals(10.0, last[0].value("mailbridge_task_messages_total", task), "the task's total");
        assertEquals(1.0, last[0].value("mailbridge_task_mailboxes", task));
    }

    private static void await(Callable<Boolean> condition, Duration timeout,
                              java.util.function.Supplier<String> message) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception lastError = null;
        while (System.nanoTime() < deadline) {
            try {
                if (condition.call()) {
                    return;
                }
            } catch (IOException | javax.management.JMException e) {
                lastError = e; // endpoint not up yet, MBean not registered yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError(message.get() + (lastError == null ? "" : "; last error: " + lastError));
    }

    private static int countOccurrences(String text, String needle) {
        int count = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            count++;
        }
        return count;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The UIDL in a record key, {@code <mailbox id>/<uidl>}. */
    private static String uidOf(String key, String mailboxId) {
        assertTrue(key.startsWith(mailboxId + "/"), key);
        return key.substring(mailboxId.length() + 1);
    }

    private static List<String> keys(String topic, int expected, Duration timeout) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + System.nanoTime());
        List<String> keys = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = kafka.createConsumerAndSubscribeTo(props, topic)) {
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
