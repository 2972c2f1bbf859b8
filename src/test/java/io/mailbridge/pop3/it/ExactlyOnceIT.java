package io.mailbridge.pop3.it;

import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.Pop3SessionProxy;
import io.mailbridge.pop3.testing.TopicTail;
import io.mailbridge.pop3.testing.WorkerProcess;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.util.clusters.EmbeddedKafkaCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.mailbridge.pop3.testing.ConnectCluster.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exactly-once delivery across a {@code kill -9} of the Connect worker: a distributed worker in its own JVM with
 * {@code exactly.once.source.support=enabled}, the connector created with {@code exactly.once.support=required} and
 * {@code transaction.boundary=poll}, 2,000 mails on Dovecot fetched 50 per session. The worker is SIGKILLed while
 * records flow, a new worker process takes over, and a {@code read_committed} consumer must see every mail exactly
 * once.
 *
 * <ul>
 *   <li>Keep mode: the kill comes once 520 records are visible to a {@code read_uncommitted} consumer, inside a
 *   batch, so the open transaction is aborted; the mailbox keeps all 2,000 mails.</li>
 *   <li>Delete mode: the kill comes right after the 10th transaction (500 records) committed, before the session
 *   that sends DELE for mails 451-500 has its QUIT accepted (see {@link #KILL_AT_BATCH_BOUNDARY}). The mailbox must
 *   end empty, and no mail may ever be deleted before the transaction holding its record committed (sampled all
 *   along: whenever the mailbox holds {@code m} mails, the committed part of the topic, read up to the last stable
 *   offset taken after {@code m}, already holds at least {@code 2000 - m} distinct mails).</li>
 * </ul>
 */
class ExactlyOnceIT {

    private static final int MAILS = 2000;
    /** Keep mode: kill inside a batch of 50, when its transaction is most likely still open (to be aborted). */
    private static final int KILL_INSIDE_BATCH = 520;
    /**
     * Delete mode: kill once 500 records are committed (a batch boundary) and before the next session, which sends
     * DELE for them, gets its QUIT through. From 450 committed records on, the proxy in front of Dovecot holds every
     * QUIT for 5 s, so the session fetching records 451-500 ends late and the test, seeing them committed, kills the
     * worker while the following session is still before (or inside) its held QUIT: that window every time.
     */
    private static final int KILL_AT_BATCH_BOUNDARY = 500;
    private static final int HOLD_QUIT_FROM = 450;
    private static final long QUIT_HOLD_MS = 5_000;
    private static final Duration WAIT = Duration.ofSeconds(120);
    /** Shorter session timeout than the default 10 s, so the new worker need not wait as long for the dead one. */
    private static final Map<String, String> EOS_WORKER = Map.of(
            "exactly.once.source.support", "enabled",
            "session.timeout.ms", "6000",
            "heartbeat.interval.ms", "1500");

    private static EmbeddedKafkaCluster kafka;
    private static DovecotServer dovecot;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        DovecotServer.requireInstalled();
        // No \Seen flag updates: maildir files are then never renamed inside cur/, so counting them while the
        // connector works cannot miss one (a rename during readdir could).
        dovecot = DovecotServer.builder().user("keep", "pw-keep").user("drain", "pw-drain")
                .extraConfig("pop3_no_flag_updates = yes").build().start();
        Properties broker = ConnectCluster.brokerProps();
        // One broker: transactions need their state log to fit on it.
        broker.put("transaction.state.log.replication.factor", "1");
        broker.put("transaction.state.log.min.isr", "1");
        kafka = new EmbeddedKafkaCluster(1, broker);
        kafka.start();
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.stop();
        }
        if (dovecot != null) {
            dovecot.close();
        }
    }

    @Test
    void keepModeKill9MidStreamLosesAndDuplicatesNothing() throws Exception {
        Result r = killAndRecover("keep", false, KILL_INSIDE_BATCH);
        assertEquals(0, r.duplicates, "duplicates under read_committed: " + r);
        assertEquals(0, r.lost, "lost: " + r);
        assertEquals(MAILS, r.total, r.toString());
        assertEquals(MAILS, dovecot.messageCount("keep"), "keep mode leaves every mail on the server");
    }

    @Test
    void deleteModeKill9MidStreamDeletesOnlyCommittedAndPublishesEachOnce() throws Exception {
        Result r = killAndRecover("drain", true, KILL_AT_BATCH_BOUNDARY);
        assertEquals(0, r.lost, "lost: " + r);
        ConnectCluster.await(() -> dovecot.messageCount("drain") == 0, WAIT, "the mailbox empties");
        assertTrue(r.samples > 50, "the deletion sampler ran: " + r);
        assertEquals(0, r.deletedBeforeCommit, "a mail was deleted before its transaction committed: " + r);
        assertEquals(0, r.duplicates, "duplicates under read_committed: " + r);
        assertEquals(MAILS, r.total, r.toString());
    }

    private Result killAndRecover(String user, boolean deleteAfterAck, int killAfter) throws Exception {
        List<byte[]> mails = new ArrayList<>();
        for (int i = 0; i < MAILS; i++) {
            mails.add(Mails.numbered(i));
        }
        dovecot.deliver(user, mails);
        String topic = "eos-" + user;
        String name = "eos-" + user;
        kafka.createTopic(topic, 1);
        Path pluginPath = WorkerProcess.installPlugin(tmp);

        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", topic);
        // Delete mode goes through a proxy that can hold QUIT (see KILL_AT_BATCH_BOUNDARY).
        Pop3SessionProxy proxy = deleteAfterAck ? new Pop3SessionProxy(dovecot.host(), dovecot.plainPort()) : null;
        config.put("pop3.host", proxy == null ? dovecot.host() : proxy.host());
        config.put("pop3.port", String.valueOf(proxy == null ? dovecot.plainPort() : proxy.port()));
        config.put("pop3.security", "none");
        config.put("pop3.username", user);
        config.put("pop3.password", "pw-" + user);
        config.put("poll.interval.ms", "500");
        config.put("batch.max.messages", "50");
        config.put("delete.after.ack", String.valueOf(deleteAfterAck));
        config.put("exactly.once.support", "required");
        config.put("transaction.boundary", "poll");

        Result result = new Result();
        DeleteSampler sampler = deleteAfterAck ? new DeleteSampler(user, topic, result) : null;
        Thread samplerThread = null;
        if (sampler != null) {
            samplerThread = new Thread(sampler, "delete-sampler");
            samplerThread.start();
        }
        long started = System.nanoTime();
        try {
            WorkerProcess first = WorkerProcess.start(tmp.resolve("w1"), kafka.bootstrapServers(), pluginPath, name,
                    EOS_WORKER, List.of());
            try {
                first.putConnector(name, config);
                if (proxy == null) {
                    try (TopicTail uncommitted = new TopicTail(kafka.bootstrapServers(), topic, "read_uncommitted")) {
                        boolean flowing = uncommitted.pollUntil(t -> t.size() >= killAfter, WAIT);
                        assertTrue(flowing, "records did not flow; worker log: " + first.logTail());
                        first.kill(); // SIGKILL, mid-stream: an open transaction, sessions cut without QUIT
                        result.uncommittedAtKill = uncommitted.size();
                    }
                } else {
                    try (TopicTail committed = new TopicTail(kafka.bootstrapServers(), topic, "read_committed")) {
                        boolean flowing = committed.pollUntil(t -> t.size() >= HOLD_QUIT_FROM, WAIT);
                        assertTrue(flowing, "records did not flow; worker log: " + first.logTail());
                        proxy.delayQuit(QUIT_HOLD_MS);
                        assertTrue(committed.pollUntil(t -> t.size() >= killAfter, WAIT), "batch committed");
                        first.kill(); // SIGKILL: its last transaction committed, the session deleting it not QUIT
                        proxy.delayQuit(0);
                        result.uncommittedAtKill = committed.size();
                    }
                }
                result.firstWorkerLast = lines(first.logText(), "MailboxPoller", false, 3);
            } finally {
                if (first.isAlive()) {
                    first.kill();
                }
            }
            try (TopicTail committed = new TopicTail(kafka.bootstrapServers(), topic, "read_committed")) {
                committed.catchUp(committed.endOffsets(), WAIT);
                result.committedAtKill = committed.size();
            }
            if (proxy != null) {
                // The killed worker's session ends without QUIT reaching Dovecot (killed before sending it, or while
                // the proxy held it, which then drops it).
                ConnectCluster.await(() -> proxy.openSessions() == 0, Duration.ofMillis(QUIT_HOLD_MS * 2),
                        "the proxy sees the killed session close");
            }
            result.mailboxAtKill = dovecot.messageCount(user);
            assertTrue(result.committedAtKill < MAILS, "the kill must land mid-stream: " + result);
            if (proxy != null) {
                result.quitsDropped = proxy.quitsDropped();
                // The window this variant is about: 500 committed, only the 450 before them deleted, a QUIT lost.
                assertEquals(KILL_AT_BATCH_BOUNDARY, result.committedAtKill, "kill after the batch commit: " + result);
                assertEquals(MAILS - HOLD_QUIT_FROM, result.mailboxAtKill, "kill before the DELE of the last "
                        + "committed batch took effect: " + result);
            }

            try (WorkerProcess second = WorkerProcess.start(tmp.resolve("w2"), kafka.bootstrapServers(), pluginPath,
                    name, EOS_WORKER, List.of());
                 TopicTail committed = new TopicTail(kafka.bootstrapServers(), topic, "read_committed")) {
                boolean all = committed.pollUntil(t -> t.distinctKeys().size() >= MAILS, WAIT);
                if (deleteAfterAck) {
                    ConnectCluster.await(() -> dovecot.messageCount(user) == 0, WAIT, "the mailbox empties");
                }
                // Past further polls and offset commits: anything republished would show up now.
                committed.pollUntilQuiet(Duration.ofSeconds(4), Duration.ofSeconds(30));
                result.recoveredAfterMs = (System.nanoTime() - started) / 1_000_000;
                count(committed, result);
                assertTrue(all || result.lost > 0, "inconsistent count " + result);
                result.secondWorkerFirst = lines(second.logText(), "Mailbox", true, 3);
                if (result.lost > 0 || result.duplicates > 0) {
                    result.workerLog = second.logTail();
                }
            }
        } finally {
            if (sampler != null) {
                sampler.stop.set(true);
                samplerThread.join(30_000);
            }
            if (proxy != null) {
                proxy.close();
            }
        }
        System.out.println("ExactlyOnceIT " + (deleteAfterAck ? "delete" : "keep") + " mode: duplicates="
                + result.duplicates + " lost=" + result.lost + " total=" + result.total + " (distinct "
                + result.distinct + "; at the kill the trigger consumer saw " + result.uncommittedAtKill + " records, "
                + result.committedAtKill + " committed, " + result.mailboxAtKill + " mails on the server"
                + (proxy == null ? "" : ", " + result.quitsDropped + " held QUIT dropped")
                + (deleteAfterAck ? "; deletion samples " + result.samples + ", mailbox drops " + result.drops
                + ", deleted before commit " + result.deletedBeforeCommit + ", smallest margin " + result.minMargin
                : "") + "; all in " + result.recoveredAfterMs + " ms from the first worker's start)");
        if (result.duplicates > 0 || result.lost > 0) {
            System.out.println("ExactlyOnceIT duplicated keys: " + result.duplicated + "\nkilled worker, last lines:\n"
                    + String.join("\n", result.firstWorkerLast) + "\nnew worker, first lines:\n"
                    + String.join("\n", result.secondWorkerFirst));
        }
        return result;
    }

    /** The first (or last) {@code n} lines of a log that contain {@code text}. */
    private static List<String> lines(String log, String text, boolean first, int n) {
        List<String> matching = log.lines().filter(l -> l.contains(text)).toList();
        return first ? matching.subList(0, Math.min(n, matching.size()))
                : matching.subList(Math.max(0, matching.size() - n), matching.size());
    }

    private static void count(TopicTail tail, Result result) {
        Map<Integer, Integer> bySubject = new HashMap<>();
        for (TopicTail.Seen s : tail.records()) {
            String subject = json(s.value()).get("subject").asText();
            int n = Integer.parseInt(subject.substring("Message ".length()));
            bySubject.merge(n, 1, Integer::sum);
        }
        Set<Integer> missing = new TreeSet<>();
        for (int i = 0; i < MAILS; i++) {
            if (!bySubject.containsKey(i)) {
                missing.add(i);
            }
        }
        result.total = tail.size();
        result.distinct = tail.distinctKeys().size();
        result.duplicates = tail.size() - tail.distinctKeys().size();
        result.lost = missing.size();
        result.missing = missing.size() > 20 ? missing.toString().substring(0, 200) + "..." : missing.toString();
        Map<String, Integer> dups = tail.duplicatedKeys();
        result.duplicated = dups.size() > 10 ? dups.keySet().stream().limit(10).toList() + "..." : dups.toString();
        assertEquals(bySubject.size(), result.distinct, "keys and subjects agree");
    }

    /**
     * Samples, all along, the mailbox count {@code m} and then the committed part of the topic: every mail missing
     * from the mailbox must already be in a committed transaction.
     */
    private static final class DeleteSampler implements Runnable {
        final AtomicBoolean stop = new AtomicBoolean();
        final String user;
        final String topic;
        final Result result;

        DeleteSampler(String user, String topic, Result result) {
            this.user = user;
            this.topic = topic;
            this.result = result;
        }

        @Override
        public void run() {
            try (TopicTail tail = new TopicTail(kafka.bootstrapServers(), topic, "read_committed")) {
                int last = MAILS;
                while (!stop.get()) {
                    int m = stored(user);
                    Map<TopicPartition, Long> stable = tail.endOffsets(); // taken after m: covers every commit before
                    tail.catchUp(stable, Duration.ofSeconds(30));
                    int committed = tail.distinctKeysBelow(stable);
                    int deleted = MAILS - m;
                    synchronized (result) {
                        result.samples++;
                        if (m < last) {
                            result.drops++;
                        }
                        result.minMargin = Math.min(result.minMargin, committed - deleted);
                        if (deleted > committed) {
                            result.deletedBeforeCommit++;
                            if (result.firstViolation == null) {
                                result.firstViolation = "mailbox " + m + " (" + deleted + " deleted) but only "
                                        + committed + " committed below " + stable;
                            }
                        }
                    }
                    last = m;
                    Thread.sleep(20);
                }
            } catch (Throwable t) {
                synchronized (result) {
                    result.samplerError = t.toString();
                    result.deletedBeforeCommit++; // a sampler that died proves nothing
                }
            }
        }
    }

    /**
     * Mails on the server, never undercounted while Dovecot works: base names (without the {@code :2,} flags part)
     * of {@code new/} then {@code cur/}, listed twice, united (a file moving from new/ to cur/ is seen at least once).
     */
    static int stored(String user) throws java.io.IOException {
        Set<String> names = new java.util.HashSet<>();
        for (int round = 0; round < 2; round++) {
            for (String sub : List.of("new", "cur")) {
                try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dovecot.maildir(user).resolve(sub))) {
                    files.forEach(f -> {
                        String n = f.getFileName().toString();
                        int colon = n.indexOf(':');
                        names.add(colon < 0 ? n : n.substring(0, colon));
                    });
                }
            }
        }
        return names.size();
    }

    private static final class Result {
        int total;
        int distinct;
        int duplicates;
        int lost;
        String missing = "";
        String duplicated = "";
        int uncommittedAtKill;
        int committedAtKill;
        int mailboxAtKill;
        int quitsDropped;
        long recoveredAfterMs;
        int samples;
        int drops;
        int deletedBeforeCommit;
        int minMargin = Integer.MAX_VALUE;
        String firstViolation;
        String samplerError;
        String workerLog;
        List<String> firstWorkerLast = List.of();
        List<String> secondWorkerFirst = List.of();

        @Override
        public synchronized String toString() {
            return "total=" + total + " distinct=" + distinct + " duplicates=" + duplicates + " lost=" + lost
                    + " missing=" + missing + " duplicated=" + duplicated + " uncommittedAtKill=" + uncommittedAtKill
                    + " committedAtKill=" + committedAtKill + " mailboxAtKill=" + mailboxAtKill
                    + " quitsDropped=" + quitsDropped + " samples=" + samples
                    + " drops=" + drops + " deletedBeforeCommit=" + deletedBeforeCommit + " minMargin=" + minMargin
                    + " firstViolation=" + firstViolation + " samplerError=" + samplerError
                    + (workerLog == null ? "" : "\nworker log tail:\n" + workerLog);
        }
    }
}
