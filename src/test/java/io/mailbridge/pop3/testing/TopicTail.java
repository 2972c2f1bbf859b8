package io.mailbridge.pop3.testing;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Reads one topic from the beginning with a chosen isolation level, without a consumer group, and keeps every
 * record it saw (partition, offset, key, value), so a test can count duplicates and losses, and compare what was
 * committed up to a given moment ({@link #endOffsets()} is the last stable offset under {@code read_committed})
 * with what a POP3 server still holds.
 */
public final class TopicTail implements AutoCloseable {

    /** One record as read. */
    public record Seen(int partition, long offset, String key, String value) {
    }

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final List<TopicPartition> partitions = new ArrayList<>();
    private final List<Seen> seen = new ArrayList<>();

    public TopicTail(String bootstrapServers, String topic, String isolationLevel) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolationLevel);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        while ((infos == null || infos.isEmpty()) && System.nanoTime() < deadline) {
            sleep(200);
            infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        }
        if (infos == null || infos.isEmpty()) {
            consumer.close();
            throw new IllegalStateException("topic " + topic + " has no partitions");
        }
        for (PartitionInfo info : infos) {
            partitions.add(new TopicPartition(topic, info.partition()));
        }
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
    }

    /** Polls once; returns how many records arrived. */
    public int poll(Duration timeout) {
        int n = 0;
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
            seen.add(new Seen(r.partition(), r.offset(),
                    r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8),
                    r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8)));
            n++;
        }
        return n;
    }

    /** Polls until {@code done} holds for this tail or the time is up; returns whether it holds. */
    public boolean pollUntil(Predicate<TopicTail> done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.test(this)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            poll(Duration.ofMillis(100));
        }
        return true;
    }

    /** Polls until nothing new arrived for {@code quiet} (at most {@code max} in all). */
    public void pollUntilQuiet(Duration quiet, Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        long quietSince = System.nanoTime();
        while (System.nanoTime() < deadline && System.nanoTime() - quietSince < quiet.toNanos()) {
            if (poll(Duration.ofMillis(100)) > 0) {
                quietSince = System.nanoTime();
            }
        }
    }

    /** End offsets now: under {@code read_committed} the last stable offset (nothing before it is undecided). */
    public Map<TopicPartition, Long> endOffsets() {
        return new LinkedHashMap<>(consumer.endOffsets(partitions, Duration.ofSeconds(30)));
    }

    /** Polls until this tail's position reached {@code ends} in every partition. */
    public void catchUp(Map<TopicPartition, Long> ends, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            boolean done = true;
            for (TopicPartition tp : partitions) {
                if (consumer.position(tp, Duration.ofSeconds(30)) < ends.getOrDefault(tp, 0L)) {
                    done = false;
                    break;
                }
            }
            if (done) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("consumer did not reach " + ends + " within " + timeout);
            }
            poll(Duration.ofMillis(100));
        }
    }

    /** Distinct keys among the records below {@code ends} (per partition). */
    public int distinctKeysBelow(Map<TopicPartition, Long> ends) {
        Set<String> keys = new HashSet<>();
        for (Seen s : seen) {
            if (s.offset() < ends.getOrDefault(new TopicPartition(partitions.get(0).topic(), s.partition()), 0L)) {
                keys.add(s.key());
            }
        }
        return keys.size();
    }

    public List<Seen> records() {
        return seen;
    }

    public int size() {
        return seen.size();
    }

    public Set<String> distinctKeys() {
        Set<String> keys = new HashSet<>();
        for (Seen s : seen) {
            keys.add(s.key());
        }
        return keys;
    }

    /** Keys seen more than once, with their counts. */
    public Map<String, Integer> duplicatedKeys() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Seen s : seen) {
            counts.merge(s.key(), 1, Integer::sum);
        }
        counts.values().removeIf(c -> c < 2);
        return counts;
    }

    @Override
    public void close() {
        consumer.close();
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
