package io.mailbridge.pop3.mailbox;

import io.mailbridge.pop3.metrics.MetricsRegistry;
import io.mailbridge.pop3.metrics.RegisteredMetrics;

import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.Gauge;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Totals over the mailboxes of one task, published through the task's plugin metrics without a {@code mailbox}
 * tag. They cost the same whatever the number of mailboxes (each read sums the mailboxes' counters), so they are
 * registered always, and they are what a task with more mailboxes than {@code metrics.per.mailbox.max} reports
 * besides the metrics of its failing mailboxes.
 */
public final class TaskMetrics implements AutoCloseable {

    private final MetricsRegistry pluginMetrics;
    private final List<MailboxMetrics> mailboxes;
    private final RegisteredMetrics registered;

    public TaskMetrics(MetricsRegistry pluginMetrics, List<MailboxMetrics> mailboxes) {
        this.pluginMetrics = pluginMetrics;
        this.mailboxes = List.copyOf(mailboxes);
        this.registered = pluginMetrics == null ? null : new RegisteredMetrics(pluginMetrics, 10);
        if (pluginMetrics == null) {
            return;
        }
        gauge("mailboxes", "Mailboxes this task polls", m -> 1);
        gauge("mailboxes-failing", "Mailboxes failing with an error that needs attention", m -> m.failing() ? 1 : 0);
        gauge("messages-total", "Messages published, all mailboxes of the task", MailboxMetrics::messages);
        gauge("bytes-total", "Octets of the messages published, all mailboxes of the task", MailboxMetrics::bytes);
        gauge("deleted-total", "Messages deleted on the server, all mailboxes of the task", MailboxMetrics::deleted);
        gauge("sessions-total", "POP3 sessions that completed, all mailboxes of the task", MailboxMetrics::sessions);
        gauge("failures-total", "POP3 sessions that failed, all mailboxes of the task", MailboxMetrics::failures);
        gauge("sessions-open", "POP3 sessions open now", m -> m.sessionOpen() ? 1 : 0);
        gauge("backlog", "Messages listed and not yet published, all mailboxes of the task",
                MailboxMetrics::backlogCount);
        LinkedHashMap<String, String> none = new LinkedHashMap<>();
        MetricName oldest = pluginMetrics.metricName("oldest-pending-age-ms",
                "How long the oldest message not yet published, of any mailbox of the task, has been listed", none);
        add(oldest, (config, now) -> {
            long max = 0;
            for (MailboxMetrics m : this.mailboxes) {
                max = Math.max(max, m.oldestPendingAgeMs());
            }
            return max;
        });
    }

    private void gauge(String name, String doc, ToLongFunction<MailboxMetrics> value) {
        MetricName metricName = pluginMetrics.metricName(name, doc, new LinkedHashMap<>());
        add(metricName, (config, now) -> {
            long sum = 0;
            for (MailboxMetrics m : mailboxes) {
                sum += value.applyAsLong(m);
            }
            return sum;
        });
    }

    private void add(MetricName name, Gauge<Long> gauge) {
        registered.add(name, gauge);
    }

    /** Registers what an abandoned copy of the task held at start, once it let go; cheap when nothing is pending. */
    public void retryPending() {
        if (registered != null) {
            registered.retryPending();
        }
    }

    @Override
    public void close() {
        if (registered != null) {
            registered.removeAll();
        }
    }
}
