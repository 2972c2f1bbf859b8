package io.mailbridge.pop3.testing;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a topic from the beginning without a consumer group (assign + seek, so no rebalance wait), turning keys
 * and values into strings. Each call starts a fresh read.
 */
public final class TopicReader {

    private TopicReader() {
    }

    /** Reads until at least {@code expected} records arrived or the time is up; returns all read. */
    public static List<ConsumerRecord<String, String>> await(ConnectCluster cluster, String topic, int expected,
                                                             Duration timeout) {
        return read(cluster, topic, expected, timeout, null);
    }

    /** Every record in the topic once nothing new arrived for {@code quiet} (at most a minute). */
    public static List<ConsumerRecord<String, String>> readAll(ConnectCluster cluster, String topic, Duration quiet) {
        return read(cluster, topic, Integer.MAX_VALUE, Duration.ofSeconds(60), quiet);
    }

    private static List<ConsumerRecord<String, String>> read(ConnectCluster cluster, String topic, int expected,
                                                            Duration timeout, Duration quiet) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        try (KafkaConsumer<byte[], byte[]> consumer = cluster.connect().kafka().createConsumer(props)) {
            List<TopicPartition> partitions = new ArrayList<>();
            while (partitions.isEmpty()) {
                List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
                if (infos != null) {
                    for (PartitionInfo info : infos) {
                        partitions.add(new TopicPartition(topic, info.partition()));
                    }
                }
                if (partitions.isEmpty()) {
                    if (System.nanoTime() > deadline) {
                        return out;
                    }
                    sleep(100);
                }
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long lastArrival = System.nanoTime();
            while (out.size() < expected && System.nanoTime() < deadline) {
                int before = out.size();
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    out.add(new ConsumerRecord<>(r.topic(), r.partition(), r.offset(), r.timestamp(),
                            r.timestampType(), r.serializedKeySize(), r.serializedValueSize(),
                            r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8),
                            r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8),
                            r.headers(), r.leaderEpoch()));
                }
                if (out.size() > before) {
                    lastArrival = System.nanoTime();
                } else if (quiet != null && System.nanoTime() - lastArrival > quiet.toNanos()) {
                    break;
                }
            }
        }
        return out;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
