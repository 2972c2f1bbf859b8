package io.mailbridge.pop3;

import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.config.Security;
import io.mailbridge.pop3.mailbox.MailboxFailure;
import io.mailbridge.pop3.mailbox.MailboxMetrics;
import io.mailbridge.pop3.mailbox.MailboxPoller;
import io.mailbridge.pop3.mailbox.MailboxScheduler;
import io.mailbridge.pop3.mailbox.RecordQueue;
import io.mailbridge.pop3.mailbox.TaskMetrics;
import io.mailbridge.pop3.mailbox.PollerOptions;
import io.mailbridge.pop3.metrics.MetricsRegistry;
import io.mailbridge.pop3.offset.OffsetKeys;
import io.mailbridge.pop3.offset.UidlOffset;
import io.mailbridge.pop3.record.MessageMapper;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Polls the mailboxes assigned to it: their POP3 sessions run concurrently on a bounded set of threads
 * ({@code sessions.per.task}), each handing its records to a queue bounded in records and bytes as soon as they are
 * mapped; {@link #poll()} only drains that queue, so it never waits for a session to end.
 *
 * <p>A mailbox that fails with an error retrying cannot fix (wrong password, untrusted certificate, ...) fails the
 * task when it is the task's only mailbox, so the Connect status API shows it; in a task with several mailboxes it
 * is retried with a long back-off while the others go on.
 */
public class Pop3SourceTask extends SourceTask {

    private static final Logger log = LoggerFactory.getLogger(Pop3SourceTask.class);
    /** poll() returns at least this often, so the worker regains control (it stops a task only between polls). */
    private static final long MAX_WAIT_MS = 500;
    private static final int MAX_POLL_RECORDS = 2_000;
    /** stop() waits this long for the sessions to end; Connect's graceful shutdown allows 5 s. */
    private static final long STOP_WAIT_MS = 4_000;
    /** Connect puts the connector's name in its config, so in every task config made from it. */
    private static final String CONNECTOR_NAME_CONFIG = "name";
    /** A task of more mailboxes logs one summary line at start instead of one line per mailbox (at DEBUG then). */
    private static final int MAX_MAILBOX_START_LINES = 20;

    private final Map<String, MailboxPoller> pollers = new LinkedHashMap<>();
    private final List<MailboxMetrics> metrics = new ArrayList<>();
    private TaskMetrics taskMetrics;
    private RecordQueue queue;
    private MailboxScheduler scheduler;

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        Pop3SourceConnectorConfig config = new Pop3SourceConnectorConfig(props);
        String assigned = props.get(Pop3SourceConnectorConfig.TASK_MAILBOXES_CONFIG);
        Set<String> ids = assigned == null ? null : new HashSet<>(Arrays.asList(assigned.split(",")));
        List<MailboxSettings> mailboxes = new ArrayList<>();
        for (MailboxSettings m : config.mailboxes()) {
            if (ids == null || ids.contains(m.id())) {
                mailboxes.add(m);
            }
        }
        if (mailboxes.isEmpty()) {
            throw new ConnectException("Task was assigned no known mailbox: " + assigned);
        }
        List<Map<String, Object>> partitions = new ArrayList<>();
        for (MailboxSettings m : mailboxes) {
            partitions.add(OffsetKeys.partition(m.id()));
        }
        Map<Map<String, Object>, Map<String, Object>> offsets =
                context.offsetStorageReader().offsets(partitions);
        PollerOptions options = PollerOptions.from(config);
        MetricsRegistry metricsRegistry = MetricsRegistry.forTask(context, props.getOrDefault(CONNECTOR_NAME_CONFIG, ""),
                Integer.parseInt(props.getOrDefault(Pop3SourceConnectorConfig.TASK_ID_CONFIG, "0")));
        boolean perMailboxMetrics = mailboxes.size() <= config.metricsPerMailboxMax();
        if (!perMailboxMetrics) {
            log.info("Task of {} mailboxes, more than {}={}: per-mailbox metrics are registered only for failing"
                    + " mailboxes; the task totals cover all", mailboxes.size(),
                    Pop3SourceConnectorConfig.METRICS_PER_MAILBOX_MAX_CONFIG, config.metricsPerMailboxMax());
        }
        MessageMapper mapper = new MessageMapper(config.attachments(), config.includeRaw());
        int fresh = 0;
        List<String> clearText = new ArrayList<>();
        for (MailboxSettings m : mailboxes) {
            Map<String, Object> committed = offsets == null ? null : offsets.get(OffsetKeys.partition(m.id()));
            UidlOffset offset;
            try {
                offset = UidlOffset.fromMap(committed);
            } catch (IllegalArgumentException e) {
                throw new ConnectException("Mailbox " + m.id() + ": the committed offset cannot be read (" + e.getMessage()
                        + "); reset or alter it through the Connect offsets REST API", e);
            }
            MailboxMetrics mailboxMetrics = new MailboxMetrics(metricsRegistry, m.id(), perMailboxMetrics);
            metrics.add(mailboxMetrics);
            pollers.put(m.id(), new MailboxPoller(m, options, mapper, offset, mailboxMetrics));
            if (m.security() == Security.NONE && mailboxes.size() > MAX_MAILBOX_START_LINES) {
                clearText.add(m.id());
            } else if (m.security() == Security.NONE) {
                log.warn("Mailbox {}: pop3.security=none: the user name{} and all mail travel unencrypted to {}:{};"
                        + " use tls or starttls", m.id(), m.authMechanisms().equals(List.of("APOP"))
                        ? " (with APOP only a digest of the password)" : ", the password or token", m.host(), m.port());
            }
            if (offset == null) {
                fresh++;
            }
            if (log.isInfoEnabled() && mailboxes.size() <= MAX_MAILBOX_START_LINES || log.isDebugEnabled()) {
                String line = offset == null
                        ? "with no committed offset (start.from=" + options.startFrom().configValue() + ")"
                        : "after UIDL " + offset.uidl();
                if (mailboxes.size() <= MAX_MAILBOX_START_LINES) {
                    log.info("Mailbox {}: starting {}", m.id(), line);
                } else {
                    log.debug("Mailbox {}: starting {}", m.id(), line);
                }
            }
        }
        if (!clearText.isEmpty()) {
            log.warn("{} of this task's {} mailboxes use pop3.security=none ({}{}): their user names, passwords or"
                    + " tokens and all their mail travel unencrypted; use tls or starttls", clearText.size(),
                    mailboxes.size(), String.join(", ", clearText.subList(0, Math.min(5, clearText.size()))),
                    clearText.size() > 5 ? ", ..." : "");
        }
        if (mailboxes.size() > MAX_MAILBOX_START_LINES) {
            log.info("Starting {} mailboxes, from {} to {}: {} with no committed offset (start.from={}), the others"
                    + " after their committed UIDL (one line each at DEBUG)", mailboxes.size(), mailboxes.get(0).id(),
                    mailboxes.get(mailboxes.size() - 1).id(), fresh, options.startFrom().configValue());
        }
        taskMetrics = new TaskMetrics(metricsRegistry, metrics);
        String taskId = mailboxes.size() == 1 ? mailboxes.get(0).id()
                : mailboxes.get(0).id() + "+" + (mailboxes.size() - 1);
        queue = new RecordQueue(config.queueMaxRecords(), config.queueMaxBytes());
        scheduler = new MailboxScheduler("mailbridge-" + taskId, new ArrayList<>(pollers.values()),
                config.sessionsPerTask(), queue, config.sessionTimeoutMs());
        scheduler.start();
    }

    /**
     * Returns the records the sessions made since the last call, waiting up to half a second for the first; null
     * when none came. A failure that must stop the task is raised once the records before it are returned.
     */
    @Override
    public List<SourceRecord> poll() throws InterruptedException {
        List<SourceRecord> records = queue.drain(MAX_POLL_RECORDS, MAX_WAIT_MS);
        TaskMetrics totals = taskMetrics;
        if (totals != null) {
            totals.retryPending();
        }
        if (records.isEmpty()) {
            MailboxFailure failure = scheduler.fatal();
            if (failure != null) {
                throw failure;
            }
            return null;
        }
        return records;
    }

    @Override
    public void commitRecord(SourceRecord record, RecordMetadata metadata) {
        Object mailbox = record.sourcePartition().get(OffsetKeys.MAILBOX);
        MailboxPoller poller = pollers.get(String.valueOf(mailbox));
        Object uid = record.sourceOffset().get(OffsetKeys.UIDL);
        if (poller != null && uid != null) {
            // null metadata: an SMT or errors.tolerance dropped the record; never a reason to delete the mail
            poller.acked(uid.toString(), metadata != null);
            scheduler.wake();
        }
    }

    @Override
    public void stop() {
        if (scheduler != null) {
            scheduler.stop(STOP_WAIT_MS);
        }
        for (MailboxMetrics m : metrics) {
            m.close();
        }
        if (taskMetrics != null) {
            taskMetrics.close();
        }
    }
}
