package io.mailbridge.pop3.it;

import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.LogRecorder;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.Pop3SessionProxy;
import io.mailbridge.pop3.testing.TopicTail;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.runtime.rest.entities.TaskInfo;
import org.apache.kafka.connect.util.clusters.WorkerHandle;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.mailbridge.pop3.testing.ConnectCluster.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Distributed mode: three in-process Connect workers, {@code tasks.max=3}, nine mailboxes on one Dovecot, mail
 * arriving all along while a worker leaves, a worker joins and the connector's tasks are restarted, so the
 * mailboxes move between tasks and workers. Every task config must name each mailbox alias exactly once.
 *
 * <p>"One mailbox is never polled by two tasks at once" is checked on what the server sees, two ways:
 * <ul>
 *   <li>the connector reaches Dovecot through {@link Pop3SessionProxy}, which counts the sessions of each user open
 *   at the same time: the maximum must be 1 for every mailbox;</li>
 *   <li>Dovecot runs with {@code pop3_lock_session = yes}: a second concurrent session of a user waits up to 10 s
 *   for the lock and is then refused with {@code -ERR [IN-USE]}, which Dovecot logs as "Couldn't lock POP3
 *   session" (proved first on a probe user, so the check is not vacuous); no mailbox user may have such a line,
 *   and the connector must never have warned about {@code IN-USE}.</li>
 * </ul>
 * At the end every mail delivered is in the topic (0 lost); duplicates are counted and reported.
 */
class DistributedWorkersIT {

    private static final int MAILBOXES = 9;
    /** What Dovecot 2.3 answers a second POP3 session of a locked mailbox (src/pop3/pop3-client.c). */
    private static final String IN_USE_REPLY = "-ERR [IN-USE] Mailbox is locked by another POP3 session.";
    /** What Dovecot 2.3 logs for it: the session's disconnect reason. */
    private static final String IN_USE_LOG = "Couldn't lock POP3 session";
    private static final String CONNECTOR = "distributed";
    private static final String TOPIC = "distributed-mail";
    private static final Duration WAIT = Duration.ofSeconds(90);
    /** Each phase runs this long with mail arriving, so every mailbox gets several sessions on its new task. */
    private static final long PHASE_MS = 6_000;
    private static final long DELIVERY_INTERVAL_MS = 400;

    @Test
    void mailboxesMoveBetweenWorkersWithOneSessionAtATimeAndNoLoss() throws Exception {
        DovecotServer.requireInstalled();
        DovecotServer.Builder builder = DovecotServer.builder().user("probe", "pw-probe")
                .extraConfig("pop3_lock_session = yes");
        for (int i = 1; i <= MAILBOXES; i++) {
            builder.user("user" + i, "pw-user" + i);
        }
        long started = System.nanoTime();
        try (DovecotServer dovecot = builder.build().start();
             Pop3SessionProxy proxy = new Pop3SessionProxy(dovecot.host(), dovecot.plainPort());
             LogRecorder logs = LogRecorder.start()) {
            // Takes 10 s (Dovecot waits that long for the lock before refusing): runs while the cluster starts.
            CompletableFuture<String> probe = CompletableFuture.supplyAsync(() -> proveLockIsEnforced(dovecot));

            Map<String, String> workerProps = new HashMap<>();
            // Reassign the tasks of a worker that left at once, not after the default 5 minutes.
            workerProps.put("scheduled.rebalance.max.delay.ms", "2000");
            try (ConnectCluster cluster = ConnectCluster.start("distributed-it", 3, workerProps)) {
                String inUseLogLine = probe.get(60, TimeUnit.SECONDS);
                cluster.connect().kafka().createTopic(TOPIC, 3);
                cluster.createConnector(CONNECTOR, config(proxy));
                cluster.awaitRunning(CONNECTOR, 3);
                List<String> placements = new ArrayList<>();
                placements.add("start: " + placement(cluster));
                assertEachMailboxInExactlyOneTask(cluster);

                Map<String, Set<Integer>> delivered = new ConcurrentHashMap<>();
                AtomicBoolean delivering = new AtomicBoolean(true);
                AtomicReference<Throwable> deliveryError = new AtomicReference<>();
                Thread deliverer = new Thread(() -> {
                    int round = 0;
                    try {
                        while (delivering.get()) {
                            for (int i = 1; i <= MAILBOXES; i++) {
                                String user = "user" + i;
                                dovecot.deliver(user, Mails.simple(user + "-" + round, user + " #" + round,
                                        "Mail " + round + " for " + user));
                                delivered.computeIfAbsent(user, u -> ConcurrentHashMap.newKeySet()).add(round);
                            }
                            round++;
                            Thread.sleep(DELIVERY_INTERVAL_MS);
                        }
                    } catch (Throwable t) {
                        deliveryError.set(t);
                    }
                }, "deliverer");
                deliverer.start();
                try {
                    Thread.sleep(PHASE_MS);

                    // Graceful leave of a worker running a task: its tasks are revoked and move to the others.
                    WorkerHandle victim = cluster.connect().workers().iterator().next();
                    String victimId = victim.url().getHost() + ":" + victim.url().getPort();
                    cluster.connect().removeWorker(victim);
                    ConnectCluster.await(() -> {
                        ConnectorStateInfo status = cluster.status(CONNECTOR);
                        return status.tasks().size() == 3 && status.tasks().stream().allMatch(
                                t -> "RUNNING".equals(t.state()) && !victimId.equals(t.workerId()));
                    }, WAIT, "the tasks of " + victimId + " run elsewhere");
                    placements.add("after removeWorker(" + victimId + "): " + placement(cluster));
                    assertEachMailboxInExactlyOneTask(cluster);
                    Thread.sleep(PHASE_MS);

                    cluster.connect().addWorker();
                    cluster.connect().assertions().assertAtLeastNumWorkersAreUp(3, "worker did not join");
                    cluster.awaitRunning(CONNECTOR, 3);
                    placements.add("after addWorker: " + placement(cluster));
                    assertEachMailboxInExactlyOneTask(cluster);
                    Thread.sleep(PHASE_MS);

                    cluster.connect().restartConnectorAndTasks(CONNECTOR, false, true, false);
                    cluster.awaitRunning(CONNECTOR, 3);
                    placements.add("after restart of connector and tasks: " + placement(cluster));
                    assertEachMailboxInExactlyOneTask(cluster);
                    Thread.sleep(PHASE_MS);
                } finally {
                    delivering.set(false);
                    deliverer.join(10_000);
                }
                assertEquals(null, deliveryError.get(), "delivery failed");

                int expected = 0;
                for (Set<Integer> rounds : delivered.values()) {
                    expected += rounds.size();
                }
                Map<String, Integer> counts = new TreeMap<>();
                try (TopicTail tail = new TopicTail(cluster.bootstrapServers(), TOPIC, "read_uncommitted")) {
                    final int want = expected;
                    tail.pollUntil(t -> t.distinctKeys().size() >= want, WAIT);
                    tail.pollUntilQuiet(Duration.ofSeconds(3), Duration.ofSeconds(20));
                    for (TopicTail.Seen s : tail.records()) {
                        counts.merge(json(s.value()).get("subject").asText(), 1, Integer::sum);
                    }
                    int total = tail.size();
                    List<String> missing = new ArrayList<>();
                    for (Map.Entry<String, Set<Integer>> e : new TreeMap<>(delivered).entrySet()) {
                        for (int round : new TreeSet<>(e.getValue())) {
                            if (!counts.containsKey(e.getKey() + " #" + round)) {
                                missing.add(e.getKey() + " #" + round);
                            }
                        }
                    }
                    List<String> duplicated = new ArrayList<>();
                    counts.forEach((subject, n) -> {
                        if (n > 1) {
                            duplicated.add(subject + " x" + n);
                        }
                    });
                    int duplicates = total - counts.size();

                    List<String> inUseOnServer = new ArrayList<>();
                    for (String line : dovecot.logLines()) {
                        if ((line.contains(IN_USE_LOG) || line.contains("IN-USE")) && !line.contains("(probe)")
                                && !line.contains("<probe>")) {
                            inUseOnServer.add(line);
                        }
                    }
                    List<String> inUseWarnings = new ArrayList<>();
                    for (LogRecorder.Event e : logs.containing("IN-USE")) {
                        if (e.logger().startsWith("io.mailbridge")) {
                            inUseWarnings.add(e.text());
                        }
                    }
                    long sessions = dovecot.logLines().stream()
                            .filter(l -> l.contains("pop3(user") && l.contains("Disconnected")).count();
                    Map<String, Integer> maxConcurrent = proxy.maxConcurrentSessions();
                    List<String> overlaps = proxy.overlaps();

                    System.out.println("DistributedWorkersIT: duplicates=" + duplicates + " lost=" + missing.size()
                            + " total=" + total + " (delivered " + expected + " mails to " + MAILBOXES
                            + " mailboxes; " + sessions + " POP3 sessions in Dovecot's log, per user "
                            + proxy.sessions() + "; most concurrent sessions per user " + maxConcurrent
                            + ", overlaps " + overlaps.size() + "; IN-USE refusals on the server "
                            + inUseOnServer.size() + ", connector IN-USE warnings " + inUseWarnings.size()
                            + "; probe log line: " + inUseLogLine + "; " + (System.nanoTime() - started) / 1_000_000
                            + " ms)");
                    placements.forEach(p -> System.out.println("DistributedWorkersIT: " + p));
                    if (!duplicated.isEmpty()) {
                        System.out.println("DistributedWorkersIT: duplicated " + duplicated);
                    }

                    assertEquals(List.of(), missing, "every delivered mail is in the topic");
                    assertEquals(List.of(), overlaps, "two sessions of one mailbox were open at once");
                    maxConcurrent.forEach((user, max) -> assertEquals(1, max, "concurrent sessions of " + user));
                    assertEquals(MAILBOXES, maxConcurrent.size(), "every mailbox was polled: " + maxConcurrent);
                    assertEquals(List.of(), inUseOnServer, "Dovecot refused a second concurrent session: two "
                            + "tasks polled one mailbox at once");
                    assertEquals(List.of(), inUseWarnings, "the connector met a locked mailbox");
                    // Graceful moves commit offsets first, so duplicates should be 0; tolerate at most one
                    // uncommitted offset-flush interval of mail per mailbox and move.
                    assertTrue(duplicates <= 3 * MAILBOXES * 2, "duplicates beyond the at-least-once window: "
                            + duplicated);
                }
            }
        }
    }

    /** The connector reaches Dovecot through the proxy, which counts concurrent sessions per user. */
    private static Map<String, String> config(Pop3SessionProxy dovecot) {
        Map<String, String> config = new LinkedHashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "3");
        config.put("topic", TOPIC);
        config.put("pop3.host", dovecot.host());
        config.put("pop3.port", String.valueOf(dovecot.port()));
        config.put("pop3.security", "none");
        config.put("poll.interval.ms", "500");
        config.put("batch.max.messages", "20");
        List<String> aliases = new ArrayList<>();
        for (int i = 1; i <= MAILBOXES; i++) {
            String alias = "box" + i;
            aliases.add(alias);
            config.put("mailbox." + alias + ".pop3.username", "user" + i);
            config.put("mailbox." + alias + ".pop3.password", "pw-user" + i);
        }
        config.put("mailboxes", String.join(",", aliases));
        return config;
    }

    /** From the task configs the connector handed out: each alias belongs to exactly one task. */
    private static void assertEachMailboxInExactlyOneTask(ConnectCluster cluster) {
        List<TaskInfo> tasks = cluster.connect().taskConfigs(CONNECTOR);
        assertEquals(3, tasks.size(), "tasks: " + tasks);
        Map<String, List<Integer>> owners = new TreeMap<>();
        for (TaskInfo task : tasks) {
            String assigned = task.config().get("mailbridge.task.mailboxes");
            assertTrue(assigned != null && !assigned.isBlank(), "task without mailboxes: " + task.config());
            for (String alias : assigned.split(",")) {
                owners.computeIfAbsent(alias.trim(), a -> new ArrayList<>()).add(task.id().task());
            }
        }
        assertEquals(MAILBOXES, owners.size(), "every alias assigned: " + owners);
        owners.forEach((alias, taskIds) -> assertEquals(1, taskIds.size(), alias + " is in tasks " + taskIds));
    }

    /** task -> worker, as the status API reports it. */
    private static String placement(ConnectCluster cluster) {
        ConnectorStateInfo status = cluster.status(CONNECTOR);
        Map<Integer, String> byTask = new TreeMap<>();
        for (ConnectorStateInfo.TaskState task : status.tasks()) {
            byTask.put(task.id(), task.workerId());
        }
        return byTask.toString();
    }

    /**
     * Opens two sessions of the probe user: the second must be refused with [IN-USE], and Dovecot must log it.
     * Returns the log line, whose wording the final check looks for.
     */
    private static String proveLockIsEnforced(DovecotServer dovecot) {
        try (Socket first = new Socket(dovecot.host(), dovecot.plainPort());
             Socket second = new Socket(dovecot.host(), dovecot.plainPort())) {
            first.setSoTimeout(30_000);
            second.setSoTimeout(30_000);
            assertTrue(login(first, "probe", "pw-probe").startsWith("+OK"), "first session logs in");
            long asked = System.nanoTime();
            String refused = login(second, "probe", "pw-probe");
            long waitedMs = (System.nanoTime() - asked) / 1_000_000;
            assertEquals(IN_USE_REPLY, refused, "second concurrent session of the same user");
            // Dovecot first waits for the session lock (a 10 s dotlock timeout), only then refuses: an overlap
            // shorter than that is serialized silently, hence the proxy's count.
            assertTrue(waitedMs >= 9_000, "refused after " + waitedMs + " ms");
        } catch (Exception e) {
            throw new AssertionError("lock probe failed", e);
        }
        AtomicReference<String> line = new AtomicReference<>();
        awaitQuietly(() -> {
            for (String l : dovecot.logLines()) {
                if (l.contains("probe") && l.contains(IN_USE_LOG)) {
                    line.set(l);
                    return true;
                }
            }
            return false;
        }, Duration.ofSeconds(10), "Dovecot logs the refused session (" + IN_USE_LOG + ")");
        return line.get();
    }

    private static void awaitQuietly(java.util.function.BooleanSupplier condition, Duration timeout, String what) {
        try {
            ConnectCluster.await(condition, timeout, what);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** USER/PASS on a fresh connection; returns the reply to PASS. */
    private static String login(Socket socket, String user, String password) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
        OutputStream out = socket.getOutputStream();
        assertTrue(in.readLine().startsWith("+OK"), "greeting");
        out.write(("USER " + user + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        assertTrue(in.readLine().startsWith("+OK"), "USER");
        out.write(("PASS " + password + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return in.readLine();
    }
}
