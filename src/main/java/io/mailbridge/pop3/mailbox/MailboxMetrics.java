package io.mailbridge.pop3.mailbox;

import io.mailbridge.pop3.metrics.MetricsRegistry;
import io.mailbridge.pop3.metrics.RegisteredMetrics;
import org.apache.kafka.common.metrics.Gauge;

import java.util.LinkedHashMap;
import java.util.function.LongSupplier;

/**
 * Per-mailbox counters, published with the tag {@code mailbox=<id>} through the task's {@link MetricsRegistry}: the
 * worker's plugin metrics (KIP-877, Kafka 4.1+), or on older workers the connector's own JMX registry under the same
 * MBean names.
 *
 * <p>Registered metrics are what a mailbox costs most when idle (12 gauges, their names, tags and JMX attributes:
 * about 8 KB of worker heap, against under 1 KB for the counters and the rest of the mailbox), so a task with many
 * mailboxes registers them only while a mailbox is failing ({@code always=false}); {@link TaskMetrics} sums the
 * counters of all its mailboxes. The counters are plain volatile fields: each has one writer at a time, the session
 * of its mailbox (a mailbox never has two sessions at once), and the scheduler hands a mailbox from one session
 * thread to the next under its lock.
 */
public final class MailboxMetrics implements AutoCloseable {

    private volatile long messages;
    private volatile long bytes;
    private volatile long deleted;
    private volatile long sessions;
    private volatile long failures;
    private volatile boolean failing;
    private volatile long lastSuccessMs;
    private volatile long lastPollMs;
    private volatile boolean sessionOpen;
    private volatile long sessionStartMs;
    private volatile long lastSessionMs;
    private volatile long backlog;
    /** When the oldest message not yet published was first listed; 0 when there is none. */
    private volatile long oldestPendingSinceMs;
    private volatile String oldestPendingUid;
    private final MetricsRegistry registry;
    private final String mailboxId;
    private final boolean always;
    /** The registered gauges; null while none are registered. */
    private volatile RegisteredMetrics registered;

    /** Metrics registered for as long as the mailbox's task runs; a null registry keeps them in this object only. */
    public MailboxMetrics(MetricsRegistry registry, String mailboxId) {
        this(registry, mailboxId, true);
    }

    /**
     * @param always register the metrics now and keep them; false registers them only while the mailbox is failing
     */
    public MailboxMetrics(MetricsRegistry registry, String mailboxId, boolean always) {
        this.registry = registry;
        this.mailboxId = mailboxId;
        this.always = always;
        if (always) {
            register();
        }
    }

    /** Whether the gauges of this mailbox are registered now. */
    public boolean registered() {
        return registered != null;
    }

    private synchronized void register() {
        if (registry == null || registered != null) {
            return;
        }
        registered = new RegisteredMetrics(registry, 12);
        LinkedHashMap<String, String> tags = new LinkedHashMap<>();
        tags.put("mailbox", mailboxId);
        gauge(tags, "messages-total", "Messages published", () -> messages);
        gauge(tags, "bytes-total", "Octets of the messages published", () -> bytes);
        gauge(tags, "deleted-total", "Messages deleted on the server after Kafka acknowledged them", () -> deleted);
        gauge(tags, "sessions-total", "POP3 sessions that completed", () -> sessions);
        gauge(tags, "failures-total", "POP3 sessions that failed", () -> failures);
        gauge(tags, "failing", "1 while the mailbox fails with an error that needs attention", () -> failing ? 1 : 0);
        gauge(tags, "last-success-timestamp-ms", "When the last session completed", () -> lastSuccessMs);
        gauge(tags, "last-poll-timestamp-ms", "When the last session started", () -> lastPollMs);
        gauge(tags, "session-open", "1 while a POP3 session of the mailbox is open", () -> sessionOpen ? 1 : 0);
        gauge(tags, "session-duration-ms", "How long the last session took", () -> lastSessionMs);
        gauge(tags, "backlog", "Messages listed by the server and not yet published", () -> backlog);
        gauge(tags, "oldest-pending-age-ms", "How long the oldest message not yet published has been listed",
                this::oldestPendingAgeMs);
    }

    private void gauge(LinkedHashMap<String, String> tags, String name, String doc, LongSupplier value) {
        Gauge<Long> gauge = (config, now) -> value.getAsLong();
        registered.add(registry.metricName(name, doc, tags), gauge);
    }

    private synchronized void unregister() {
        RegisteredMetrics current = registered;
        if (current != null) {
            registered = null;
            current.removeAll();
        }
    }

    void sessionStarted(long nowMs) {
        RegisteredMetrics current = registered;
        if (current != null) {
            current.retryPending(); // names an abandoned copy of the task held at start
        }
        lastPollMs = nowMs;
        sessionStartMs = nowMs;
        sessionOpen = true;
    }

    void sessionEnded(long nowMs) {
        if (sessionOpen) {
            sessionOpen = false;
            lastSessionMs = Math.max(0, nowMs - sessionStartMs);
        }
    }

    void published(int messageCount, long byteCount) {
        messages += messageCount;
        bytes += byteCount;
        if (backlog > 0) {
            backlog = Math.max(0, backlog - messageCount);
        }
    }

    /** What the latest listing holds that is not published yet, and the UIDL of the oldest of it. */
    void backlog(int pending, String oldestUid, long nowMs) {
        backlog = pending;
        if (oldestUid == null) {
            oldestPendingUid = null;
            oldestPendingSinceMs = 0;
        } else if (!oldestUid.equals(oldestPendingUid)) {
            oldestPendingUid = oldestUid;
            oldestPendingSinceMs = nowMs;
        }
    }

    long oldestPendingAgeMs() {
        long since = oldestPendingSinceMs;
        return since == 0 ? 0 : Math.max(0, System.currentTimeMillis() - since);
    }

    void sessionSucceeded(int deletedCount, long nowMs) {
        deleted += deletedCount;
        sessions++;
        failing = false;
        lastSuccessMs = nowMs;
        if (!always && registered != null) {
            unregister();
        }
    }

    void sessionFailed(boolean needsAttention, long nowMs) {
        failures++;
        failing = needsAttention;
        if (!always) {
            if (needsAttention) {
                register();
            } else if (registered != null) {
                unregister();
            }
        }
    }

    public long messages() {
        return messages;
    }

    public long failures() {
        return failures;
    }

    long bytes() {
        return bytes;
    }

    long deleted() {
        return deleted;
    }

    long sessions() {
        return sessions;
    }

    boolean failing() {
        return failing;
    }

    boolean sessionOpen() {
        return sessionOpen;
    }

    long backlogCount() {
        return backlog;
    }

    @Override
    public void close() {
        unregister();
    }
}
