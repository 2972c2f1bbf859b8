package io.mailbridge.pop3.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.util.clusters.EmbeddedConnectCluster;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * A real KRaft broker and a real Connect worker, in-process, with the connector loaded through its
 * {@code META-INF/services} entry (as {@code plugin.discovery=service_load} requires of a shipped plugin).
 */
public final class ConnectCluster implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final EmbeddedConnectCluster connect;

    private ConnectCluster(EmbeddedConnectCluster connect) {
        this.connect = connect;
    }

    public static ConnectCluster start(String name, int workers) {
        return start(name, workers, Map.of());
    }

    public static ConnectCluster start(String name, int workers, Map<String, String> extraWorkerProps) {
        Map<String, String> workerProps = new HashMap<>();
        workerProps.put("plugin.discovery", "service_load");
        workerProps.put("offset.flush.interval.ms", "500");
        workerProps.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
        workerProps.put("value.converter", "org.apache.kafka.connect.json.JsonConverter");
        workerProps.put("value.converter.schemas.enable", "false");
        workerProps.putAll(extraWorkerProps);
        EmbeddedConnectCluster cluster = new EmbeddedConnectCluster.Builder()
                .name(name)
                .numWorkers(workers)
                .numBrokers(1)
                .brokerProps(brokerProps())
                .workerProps(workerProps)
                .build();
        cluster.start();
        return new ConnectCluster(cluster);
    }

    /** Topics appear when first written, as on most development brokers. */
    public static java.util.Properties brokerProps() {
        java.util.Properties props = new java.util.Properties();
        props.put("auto.create.topics.enable", "true");
        return props;
    }

    public EmbeddedConnectCluster connect() {
        return connect;
    }

    public String bootstrapServers() {
        return connect.kafka().bootstrapServers();
    }

    public void createConnector(String name, Map<String, String> config) {
        connect.configureConnector(name, config);
    }

    public void awaitRunning(String name, int tasks) throws InterruptedException {
        connect.assertions().assertConnectorAndExactlyNumTasksAreRunning(name, tasks,
                "connector " + name + " did not start");
    }

    public ConnectorStateInfo status(String name) {
        return connect.connectorStatus(name);
    }

    /** Reads the topic from the beginning until {@code expected} records arrived or the time is up. */
    public List<ConsumerRecord<String, String>> consume(String topic, int expected, Duration timeout) {
        return consume(topic, expected, timeout, "read_uncommitted");
    }

    public List<ConsumerRecord<String, String>> consume(String topic, int expected, Duration timeout,
                                                        String isolation) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + System.nanoTime());
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = connect.kafka().createConsumerAndSubscribeTo(props, topic)) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<byte[], byte[]> r : batch) {
                    out.add(new ConsumerRecord<>(r.topic(), r.partition(), r.offset(), r.timestamp(),
                            r.timestampType(), r.serializedKeySize(), r.serializedValueSize(),
                            r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8),
                            r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8),
                            r.headers(), r.leaderEpoch()));
                }
            }
        }
        return out;
    }

    /** Every record in the topic once nothing new arrived for {@code quiet}. */
    public List<ConsumerRecord<String, String>> consumeAll(String topic, Duration quiet) {
        return consume(topic, Integer.MAX_VALUE, quiet);
    }

    /** The committed offsets of a connector, from {@code GET /connectors/{name}/offsets}. */
    public Map<Map<String, Object>, Map<String, Object>> committedOffsets(String connector) {
        Map<Map<String, Object>, Map<String, Object>> out = new HashMap<>();
        for (ConnectorOffset offset : connect.connectorOffsets(connector).offsets()) {
            out.put(new HashMap<>(offset.partition()), offset.offset() == null ? null : new HashMap<>(offset.offset()));
        }
        return out;
    }

    /** Waits until the committed offset of {@code mailboxId} satisfies {@code condition}; see {@link CommittedOffsets}. */
    public Map<String, Object> awaitCommittedOffset(String connector, String mailboxId,
                                                    Predicate<Map<String, Object>> condition, Duration timeout)
            throws InterruptedException {
        return CommittedOffsets.await(() -> committedOffsets(connector), mailboxId, condition, timeout);
    }

    /** Waits until the worker has committed the offset of the record of {@code uidl}, the newest of its mailbox. */
    public Map<String, Object> awaitCommittedUidl(String connector, String mailboxId, String uidl, Duration timeout)
            throws InterruptedException {
        return awaitCommittedOffset(connector, mailboxId, CommittedOffsets.uidlIs(uidl), timeout);
    }

    public static JsonNode json(String value) {
        try {
            return JSON.readTree(value);
        } catch (Exception e) {
            throw new AssertionError("Not JSON: " + value, e);
        }
    }

    public static void await(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out after " + timeout + " waiting for: " + what);
            }
            Thread.sleep(100);
        }
    }

    @Override
    public void close() {
        connect.stop();
    }
}
