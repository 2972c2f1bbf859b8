package io.mailbridge.pop3.testing;

import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Holds back the broker's acknowledgements of one topic on their way to the Connect worker, with the broker up and
 * the records written: a producer interceptor that, while the gate of the record's topic is closed, blocks in
 * {@code onAcknowledgement}, which the producer calls before the send callback through which Connect learns of the
 * ack (and calls the task's {@code commitRecord}). Blocking there blocks that producer's I/O thread, so no later
 * acknowledgement gets through either. Only in-process workers (EmbeddedConnectCluster) can use it; add it to a
 * connector with {@link #CONFIG_KEY} = {@link #CONFIG_VALUE} (the worker must allow client overrides, as Kafka's
 * default {@code connector.client.config.override.policy=All} does).
 *
 * <p>A test that forgets to open a gate does not hang the worker: an acknowledgement is held at most
 * {@link #MAX_HOLD_SECONDS}.
 */
public final class AckGate implements ProducerInterceptor<byte[], byte[]> {

    public static final String CONFIG_KEY = "producer.override.interceptor.classes";
    public static final String CONFIG_VALUE = AckGate.class.getName();
    static final long MAX_HOLD_SECONDS = 120;

    private static final Map<String, CountDownLatch> CLOSED = new ConcurrentHashMap<>();
    private static final Map<String, AtomicInteger> HELD = new ConcurrentHashMap<>();

    /** Holds back the acknowledgements of {@code topic} from now on. */
    public static void close(String topic) {
        CLOSED.put(topic, new CountDownLatch(1));
    }

    /** Lets the acknowledgements of {@code topic} through, the held one first. */
    public static void open(String topic) {
        CountDownLatch latch = CLOSED.remove(topic);
        if (latch != null) {
            latch.countDown();
        }
    }

    /** Acknowledgements of {@code topic} the broker sent that were held at the gate (the first blocks the rest). */
    public static int held(String topic) {
        AtomicInteger n = HELD.get(topic);
        return n == null ? 0 : n.get();
    }

    @Override
    public ProducerRecord<byte[], byte[]> onSend(ProducerRecord<byte[], byte[]> record) {
        return record;
    }

    @Override
    public void onAcknowledgement(RecordMetadata metadata, Exception exception) {
        if (metadata == null || exception != null) {
            return;
        }
        CountDownLatch latch = CLOSED.get(metadata.topic());
        if (latch == null) {
            return;
        }
        HELD.computeIfAbsent(metadata.topic(), t -> new AtomicInteger()).incrementAndGet();
        try {
            latch.await(MAX_HOLD_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
    }

    @Override
    public void configure(Map<String, ?> configs) {
    }
}
