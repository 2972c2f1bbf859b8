package io.mailbridge.pop3.it;

import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.ItResources;
import io.mailbridge.pop3.testing.LatencyProxy;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.MisbehavingPop3Server;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.SessionInfo;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.Silence;
import io.mailbridge.pop3.testing.TopicReader;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The task's engine on a real broker and worker: sessions of different mailboxes run side by side, records reach
 * Kafka while their session is still fetching, a session is cut at session.timeout.ms, and stopping a task closes
 * its sessions at once, before the replacement opens its own.
 */
class EngineIT {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private static ConnectCluster cluster;

    private final ItResources resources = new ItResources(() -> cluster);

    @BeforeAll
    static void start() {
        cluster = ConnectCluster.start("engine-it", 1);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void tearDown() {
        resources.close();
    }

    @Test
    void recordsReachKafkaWhileTheirSessionIsStillFetching() throws Exception {
        String name = "streamed";
        // no pipelining, 50 ms round trip: 150 messages take at least 7.5 s in one session
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user(name, "pw-" + name)
                .pipelining(false));
        for (int i = 1; i <= 150; i++) {
            pop3.deliver(Mails.numbered(i));
        }
        LatencyProxy link = new LatencyProxy(pop3.host(), pop3.port(), 25);
        resources.add(link);
        Map<String, String> config = config(pop3, name);
        config.put("pop3.port", String.valueOf(link.port()));
        create(name, config);

        int published = TopicReader.await(cluster, name, 10, WAIT).size();
        SessionInfo fetching = lastSession(pop3);
        assertTrue(published >= 10, pop3.describe());
        assertTrue(published < 150 && fetching.endMillis() == 0 && fetching.sentRetr(), "records are in Kafka ("
                + published + ") while the session that fetches them is open: " + fetching);
        assertEquals(150, TopicReader.await(cluster, name, 150, WAIT).size());
    }

    @Test
    void aSilentServerHoldsOnlyItsOwnMailbox() throws Exception {
        MisbehavingPop3Server healthy = started(MisbehavingPop3Server.builder().user("healthy", "pw-shared"));
        MisbehavingPop3Server silent = started(MisbehavingPop3Server.builder().user("silent", "pw-shared"));
        silent.deliver(Mails.numbered(1));
        silent.faultsFromSession(2); // the live check in validate() passes
        silent.silence(Silence.UIDL, MisbehavingPop3Server.ALWAYS);
        String name = "isolation";
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", name);
        config.put("mailboxes", "healthy,silent");
        config.put("pop3.host", "127.0.0.1");
        config.put("pop3.security", "none");
        config.put("pop3.password", "pw-shared");
        config.put("pop3.read.timeout.ms", "60000");
        config.put("poll.interval.ms", "300");
        for (MisbehavingPop3Server s : List.of(healthy, silent)) {
            config.put("mailbox." + s.user() + ".pop3.port", String.valueOf(s.port()));
            config.put("mailbox." + s.user() + ".pop3.username", s.user());
        }
        create(name, config);

        ConnectCluster.await(() -> silent.concurrentSessions() == 1 && silent.sessions() >= 2, WAIT,
                "the silent server holds a session open\n" + silent.describe());
        long silentSince = System.currentTimeMillis();
        for (int i = 1; i <= 5; i++) {
            long delivered = System.currentTimeMillis();
            healthy.deliver(Mails.numbered(i));
            int expected = i;
            ConnectCluster.await(() -> TopicReader.readAll(cluster, name, Duration.ofMillis(100)).size() >= expected,
                    Duration.ofSeconds(10), "mail " + i + " of the healthy mailbox is published");
            long took = System.currentTimeMillis() - delivered;
            assertTrue(took < 5_000, "mail " + i + " took " + took + " ms while the other mailbox's server is silent");
        }
        assertEquals(1, silent.concurrentSessions(), "the silent session was still open all along");
        assertTrue(System.currentTimeMillis() - silentSince < 60_000, "all within the read timeout of the silent one");
    }

    @Test
    void aSessionIsClosedAtSessionTimeoutWhateverTheReadTimeoutAllows() throws Exception {
        String name = "deadline";
        MisbehavingPop3Server pop3 = oneMailFaultyFromSessionTwo(name);
        pop3.silence(Silence.RETR_BODY, 1);
        Map<String, String> config = config(pop3, name);
        config.put("pop3.read.timeout.ms", "60000");
        config.put("session.timeout.ms", "3000");
        create(name, config);

        ConnectCluster.await(() -> pop3.fired("silence in RETR") == 1, WAIT, "the server goes silent mid-message");
        assertEquals(1, TopicReader.await(cluster, name, 1, WAIT).size(), "published once the next session runs");
        SessionInfo stalled = lastSilentSession(pop3);
        long open = stalled.endMillis() - stalled.startMillis();
        assertTrue(open >= 2_500 && open < 6_000, "the stalled session was closed at the 3 s session deadline, not the"
                + " 60 s read timeout: open " + open + " ms");
        assertTaskRunning(name);
    }

    @Test
    void aServerTricklingAByteWithinEveryReadTimeoutIsCutOffAtTheReplyDeadlineNotTheSessionTimeout() throws Exception {
        String name = "trickle";
        MisbehavingPop3Server pop3 = oneMailFaultyFromSessionTwo(name);
        pop3.trickle(500, 1); // every read gets a byte within 0.5 s, far inside the 3 s read timeout
        Map<String, String> config = config(pop3, name);
        config.put("pop3.read.timeout.ms", "3000");
        config.put("session.timeout.ms", "300000");
        create(name, config);

        ConnectCluster.await(() -> pop3.fired("trickle in RETR") == 1, WAIT, "the server trickles the message");
        assertEquals(1, TopicReader.await(cluster, name, 1, WAIT).size(), "published once the next session runs");
        SessionInfo trickled = lastSilentSession(pop3);
        long open = trickled.endMillis() - trickled.silentSinceMillis();
        assertTrue(open >= 2_500 && open < 8_000, "the trickled reply was cut off at its deadline (3 s read timeout"
                + " plus 1 s per 16 KiB), not at the 300 s session timeout: open " + open + " ms");
        assertTaskRunning(name);
    }

    @Test
    void stoppingATaskClosesItsStalledSessionAtOnceAndBeforeTheReplacementOpensOne() throws Exception {
        String name = "stop-fast";
        MisbehavingPop3Server pop3 = oneMailFaultyFromSessionTwo(name);
        pop3.silence(Silence.RETR_BODY, 1);
        Map<String, String> config = config(pop3, name);
        config.put("pop3.read.timeout.ms", "60000");
        create(name, config);
        ConnectCluster.await(() -> pop3.fired("silence in RETR") == 1, WAIT, "the server goes silent mid-message");

        long restart = System.currentTimeMillis();
        cluster.connect().restartConnectorAndTasks(name, false, true, false);
        ConnectCluster.await(() -> pop3.sessionInfos().get(1).endMillis() > 0, Duration.ofSeconds(10),
                "the stalled session is closed");
        SessionInfo stalled = pop3.sessionInfos().get(1);
        assertTrue(stalled.endMillis() - restart < 5_000, "closed " + (stalled.endMillis() - restart)
                + " ms after the restart request");
        assertEquals(1, TopicReader.await(cluster, name, 1, WAIT).size(), "the replacement publishes the mail");
        assertEquals(1, pop3.maxConcurrentSessions(), "the replacement's session never overlapped the old one\n"
                + pop3.describe());
        assertTaskRunning(name);
    }

    // ================================================================================ helpers

    private static Map<String, String> config(MisbehavingPop3Server server, String topic) {
        return server.connectorConfig(topic);
    }

    private MisbehavingPop3Server started(MisbehavingPop3Server.Builder builder) {
        return resources.started(builder);
    }

    private void create(String name, Map<String, String> config) {
        resources.connector(name, config);
    }

    /** A server with one mail whose faults start with its second session, so the live check in validate() passes. */
    private MisbehavingPop3Server oneMailFaultyFromSessionTwo(String name) {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user(name, "pw-" + name));
        pop3.deliver(Mails.numbered(1));
        pop3.faultsFromSession(2);
        return pop3;
    }

    /** The last session in which the server stopped answering (silent or trickling). */
    private static SessionInfo lastSilentSession(MisbehavingPop3Server pop3) {
        SessionInfo silent = null;
        for (SessionInfo s : pop3.sessionInfos()) {
            if (s.silentSinceMillis() > 0) {
                silent = s;
            }
        }
        assertNotNull(silent, pop3.describe());
        return silent;
    }

    private static SessionInfo lastSession(MisbehavingPop3Server pop3) {
        List<SessionInfo> sessions = pop3.sessionInfos();
        return sessions.get(sessions.size() - 1);
    }

    private static void assertTaskRunning(String name) {
        ConnectorStateInfo status = cluster.status(name);
        assertTrue(!status.tasks().isEmpty(), "connector " + name + " has a task");
        ConnectorStateInfo.TaskState task = status.tasks().get(0);
        assertEquals("RUNNING", task.state(), "task of " + name + ": " + task.trace());
    }
}
