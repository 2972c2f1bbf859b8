package io.mailbridge.pop3.mailbox;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.internals.PluginMetricsImpl;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MailboxMetricsTest {

    private static long count(Metrics metrics, String mailbox) {
        return metrics.metrics().keySet().stream().filter(n -> mailbox.equals(n.tags().get("mailbox"))).count();
    }

    private static Object value(Metrics metrics, String name) {
        for (Map.Entry<MetricName, ? extends org.apache.kafka.common.Metric> e : metrics.metrics().entrySet()) {
            if (e.getKey().name().equals(name) && !e.getKey().tags().containsKey("mailbox")) {
                return e.getValue().metricValue();
            }
        }
        throw new AssertionError("no task metric " + name);
    }

    /** The value of metric {@code name} of {@code mailbox}, or of the task's total when {@code mailbox} is null. */
    private static Object value(Metrics metrics, String name, String mailbox) {
        for (Map.Entry<MetricName, ? extends org.apache.kafka.common.Metric> e : metrics.metrics().entrySet()) {
            if (e.getKey().name().equals(name) && java.util.Objects.equals(mailbox, e.getKey().tags().get("mailbox"))) {
                return e.getValue().metricValue();
            }
        }
        throw new AssertionError("no metric " + name + " of " + mailbox);
    }

    @Test
    void metricsOfAMailboxInALargeTaskAppearOnlyWhileItFails() {
        try (Metrics metrics = new Metrics()) {
            io.mailbridge.pop3.metrics.MetricsRegistry plugin =
                    io.mailbridge.pop3.metrics.WorkerPluginMetrics.wrap(new PluginMetricsImpl(metrics, new LinkedHashMap<>(Map.of("task", "0"))));
            MailboxMetrics m = new MailboxMetrics(plugin, "a", false);
            assertEquals(0, count(metrics, "a"), "an idle mailbox of a large task registers nothing");
            m.sessionFailed(true, 1);
            assertEquals(12, count(metrics, "a"), "a mailbox that needs attention shows up with all its metrics");
            m.sessionFailed(false, 2);
            assertEquals(0, count(metrics, "a"), "a transient failure is not one that needs attention");
            m.sessionFailed(true, 3);
            m.sessionSucceeded(0, 4);
            assertFalse(m.registered());
            assertEquals(0, count(metrics, "a"));
        }
    }

    @Test
    void metricsOfAMailboxInASmallTaskStayRegistered() {
        try (Metrics metrics = new Metrics()) {
            io.mailbridge.pop3.metrics.MetricsRegistry plugin =
                    io.mailbridge.pop3.metrics.WorkerPluginMetrics.wrap(new PluginMetricsImpl(metrics, new LinkedHashMap<>(Map.of("task", "0"))));
            MailboxMetrics m = new MailboxMetrics(plugin, "a");
            assertEquals(12, count(metrics, "a"));
            m.sessionSucceeded(0, 1);
            assertTrue(m.registered());
            m.close();
            assertEquals(0, count(metrics, "a"));
        }
    }

    @Test
    void taskTotalsSumItsMailboxes() {
        try (Metrics metrics = new Metrics()) {
            io.mailbridge.pop3.metrics.MetricsRegistry plugin =
                    io.mailbridge.pop3.metrics.WorkerPluginMetrics.wrap(new PluginMetricsImpl(metrics, new LinkedHashMap<>(Map.of("task", "0"))));
            MailboxMetrics a = new MailboxMetrics(plugin, "a", false);
            MailboxMetrics b = new MailboxMetrics(plugin, "b", false);
            TaskMetrics task = new TaskMetrics(plugin, List.of(a, b));
            a.published(2, 200);
            b.published(1, 50);
            b.sessionFailed(true, 1);
            assertEquals(2L, value(metrics, "mailboxes"));
            assertEquals(3L, value(metrics, "messages-total"));
            assertEquals(250L, value(metrics, "bytes-total"));
            assertEquals(1L, value(metrics, "mailboxes-failing"));
            task.close();
        }
    }

    /**
     * A worker that abandons a task copy whose stop timed out starts a new copy while the old one still holds its
     * metric names, each copy with its own plugin metrics over the worker's one registry: the new copy must start
     * (metrics never fail a task) and take the names once the old copy closes.
     */
    @Test
    void aNewTaskCopyStartsWhileAnAbandonedCopyHoldsTheNamesAndTakesThemOnceItCloses() {
        try (Metrics metrics = new Metrics()) {
            Map<String, String> tags = Map.of("connector", "c", "task", "0");
            io.mailbridge.pop3.metrics.MetricsRegistry oldCopy = io.mailbridge.pop3.metrics.WorkerPluginMetrics.wrap(
                    new PluginMetricsImpl(metrics, new LinkedHashMap<>(tags)));
            io.mailbridge.pop3.metrics.MetricsRegistry newCopy = io.mailbridge.pop3.metrics.WorkerPluginMetrics.wrap(
                    new PluginMetricsImpl(metrics, new LinkedHashMap<>(tags)));
            MailboxMetrics old = new MailboxMetrics(oldCopy, "a", true);
            TaskMetrics oldTotals = new TaskMetrics(oldCopy, List.of(old));
            old.published(5, 500);

            MailboxMetrics fresh = new MailboxMetrics(newCopy, "a", true);
            TaskMetrics freshTotals = new TaskMetrics(newCopy, List.of(fresh));
            fresh.published(1, 100);
            assertEquals(5L, value(metrics, "messages-total", "a"), "the old copy's gauge until it closes");

            old.close();
            oldTotals.close();
            fresh.sessionStarted(System.currentTimeMillis());
            freshTotals.retryPending();
            assertEquals(1L, value(metrics, "messages-total", "a"), "the new copy's gauge once the old one closed");
            assertEquals(1L, value(metrics, "messages-total", null), "the new copy's task total");
            fresh.close();
            freshTotals.close();
            assertEquals(0, count(metrics, "a"));
        }
    }
}
