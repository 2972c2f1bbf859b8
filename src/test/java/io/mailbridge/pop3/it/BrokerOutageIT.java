package io.mailbridge.pop3.it;

import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.LogRecorder;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.TopicTail;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.mailbridge.pop3.testing.ConnectCluster.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Kafka broker goes down under a connector in delete mode ({@code delete.after.ack=true}, Dovecot): while it is
 * down nothing can be acknowledged, so nothing may be deleted, whatever the connector fetched meanwhile; once it is
 * back every mail reaches the topic (at least once, none lost) and the mailbox empties.
 */
class BrokerOutageIT {

    private static final String CONNECTOR = "outage";
    private static final String TOPIC = "outage-mail";
    private static final String USER = "outage";
    private static final int BEFORE = 10;
    private static final int DURING = 40;
    private static final Duration OUTAGE = Duration.ofSeconds(10);
    /** How long the worker gets to recover on its own before the test restarts the tasks through REST. */
    private static final Duration SELF_RECOVERY = Duration.ofSeconds(60);

    @Test
    void nothingIsDeletedWhileTheBrokerIsDownAndEverythingArrivesAfterIt() throws Exception {
        DovecotServer.requireInstalled();
        long started = System.nanoTime();
        Map<String, String> states = new TreeMap<>();
        try (DovecotServer dovecot = DovecotServer.builder().user(USER, "pw-" + USER).build().start();
             LogRecorder logs = LogRecorder.start(Map.of("io.mailbridge", Level.INFO));
             ConnectCluster cluster = ConnectCluster.start("outage-it", 1)) {
            cluster.connect().kafka().createTopic(TOPIC, 1);
            Map<String, String> config = new HashMap<>();
            config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
            config.put("tasks.max", "1");
            config.put("topic", TOPIC);
            config.put("pop3.host", dovecot.host());
            config.put("pop3.port", String.valueOf(dovecot.plainPort()));
            config.put("pop3.security", "none");
            config.put("pop3.username", USER);
            config.put("pop3.password", "pw-" + USER);
            config.put("poll.interval.ms", "500");
            config.put("batch.max.messages", "20");
            config.put("delete.after.ack", "true");

            // Warm-up: the connector publishes and deletes while the broker is up.
            List<byte[]> first = new ArrayList<>();
            for (int i = 0; i < BEFORE; i++) {
                first.add(Mails.numbered(i));
            }
            dovecot.deliver(USER, first);
            cluster.createConnector(CONNECTOR, config);
            cluster.awaitRunning(CONNECTOR, 1);
            ConnectCluster.await(() -> dovecot.messageCount(USER) == 0, Duration.ofSeconds(60),
                    "warm-up mails deleted after their ack");

            // Broker down; mail arrives; the connector may fetch it, but nothing is acknowledged, so nothing goes.
            int sessionsBefore = sessions(logs); // sessions logged from here on ran with the broker going or gone
            cluster.connect().kafka().stopOnlyBrokers();
            long outageStart = System.nanoTime();
            List<byte[]> during = new ArrayList<>();
            for (int i = BEFORE; i < BEFORE + DURING; i++) {
                during.add(Mails.numbered(i));
            }
            dovecot.deliver(USER, during);
            int minCount = DURING;
            int samples = 0;
            while (System.nanoTime() - outageStart < OUTAGE.toNanos()) {
                minCount = Math.min(minCount, dovecot.messageCount(USER));
                samples++;
                record(states, cluster, outageStart, "outage");
                Thread.sleep(100);
            }
            int fetchedDuringOutage = published(logs, sessionsBefore);
            int sessionsDuringOutage = sessions(logs) - sessionsBefore;
            String workerDuringOutage = workerReaction(logs);
            assertEquals(DURING, minCount, "a mail was deleted while the broker was down (" + samples + " samples)");
            assertTrue(fetchedDuringOutage > 0, "the connector fetched mail while the broker was down, so records "
                    + "were waiting for an acknowledgement that could not come; connector log: " + connectorLog(logs));

            long restarted = System.nanoTime();
            cluster.connect().kafka().restartOnlyBrokers();
            boolean selfRecovered = false;
            boolean restartedTasks = false;
            Map<String, Integer> bySubject = new TreeMap<>();
            int total;
            try (TopicTail tail = new TopicTail(cluster.bootstrapServers(), TOPIC, "read_uncommitted")) {
                AtomicBoolean done = new AtomicBoolean();
                selfRecovered = tail.pollUntil(t -> {
                    record(states, cluster, outageStart, "after");
                    done.set(t.distinctKeys().size() >= BEFORE + DURING && dovecot.messageCount(USER) == 0);
                    return done.get();
                }, SELF_RECOVERY);
                if (!selfRecovered) {
                    // What a user would have to do: restart the connector's tasks.
                    restartedTasks = true;
                    cluster.connect().restartConnectorAndTasks(CONNECTOR, false, true, false);
                    assertTrue(tail.pollUntil(t -> {
                        record(states, cluster, outageStart, "after REST restart");
                        return t.distinctKeys().size() >= BEFORE + DURING && dovecot.messageCount(USER) == 0;
                    }, Duration.ofSeconds(60)), "all mails after a REST restart of the tasks; states " + states);
                }
                long recoveredMs = (System.nanoTime() - restarted) / 1_000_000;
                tail.pollUntilQuiet(Duration.ofSeconds(3), Duration.ofSeconds(20));
                for (TopicTail.Seen s : tail.records()) {
                    bySubject.merge(json(s.value()).get("subject").asText(), 1, Integer::sum);
                }
                total = tail.size();
                List<Integer> missing = new ArrayList<>();
                for (int i = 0; i < BEFORE + DURING; i++) {
                    if (!bySubject.containsKey("Message " + i)) {
                        missing.add(i);
                    }
                }
                int duplicates = total - bySubject.size();
                System.out.println("BrokerOutageIT: duplicates=" + duplicates + " lost=" + missing.size() + " total="
                        + total + " (" + (BEFORE + DURING) + " mails; mailbox never below " + minCount + " of "
                        + DURING + " during the " + OUTAGE.toSeconds() + " s outage (" + samples + " samples); "
                        + sessionsDuringOutage + " POP3 sessions and " + fetchedDuringOutage
                        + " mails fetched while the broker was down; worker: " + workerDuringOutage + "; "
                        + (selfRecovered ? "recovered by itself" : "needed a REST restart of the tasks")
                        + " in " + recoveredMs + " ms after the broker restart began; task states " + states + "; "
                        + (System.nanoTime() - started) / 1_000_000 + " ms)");
                assertEquals(List.of(), missing, "every mail arrives after the outage");
                assertEquals(0, dovecot.messageCount(USER), "the mailbox empties");
                assertTrue(selfRecovered, "the worker did not recover by itself within " + SELF_RECOVERY
                        + "; task states " + states + (restartedTasks ? " (a REST restart of the tasks did)" : ""));
            }
        }
    }

    /** Task state transitions, keyed by seconds since the outage began. */
    private static void record(Map<String, String> states, ConnectCluster cluster, long since, String phase) {
        String state;
        try {
            ConnectorStateInfo status = cluster.status(CONNECTOR);
            state = status.tasks().isEmpty() ? "NO-TASKS" : status.tasks().get(0).state();
        } catch (Throwable t) {
            state = "status-unavailable";
        }
        String last = states.isEmpty() ? null : states.get(((TreeMap<String, String>) states).lastKey());
        if (last == null || !last.startsWith(state)) {
            states.put(String.format("%06.1fs", (System.nanoTime() - since) / 1e9), state + " (" + phase + ")");
        }
    }

    /** What the Connect worker did about the task while the broker was away, from its own log. */
    private static String workerReaction(LogRecorder logs) {
        List<LogRecorder.Event> stops = logs.events(e -> e.message().contains("Graceful stop of task")
                || e.message().contains("orphan task"));
        return stops.isEmpty() ? "kept the task running"
                : "stopped the task (" + stops.get(0).message().replaceAll("\\s+", " ") + ")";
    }

    private static String connectorLog(LogRecorder logs) {
        StringBuilder out = new StringBuilder();
        for (LogRecorder.Event e : logs.events(e -> e.logger().startsWith("io.mailbridge"))) {
            out.append('\n').append(String.format("%tT.%<tL", e.timeMillis())).append(' ').append(e.level())
                    .append(' ').append(e.message());
        }
        return out.toString();
    }

    private static int sessions(LogRecorder logs) {
        return logs.events(e -> e.logger().endsWith("MailboxPoller") && e.message().contains(": published ")).size();
    }

    /** Mails fetched by the sessions after the first {@code skip} logged ones. */
    private static int published(LogRecorder logs, int skip) {
        int n = 0;
        List<LogRecorder.Event> events =
                logs.events(e -> e.logger().endsWith("MailboxPoller") && e.message().contains(": published "));
        for (LogRecorder.Event e : events.subList(Math.min(skip, events.size()), events.size())) {
            String m = e.message();
            int at = m.indexOf(": published ") + ": published ".length();
            n += Integer.parseInt(m.substring(at, m.indexOf(' ', at)));
        }
        return n;
    }
}
