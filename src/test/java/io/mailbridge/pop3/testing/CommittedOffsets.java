package io.mailbridge.pop3.testing;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Waits on what the Connect REST API reports as committed ({@code GET /connectors/{name}/offsets}, Kafka 3.5+), the
 * observable state that "the worker has committed the offsets" means, instead of sleeping past
 * {@code offset.flush.interval.ms}.
 */
public final class CommittedOffsets {

    /** Reads the committed offsets of one connector: source partition to offset. */
    @FunctionalInterface
    public interface Reader {
        Map<Map<String, Object>, Map<String, Object>> read() throws Exception;
    }

    private CommittedOffsets() {
    }

    /** An offset whose newest published UIDL is {@code uidl}. */
    public static Predicate<Map<String, Object>> uidlIs(String uidl) {
        Objects.requireNonNull(uidl, "uidl");
        return offset -> uidl.equals(offset.get("uidl"));
    }

    /** The committed offset of {@code mailboxId} among {@code offsets} (partition to offset), or null. */
    public static Map<String, Object> of(Map<Map<String, Object>, Map<String, Object>> offsets, String mailboxId) {
        for (Map.Entry<Map<String, Object>, Map<String, Object>> e : offsets.entrySet()) {
            if (mailboxId.equals(e.getKey().get("mailbox"))) {
                return e.getValue();
            }
        }
        return null;
    }

    /**
     * Polls {@code reader} until the committed offset of {@code mailboxId} satisfies {@code condition}, and returns
     * it; fails with the last offset seen when {@code timeout} passes first. A REST error (the connector is being
     * restarted, say) counts as "not yet".
     */
    public static Map<String, Object> await(Reader reader, String mailboxId, Predicate<Map<String, Object>> condition,
                                            Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Object last = null;
        while (true) {
            try {
                Map<String, Object> offset = of(reader.read(), mailboxId);
                if (offset != null && condition.test(offset)) {
                    return offset;
                }
                last = offset;
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out after " + timeout + " waiting for the committed offset of "
                        + mailboxId + "; last seen: " + last);
            }
            Thread.sleep(100);
        }
    }
}
