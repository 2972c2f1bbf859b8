package io.mailbridge.pop3.mailbox;

import io.mailbridge.pop3.metrics.MetricsRegistry;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Gauge;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Per-mailbox counters, published with the tag {@code mailbox=<id>} through the task's {@link MetricsRegistry}: the
 * worker's plugin metrics (KIP-877, Kafka 4.1+), or on older workers the connector's own JMX registry under the same
 * MBean names.
 */
public final class MailboxMetrics implements AutoCloseable {

    private final AtomicLong messages = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong deleted = new AtomicLong();
    private final AtomicLong sessions = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong failing = new AtomicLong();
    private final AtomicLong lastSuccessMs = new AtomicLong();
    private final AtomicLong lastPollMs = new AtomicLong();
    private final AtomicLong sessionOpen = new AtomicLong();
    private final AtomicLong sessionStartMs = new AtomicLong();
    private final AtomicLong lastSessionMs = new AtomicLong();
    private final AtomicLong backlog = new AtomicLong();
    /** When the oldest message not yet published was first listed; 0 when there is none. */
    private final AtomicLong oldestPendingSinceMs = new AtomicLong();
    private volatile String oldestPendingUid;
    private final MetricsRegistry registry;
    private final List<MetricName> names = new ArrayList<>();

    /** @param registry where the metrics go; null keeps them in this object only */
    public MailboxMetrics(MetricsRegistry registry, String mailboxId) {
        this.registry = registry;
        if (registry != null) {
            LinkedHashMap<String, String> tags = new LinkedHashMap<>();
            tags.put("mailbox", mailboxId);
            gauge(tags, "messages-total", "Messages published", messages::get);
            gauge(tags, "bytes-total", "Octets of the messages published", bytes::get);
            gauge(tags, "deleted-total", "Messages deleted on the server after Kafka acknowledged them", deleted::get);
            gauge(tags, "sessions-total", "POP3 sessions that completed", sessions::get);
            gauge(tags, "failures-total", "POP3 sessions that failed", failures::get);
            gauge(tags, "failing", "1 while the mailbox fails with an error that needs attention", failing::get);
            gauge(tags, "last-success-timestamp-ms", "When the last session completed", lastSuccessMs::get);
            gauge(tags, "last-poll-timestamp-ms", "When the last session started", lastPollMs::get);
            gauge(tags, "session-open", "1 while a POP3 session of the mailbox is open", sessionOpen::get);
            gauge(tags, "session-duration-ms", "How long the last session took", lastSessionMs::get);
            gauge(tags, "backlog", "Messages listed by the server and not yet published", backlog::get);
            gauge(tags, "oldest-pending-age-ms", "How long the oldest message not yet published has been listed",
                    this::oldestPendingAgeMs);
        }
    }

    private void gauge(LinkedHashMap<String, String> tags, String name, String doc, Supplier<Long> value) {
        MetricName metricName = registry.metricName(name, doc, tags);
        Gauge<Long> gauge = (config, now) -> value.get();
        try {
            registry.addMetric(metricName, gauge);
        } catch (IllegalArgumentException alreadyRegistered) {
            // a previous instance of this task that the worker abandoned still holds the name: take it over
            registry.removeMetric(metricName);
            registry.addMetric(metricName, gauge);
        }
        names.add(metricName);
    }

    void sessionStarted(long nowMs) {
        lastPollMs.set(nowMs);
        sessionStartMs.set(nowMs);
        sessionOpen.set(1);
    }

    void sessionEnded(long nowMs) {
        if (sessionOpen.getAndSet(0) == 1) {
            lastSessionMs.set(Math.max(0, nowMs - sessionStartMs.get()));
        }
    }

    void published(int messageCount, long byteCount) {
        messages.addAndGet(messageCount);
        bytes.addAndGet(byteCount);
        if (backlog.get() > 0) {
            backlog.addAndGet(-messageCount);
        }
    }

    /** What the latest listing holds that is not published yet, and the UIDL of the oldest of it. */
    void backlog(int pending, String oldestUid, long nowMs) {
        backlog.set(pending);
        if (oldestUid == null) {
            oldestPendingUid = null;
            oldestPendingSinceMs.set(0);
        } else if (!oldestUid.equals(oldestPendingUid)) {
            oldestPendingUid = oldestUid;
            oldestPendingSinceMs.set(nowMs);
        }
    }

    private long oldestPendingAgeMs() {
        long since = oldestPendingSinceMs.get();
        return since == 0 ? 0 : Math.max(0, System.currentTimeMillis() - since);
    }

    void sessionSucceeded(int deletedCount, long nowMs) {
        deleted.addAndGet(deletedCount);
        sessions.incrementAndGet();
        failing.set(0);
        lastSuccessMs.set(nowMs);
    }

    void sessionFailed(boolean needsAttention, long nowMs) {
        failures.incrementAndGet();
        failing.set(needsAttention ? 1 : 0);
    }

    public long messages() {
        return messages.get();
    }

    public long failures() {
        return failures.get();
    }

    @Override
    public void close() {
        if (registry != null) {
            for (MetricName name : names) {
                registry.removeMetric(name);
            }
        }
    }
}
