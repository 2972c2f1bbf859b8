package io.mailbridge.pop3.it;

import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.LogRecorder;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.MisbehavingPop3Server;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.Code;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.HostileResponse;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.QuitFault;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.SessionInfo;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.Silence;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.Stage;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.UidlFault;
import io.mailbridge.pop3.testing.TopicReader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * How the connector behaves when the POP3 server misbehaves, on a real KRaft broker and Connect worker against
 * {@link MisbehavingPop3Server}: outages, resets, silence, RFC 2449 response codes, broken UIDL listings, a rebuilt
 * UIDL index, EXPIRE 0, lost QUIT, and hostile responses. One connector per test; faults usually start with the
 * server's session 2, after the connector's live check in {@code validate()} passed on session 1.
 */
class FaultsIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration QUIET = Duration.ofMillis(1500);
    /** Extra time allowed on top of a back-off delay (task poll loop, connect, scheduling on 2 cores). */
    private static final long SLACK_MS = 500;
    /** Allowed below a back-off delay: timestamps are taken when a thread gets to run, which may be late. */
    private static final long EARLY_MS = 150;

    private static ConnectCluster cluster;

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private final List<String> connectors = new ArrayList<>();

    @BeforeAll
    static void startCluster() {
        cluster = ConnectCluster.start("faults-it", 1);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void tearDown() {
        for (String name : connectors) {
            try {
                cluster.connect().deleteConnector(name);
            } catch (RuntimeException e) {
                // already gone
            }
        }
        List<AutoCloseable> reversed = new ArrayList<>(cleanup);
        Collections.reverse(reversed);
        for (AutoCloseable c : reversed) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort
            }
        }
    }

    // ========================================================================================== outages

    @Test
    void serverDownAtStartIsRetriedWithExponentialBackoffThenEverythingIsPublishedOnce() throws Exception {
        MisbehavingPop3Server pop3 = server(MisbehavingPop3Server.builder().user("down", "pw-down"));
        List<String> uids = deliver(pop3, 4);
        try (FailureClock failures = new FailureClock(pop3.mailboxId())) {
            create("down-at-start", config(pop3, "down-at-start"));
            ConnectCluster.await(() -> failures.times().size() >= 3, Duration.ofSeconds(20),
                    "three failed attempts while the port is closed; seen " + failures.times());
            pop3.start();
            assertEquals(4, TopicReader.await(cluster, "down-at-start", 4, WAIT).size(), pop3.describe());
            assertTaskState("down-at-start", "RUNNING", pop3);

            List<Long> f = failures.times();
            long firstSession = pop3.sessionInfos().get(0).startMillis();
            assertBetween(f.get(1) - f.get(0), 800, 1200, "first back-off (1 s ±20%) " + f);
            assertBetween(f.get(2) - f.get(1), 1600, 2400, "second back-off (2 s ±20%) " + f);
            assertEquals(3, f.size(), "no further failure once the server is up: " + f);
            assertBetween(firstSession - f.get(2), 3200, 4800, "third back-off (4 s ±20%), from the third"
                    + " failure to the first session the server saw");
        }
        assertExactlyOnce(TopicReader.readAll(cluster, "down-at-start", QUIET), keys(pop3, uids));
    }

    @Test
    void serverGoingDownMidRetrLosesNothingAndRepublishesNothing() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("crash", "pw-crash"));
        List<String> uids = deliver(pop3, 10);
        long messageBytes = Mails.numbered(1).length;
        pop3.faultsFromSession(2);
        pop3.goDownDuringRetr(messageBytes * 4 + messageBytes / 2, 1500, 1);
        create("down-mid-session", config(pop3, "down-mid-session"));

        assertEquals(10, TopicReader.await(cluster, "down-mid-session", 10, WAIT).size(), pop3.describe());
        assertEquals(1, pop3.fired("down in RETR"), pop3.describe());
        assertTaskState("down-mid-session", "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, "down-mid-session", QUIET), keys(pop3, uids));
        assertEachTransferredCompletelyOnce(pop3, uids);
    }

    @Test
    void connectionResetInTheMiddleOfARetrPublishesEveryMessageExactlyOnce() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("reset", "pw-reset")
                .pipelining(false));
        List<String> uids = deliver(pop3, 10);
        pop3.faultsFromSession(2);
        pop3.resetDuringRetr(5, 120, 1);
        create("reset-mid-retr", config(pop3, "reset-mid-retr"));

        assertEquals(10, TopicReader.await(cluster, "reset-mid-retr", 10, WAIT).size(), pop3.describe());
        assertEquals(1, pop3.fired("reset in RETR"), pop3.describe());
        assertTaskState("reset-mid-retr", "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, "reset-mid-retr", QUIET), keys(pop3, uids));
        assertEachTransferredCompletelyOnce(pop3, uids);
        assertEquals(2, pop3.retrReceived(uids.get(4)), "the interrupted message is fetched again\n"
                + pop3.describe());
    }

    @Test
    void connectionResetInTheMiddleOfAPipelinedBatchPublishesEveryMessageExactlyOnce() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("batch", "pw-batch"));
        List<String> uids = deliver(pop3, 10);
        pop3.faultsFromSession(2);
        pop3.resetAfterRetrResponses(3, 1);
        create("reset-mid-batch", config(pop3, "reset-mid-batch"));

        assertEquals(10, TopicReader.await(cluster, "reset-mid-batch", 10, WAIT).size(), pop3.describe());
        assertEquals(1, pop3.fired("reset after 3 RETR answers"), pop3.describe());
        SessionInfo reset = pop3.sessionInfos().stream().filter(s -> s.endReason().startsWith("reset after"))
                .findFirst().orElseThrow();
        assertTrue(reset.pendingInputAtReset() > 0, "further RETR commands were pipelined and unanswered when the"
                + " connection was reset\n" + pop3.describe());
        assertTaskState("reset-mid-batch", "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, "reset-mid-batch", QUIET), keys(pop3, uids));
        assertEachTransferredCompletelyOnce(pop3, uids);
    }

    @Test
    void silentServerFailsTheSessionAfterTheReadTimeoutAndIsRetriedWithBackoff() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("silent", "pw-silent"));
        List<String> uids = deliver(pop3, 3);
        pop3.faultsFromSession(2);
        pop3.silence(Silence.UIDL, 2);
        Map<String, String> config = config(pop3, "silent");
        config.put("pop3.read.timeout.ms", "1000");
        create("silent", config);

        ConnectCluster.await(() -> pop3.fired("silence") == 2 && pop3.sessionInfos().get(2).endMillis() > 0,
                WAIT, "two silent sessions end\n" + pop3.describe());
        assertTaskState("silent", "RUNNING", pop3);
        assertEquals(3, TopicReader.await(cluster, "silent", 3, WAIT).size(), pop3.describe());

        List<SessionInfo> sessions = pop3.sessionInfos();
        SessionInfo first = sessions.get(1);
        SessionInfo second = sessions.get(2);
        SessionInfo third = sessions.get(3);
        assertBetween(first.endMillis() - first.silentSinceMillis(), 900, 1000 + SLACK_MS + 600,
                "the client gives up ~1 s (pop3.read.timeout.ms) into the silence\n" + pop3.describe());
        assertBetween(second.endMillis() - second.silentSinceMillis(), 900, 1000 + SLACK_MS + 600,
                "again after ~1 s\n" + pop3.describe());
        assertBetween(second.startMillis() - first.endMillis(), 800, 1200, "back-off 1 s ±20% before the retry\n"
                + pop3.describe());
        assertBetween(third.startMillis() - second.endMillis(), 1600, 2400, "back-off 2 s ±20% before the next"
                + " retry\n" + pop3.describe());
        assertTaskState("silent", "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, "silent", QUIET), keys(pop3, uids));
    }

    // ========================================================================================== response codes

    /** Refusals that may pass: where the server sends them and with which code. */
    enum Transient {
        IN_USE_AT_LOGIN(Stage.LOGIN, Code.IN_USE),
        SYS_TEMP_AT_LOGIN(Stage.LOGIN, Code.SYS_TEMP),
        SYS_TEMP_AT_GREETING(Stage.GREETING, Code.SYS_TEMP);

        final Stage stage;
        final Code code;

        Transient(Stage stage, Code code) {
            this.stage = stage;
            this.code = code;
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Transient.class)
    void transientRefusalIsRetriedWithJitteredExponentialBackoffThenSucceeds(Transient refusal) throws Exception {
        String name = "transient-" + refusal.name().toLowerCase(Locale.ROOT).replace('_', '-');
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("busy", "pw-busy"));
        List<String> uids = deliver(pop3, 3);
        pop3.faultsFromSession(2);
        pop3.failAt(refusal.stage, refusal.code, 2);
        create(name, config(pop3, name));

        ConnectCluster.await(() -> pop3.fired(refusal.stage == Stage.LOGIN ? "login" : "greeting") == 2, WAIT,
                "two refusals\n" + pop3.describe());
        assertTaskState(name, "RUNNING", pop3);
        assertEquals(3, TopicReader.await(cluster, name, 3, WAIT).size(), pop3.describe());
        List<SessionInfo> sessions = pop3.sessionInfos();
        assertBetween(sessions.get(2).startMillis() - sessions.get(1).startMillis(), 800, 1200,
                "first retry after 1 s ±20%\n" + pop3.describe());
        assertBetween(sessions.get(3).startMillis() - sessions.get(2).startMillis(), 1600, 2400,
                "second retry after 2 s ±20%\n" + pop3.describe());
        assertTrue(sessions.get(3).loggedIn(), "the third task session succeeds\n" + pop3.describe());
        assertTaskState(name, "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, name, QUIET), keys(pop3, uids));
    }

    @Test
    void loginDelayAdvertisedInCapaIsHonouredBetweenAllLoginAttempts() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("delay", "pw-delay"));
        List<String> uids = deliver(pop3, 3);
        pop3.loginDelay(3); // CAPA "LOGIN-DELAY 3", enforced after each successful login
        pop3.faultsFromSession(2);
        pop3.failAt(Stage.LOGIN, Code.LOGIN_DELAY, 1); // the task's first login is refused [LOGIN-DELAY]
        create("login-delay", config(pop3, "login-delay"));

        assertEquals(3, TopicReader.await(cluster, "login-delay", 3, Duration.ofSeconds(25)).size(),
                "published after one LOGIN-DELAY refusal and a wait of about 3 s\n" + pop3.describe());
        ConnectCluster.await(() -> pop3.loginAttemptTimes(2).size() >= 4, Duration.ofSeconds(20),
                "two more polls after the first success\n" + pop3.describe());
        List<Long> attempts = pop3.loginAttemptTimes(2);
        for (int i = 1; i < attempts.size(); i++) {
            assertTrue(attempts.get(i) - attempts.get(i - 1) >= 3000, "login attempt " + (i + 1) + " came "
                    + (attempts.get(i) - attempts.get(i - 1)) + " ms after the previous one; LOGIN-DELAY is 3 s"
                    + " (poll.interval.ms is 300)\n" + pop3.describe());
        }
        assertEquals(1, pop3.rejectedLoginTimes().size(), "only the injected refusal: the server never had to"
                + " enforce LOGIN-DELAY itself\n" + pop3.describe());
        assertTaskState("login-delay", "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, "login-delay", QUIET), keys(pop3, uids));
    }

    // ========================================================================================== fatal errors

    /** Errors retrying cannot fix, and words the task's error must contain for each (any one of them). */
    enum Fatal {
        AUTH_AT_LOGIN(s -> s.failAt(Stage.LOGIN, Code.AUTH, MisbehavingPop3Server.ALWAYS),
                Code.AUTH.text(), "authentication"),
        SYS_PERM_AT_LOGIN(s -> s.failAt(Stage.LOGIN, Code.SYS_PERM, MisbehavingPop3Server.ALWAYS),
                Code.SYS_PERM.text(), "SYS/PERM"),
        SYS_PERM_AT_GREETING(s -> s.failAt(Stage.GREETING, Code.SYS_PERM, MisbehavingPop3Server.ALWAYS),
                Code.SYS_PERM.text(), "SYS/PERM"),
        NO_UIDL(s -> s.noUidl(true), "UIDL"),
        DUPLICATE_UIDLS(s -> s.uidlFault(UidlFault.DUPLICATE), "duplicate"),
        EMPTY_UIDL(s -> s.uidlFault(UidlFault.EMPTY), "invalid uid", "unique-id"),
        TOO_LONG_UIDL(s -> s.uidlFault(UidlFault.TOO_LONG), "invalid uid", "unique-id"),
        UIDL_WITH_BYTES_OUTSIDE_0X21_0X7E(s -> s.uidlFault(UidlFault.BAD_BYTES), "invalid uid", "unique-id");

        final Consumer<MisbehavingPop3Server> apply;
        final List<String> causes;

        Fatal(Consumer<MisbehavingPop3Server> apply, String... causes) {
            this.apply = apply;
            this.causes = List.of(causes);
        }

        String slug() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Fatal.class)
    void errorTheUserMustFixFailsTheSingleMailboxTaskNamingMailboxAndCauseAfterAtMostThreeAttempts(Fatal fault)
            throws Exception {
        String name = "fatal-" + fault.slug();
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("fatal", "pw-fatal"));
        deliver(pop3, 2);
        pop3.faultsFromSession(2);
        fault.apply.accept(pop3);
        create(name, config(pop3, name));

        ConnectorStateInfo.TaskState task = awaitTaskState(name, "FAILED", WAIT, pop3);
        int sessionsAtFailure = pop3.sessions();
        String trace = task.trace();
        assertNotNull(trace, "a FAILED task has a trace");
        assertTrue(trace.contains(pop3.mailboxId()), "the error names the mailbox " + pop3.mailboxId() + ":\n"
                + trace);
        assertTrue(containsAny(trace, fault.causes), "the error names the cause " + fault.causes + ":\n" + trace);
        int taskSessions = sessionsAtFailure - 1;
        assertTrue(taskSessions >= 1 && taskSessions <= 3, "the task fails after at most three attempts, not a"
                + " retry loop: " + taskSessions + " sessions after the live check\n" + pop3.describe());
        Thread.sleep(2000); // an observation window: a FAILED task must not log in again
        assertEquals(sessionsAtFailure, pop3.sessions(), "no attempt after the task FAILED\n" + pop3.describe());
        assertTaskState(name, "FAILED", pop3);
    }

    @Test
    void failingMailboxesInAMultiMailboxTaskAreNotRetriedWithinSevenSecondsWhileTheOthersKeepPublishing()
            throws Exception {
        // Seven seconds outlast the transient back-offs (1 + 2 + 4 s); that the next attempt comes five minutes later,
        // doubling up to an hour, is read from the poller's schedule in MailboxPollerBackoffTest, not waited out.
        MisbehavingPop3Server good = started(MisbehavingPop3Server.builder().user("good", "pw-good"));
        Map<String, String> config = config(good, "multi-fatal");
        config.remove("pop3.username");
        config.remove("pop3.password");
        config.remove("pop3.port");
        List<String> aliases = new ArrayList<>(List.of("good"));
        config.put("mailbox.good.pop3.port", String.valueOf(good.port()));
        config.put("mailbox.good.pop3.username", "good");
        config.put("mailbox.good.pop3.password", "pw-good");
        Map<Fatal, MisbehavingPop3Server> bad = new LinkedHashMap<>();
        for (Fatal fault : Fatal.values()) {
            MisbehavingPop3Server s = started(MisbehavingPop3Server.builder().user("bad", "pw-bad"));
            deliver(s, 2);
            s.faultsFromSession(2);
            fault.apply.accept(s);
            bad.put(fault, s);
            String alias = fault.slug();
            aliases.add(alias);
            config.put("mailbox." + alias + ".pop3.port", String.valueOf(s.port()));
            config.put("mailbox." + alias + ".pop3.username", "bad");
            config.put("mailbox." + alias + ".pop3.password", "pw-bad");
        }
        config.put("mailboxes", String.join(",", aliases));
        List<String> goodUids = deliver(good, 3);
        create("multi-fatal", config);

        assertEquals(3, TopicReader.await(cluster, "multi-fatal", 3, WAIT).size(), good.describe());
        for (Map.Entry<Fatal, MisbehavingPop3Server> e : bad.entrySet()) {
            ConnectCluster.await(() -> e.getValue().sessions() >= 2, WAIT, e.getKey() + ": the task's first attempt\n"
                    + e.getValue().describe());
        }
        long lastFirstAttempt = 0;
        for (MisbehavingPop3Server s : bad.values()) {
            lastFirstAttempt = Math.max(lastFirstAttempt, s.sessionInfos().get(1).startMillis());
        }
        goodUids.addAll(deliver(good, 2));
        assertEquals(5, TopicReader.await(cluster, "multi-fatal", 5, WAIT).size(), "the good mailbox keeps"
                + " publishing\n" + good.describe());
        long sleep = lastFirstAttempt + 7_000 - System.currentTimeMillis();
        if (sleep > 0) {
            Thread.sleep(sleep); // longer than the transient back-offs 1 + 2 + 4 s: a second attempt would show
        }
        assertTaskState("multi-fatal", "RUNNING", good);
        for (Map.Entry<Fatal, MisbehavingPop3Server> e : bad.entrySet()) {
            assertEquals(2, e.getValue().sessions(), e.getKey() + ": the live check, then exactly one failed"
                    + " attempt in seven seconds\n" + e.getValue().describe());
        }
        List<ConsumerRecord<String, String>> records = TopicReader.readAll(cluster, "multi-fatal", QUIET);
        List<String> expected = new ArrayList<>();
        for (String uid : goodUids) {
            expected.add("good/" + uid);
        }
        assertExactlyOnce(records, expected);
    }

    // ========================================================================================== UIDL index rebuilt

    @Test
    void rebuiltUidlIndexFailsTheMailboxByDefaultAndRepublishesNothing() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("rebuilt", "pw-rebuilt"));
        List<String> uids = deliver(pop3, 60);
        create("rebuilt-fail", config(pop3, "rebuilt-fail"));
        assertEquals(60, TopicReader.await(cluster, "rebuilt-fail", 60, WAIT).size(), pop3.describe());

        pop3.rebuildIndex();
        ConnectorStateInfo.TaskState task = awaitTaskState("rebuilt-fail", "FAILED", WAIT, pop3);
        String trace = task.trace();
        assertTrue(trace.contains(pop3.mailboxId()), "names the mailbox:\n" + trace);
        assertTrue(trace.contains("none of the"), "says none of the remembered UIDLs is on the server:\n" + trace);
        assertTrue(trace.toLowerCase(Locale.ROOT).contains("rebuil"), "suggests a rebuilt index:\n" + trace);
        assertTrue(trace.contains("uidl.mismatch.policy"), "says how to proceed:\n" + trace);
        assertExactlyOnce(TopicReader.readAll(cluster, "rebuilt-fail", QUIET), keys(pop3, uids));
        for (String uid : uids) {
            assertEquals(1, pop3.retrReceived(uid), "nothing fetched again after the rebuild\n" + pop3.describe());
        }
    }

    @Test
    void rebuiltUidlIndexWithPolicyLatestRepublishesNothingAndPublishesNewMail() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("latest", "pw-latest"));
        List<String> uids = deliver(pop3, 60);
        Map<String, String> config = config(pop3, "rebuilt-latest");
        config.put("uidl.mismatch.policy", "latest");
        create("rebuilt-latest", config);
        assertEquals(60, TopicReader.await(cluster, "rebuilt-latest", 60, WAIT).size(), pop3.describe());

        int before = pop3.sessions();
        pop3.rebuildIndex();
        ConnectCluster.await(() -> pop3.sessions() >= before + 2, WAIT, "two polls after the rebuild");
        List<String> expected = new ArrayList<>(keys(pop3, uids));
        List<String> fresh = deliver(pop3, 2);
        expected.addAll(keys(pop3, fresh));
        assertEquals(62, TopicReader.await(cluster, "rebuilt-latest", 62, WAIT).size(), pop3.describe());
        assertTaskState("rebuilt-latest", "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, "rebuilt-latest", QUIET), expected);
    }

    @Test
    void rebuiltUidlIndexWithPolicyEarliestRepublishesEverythingOnce() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("earliest", "pw-earliest"));
        List<String> uids = deliver(pop3, 60);
        Map<String, String> config = config(pop3, "rebuilt-earliest");
        config.put("uidl.mismatch.policy", "earliest");
        create("rebuilt-earliest", config);
        assertEquals(60, TopicReader.await(cluster, "rebuilt-earliest", 60, WAIT).size(), pop3.describe());

        pop3.rebuildIndex();
        List<String> expected = new ArrayList<>(keys(pop3, uids));
        expected.addAll(keys(pop3, pop3.uids()));
        assertEquals(120, TopicReader.await(cluster, "rebuilt-earliest", 120, WAIT).size(), pop3.describe());
        assertTaskState("rebuilt-earliest", "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, "rebuilt-earliest", QUIET), expected);
    }

    @Test
    void unanchoredListingBelowTheThresholdIsTakenAsNewMailWithoutFailing() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("refill", "pw-refill"));
        List<String> expected = new ArrayList<>(keys(pop3, deliver(pop3, 5)));
        create("refilled", config(pop3, "refilled"));
        assertEquals(5, TopicReader.await(cluster, "refilled", 5, WAIT).size(), pop3.describe());

        pop3.removeAll(); // another client emptied the mailbox...
        expected.addAll(keys(pop3, deliver(pop3, 5))); // ...and new mail arrived
        assertEquals(10, TopicReader.await(cluster, "refilled", 10, WAIT).size(), pop3.describe());
        assertTaskState("refilled", "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, "refilled", QUIET), expected);
    }

    // ========================================================================================== EXPIRE 0

    @Test
    void keepModeOnAnExpireZeroServerNeverQuitsAfterRetrSoMailStaysOnTheServer() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("expire", "pw-expire"));
        pop3.expireZero(true);
        List<String> uids = deliver(pop3, 5);
        create("expire-keep", config(pop3, "expire-keep"));
        assertEquals(5, TopicReader.await(cluster, "expire-keep", 5, WAIT).size(), pop3.describe());
        int sessions = pop3.sessions();
        ConnectCluster.await(() -> pop3.sessions() >= sessions + 2, WAIT, "two more polls");
        uids.addAll(deliver(pop3, 2));
        assertEquals(7, TopicReader.await(cluster, "expire-keep", 7, WAIT).size(), pop3.describe());
        int later = pop3.sessions();
        ConnectCluster.await(() -> pop3.sessions() >= later + 2, WAIT, "two more polls");

        assertEquals(0, pop3.quitsAfterRetr(), "no QUIT in a session that sent RETR\n" + pop3.describe());
        assertEquals(0, pop3.expiredWithoutDele(), pop3.describe());
        assertEquals(7, pop3.messageCount(), "keep mode: all mail stays on the server");
        assertTaskState("expire-keep", "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, "expire-keep", QUIET), keys(pop3, uids));
    }

    @Test
    void deleteModeOnAnExpireZeroServerRemovesMailOnlyByDeleOfAcknowledgedRecords() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("expdel", "pw-expdel"));
        pop3.expireZero(true);
        List<String> uids = deliver(pop3, 5);
        Map<String, String> config = config(pop3, "expire-delete");
        config.put("delete.after.ack", "true");
        create("expire-delete", config);
        assertEquals(5, TopicReader.await(cluster, "expire-delete", 5, WAIT).size(), pop3.describe());
        ConnectCluster.await(() -> pop3.messageCount() == 0, WAIT, "the mailbox empties\n" + pop3.describe());
        uids.addAll(deliver(pop3, 2));
        assertEquals(7, TopicReader.await(cluster, "expire-delete", 7, WAIT).size(), pop3.describe());
        ConnectCluster.await(() -> pop3.messageCount() == 0, WAIT, "the mailbox empties again\n" + pop3.describe());

        assertEquals(0, pop3.quitsAfterRetr(), "no QUIT after RETR: it would expunge unacknowledged mail\n"
                + pop3.describe());
        assertEquals(0, pop3.expiredWithoutDele(), "every message left through DELE of an acknowledged record\n"
                + pop3.describe());
        for (String uid : uids) {
            assertEquals(1, pop3.deleReceived(uid), "DELE once for " + uid + "\n" + pop3.describe());
        }
        assertTaskState("expire-delete", "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, "expire-delete", QUIET), keys(pop3, uids));
    }

    // ========================================================================================== lost QUIT

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = QuitFault.class, names = {"REPLY_LOST", "QUIT_LOST"})
    void lostQuitAfterDeleNeitherLosesNorRepublishesMailAndTheMailboxEndsEmpty(QuitFault fault) throws Exception {
        String name = "quit-" + fault.name().toLowerCase(Locale.ROOT).replace('_', '-');
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("quit", "pw-quit"));
        List<String> uids = deliver(pop3, 5);
        pop3.quitFault(fault, 1);
        Map<String, String> config = config(pop3, name);
        config.put("delete.after.ack", "true");
        create(name, config);

        assertEquals(5, TopicReader.await(cluster, name, 5, WAIT).size(), pop3.describe());
        ConnectCluster.await(() -> pop3.fired("QUIT") == 1, WAIT, "the QUIT fault fires\n" + pop3.describe());
        ConnectCluster.await(() -> pop3.messageCount() == 0, WAIT, "the mailbox ends empty\n" + pop3.describe());
        assertTaskState(name, "RUNNING", pop3);
        assertExactlyOnce(TopicReader.readAll(cluster, name, QUIET), keys(pop3, uids));
        for (String uid : uids) {
            assertEquals(1, pop3.retrReceived(uid), "not fetched (republished) again: " + uid + "\n"
                    + pop3.describe());
            assertEquals(fault == QuitFault.QUIT_LOST ? 2 : 1, pop3.deleReceived(uid),
                    (fault == QuitFault.QUIT_LOST ? "the pending delete is retried in the next session"
                            : "already deleted by the applied UPDATE: no second DELE") + ": " + uid + "\n"
                            + pop3.describe());
        }
    }

    // ========================================================================================== hostile server

    @Test
    void overlongResponseLineFailsTheSessionQuicklyWithoutBufferingIt() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("longline", "pw-longline"));
        deliver(pop3, 2);
        pop3.faultsFromSession(2);
        pop3.overlongUidlLine(512L * 1024 * 1024, MisbehavingPop3Server.ALWAYS);
        Map<String, String> config = config(pop3, "overlong-line");
        config.put("pop3.read.timeout.ms", "5000");
        try (LogRecorder logs = LogRecorder.start()) {
            create("overlong-line", config);
            ConnectCluster.await(() -> !pop3.hostileResponses().isEmpty(), WAIT, "the overlong line is sent and"
                    + " the client gives up\n" + pop3.describe());
            HostileResponse line = pop3.hostileResponses().get(0);
            assertTrue(line.clientClosed(), "the client closed the connection while the line was still coming: "
                    + line);
            assertTrue(line.bytes() < 32L * 1024 * 1024, "the client stopped reading early (" + line.bytes()
                    + " bytes went out, most of them into socket buffers)");
            assertTrue(line.millis() < 5000, "the session ended within the read timeout: " + line);
            String error = awaitMailboxError("overlong-line", pop3.mailboxId(), logs, pop3);
            assertTrue(containsAny(error, List.of("line")), "the error says what was wrong:\n" + error);
            assertNoOutOfMemory("overlong-line", logs);
        }
    }

    @Test
    void endlessMessageBodyIsAbandonedAtTheReadCapWithoutExhaustingTheHeap() throws Exception {
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user("endless", "pw-endless"));
        deliver(pop3, 3);
        pop3.faultsFromSession(2);
        pop3.endlessBody(2, 1000, MisbehavingPop3Server.ALWAYS);
        Map<String, String> config = config(pop3, "endless-body");
        config.put("message.max.bytes", "1024");
        config.put("pop3.read.timeout.ms", "5000");
        try (LogRecorder logs = LogRecorder.start()) {
            create("endless-body", config);
            ConnectCluster.await(() -> !pop3.hostileResponses().isEmpty(), WAIT, "the endless body is sent and the"
                    + " client gives up\n" + pop3.describe());
            HostileResponse body = pop3.hostileResponses().get(0);
            // cap = max(message.max.bytes, 2 x LIST size + 1 MiB) = 1,050,576 bytes, plus what socket buffers hold
            assertTrue(body.clientClosed(), "the client closed the connection while the body was still coming: "
                    + body);
            assertTrue(body.bytes() < 32L * 1024 * 1024, "the client stopped at its read cap (" + body.bytes()
                    + " bytes went out)");
            assertTrue(body.millis() < 10_000, "abandoned within a bounded time: " + body);
            String error = awaitMailboxError("endless-body", pop3.mailboxId(), logs, pop3);
            assertTrue(containsAny(error, List.of("bytes", "exceed", "larger", "too long", "too large", "limit")),
                    "the error says the message was too long:\n" + error);
            assertNoOutOfMemory("endless-body", logs);
        }
    }

    // ========================================================================================== helpers

    private MisbehavingPop3Server server(MisbehavingPop3Server.Builder builder) {
        MisbehavingPop3Server server = builder.build();
        cleanup.add(server);
        return server;
    }

    private MisbehavingPop3Server started(MisbehavingPop3Server.Builder builder) {
        return server(builder).start();
    }

    private static List<String> deliver(MisbehavingPop3Server server, int count) {
        List<String> uids = new ArrayList<>();
        int base = server.messageCount() + 1000 * server.sessions();
        for (int i = 0; i < count; i++) {
            uids.add(server.deliver(Mails.numbered(base + i)));
        }
        return uids;
    }

    private static Map<String, String> config(MisbehavingPop3Server server, String topic) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", topic);
        config.put("pop3.host", server.host());
        config.put("pop3.port", String.valueOf(server.port()));
        config.put("pop3.security", "none");
        config.put("pop3.username", server.user());
        config.put("pop3.password", "pw-" + server.user());
        config.put("pop3.connect.timeout.ms", "2000");
        config.put("pop3.read.timeout.ms", "5000");
        config.put("poll.interval.ms", "300");
        return config;
    }

    private void create(String name, Map<String, String> config) {
        connectors.add(name);
        cluster.createConnector(name, config);
    }

    private static List<String> keys(MisbehavingPop3Server server, Collection<String> uids) {
        List<String> keys = new ArrayList<>();
        for (String uid : uids) {
            keys.add(server.mailboxId() + "/" + uid);
        }
        return keys;
    }

    private static void assertExactlyOnce(List<ConsumerRecord<String, String>> records, Collection<String> expected) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (ConsumerRecord<String, String> r : records) {
            counts.merge(r.key(), 1, Integer::sum);
        }
        List<String> duplicated = new ArrayList<>();
        counts.forEach((k, n) -> {
            if (n > 1) {
                duplicated.add(k + " x" + n);
            }
        });
        Set<String> missing = new LinkedHashSet<>(expected);
        missing.removeAll(counts.keySet());
        Set<String> unexpected = new LinkedHashSet<>(counts.keySet());
        unexpected.removeAll(expected);
        assertTrue(duplicated.isEmpty() && missing.isEmpty() && unexpected.isEmpty(), "each message exactly once;"
                + " duplicated " + duplicated + ", missing " + missing + ", unexpected " + unexpected);
    }

    /** Each message went over the wire completely exactly once: those read before a failure were not re-fetched. */
    private static void assertEachTransferredCompletelyOnce(MisbehavingPop3Server pop3, List<String> uids) {
        for (String uid : uids) {
            assertEquals(1, pop3.retrCompleted(uid), "complete RETR answers for " + uid + "\n" + pop3.describe());
        }
    }

    private static ConnectorStateInfo.TaskState task(String name) {
        try {
            ConnectorStateInfo status = cluster.status(name);
            return status.tasks().isEmpty() ? null : status.tasks().get(0);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static ConnectorStateInfo.TaskState awaitTaskState(String name, String state, Duration timeout,
                                                               MisbehavingPop3Server server) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        ConnectorStateInfo.TaskState task = task(name);
        while (task == null || !state.equals(task.state())) {
            if (System.nanoTime() > deadline) {
                fail("task of " + name + " is not " + state + " after " + timeout + ": "
                        + (task == null ? "no task" : task.state() + "\n" + task.trace()) + "\n" + server.describe());
            }
            Thread.sleep(100);
            task = task(name);
        }
        return task;
    }

    private static void assertTaskState(String name, String state, MisbehavingPop3Server server) {
        ConnectorStateInfo.TaskState task = task(name);
        assertNotNull(task, "connector " + name + " has a task");
        assertEquals(state, task.state(), "task of " + name + ": " + task.trace() + "\n" + server.describe());
    }

    /** The error a mailbox failure produced: the task trace if it FAILED, else a WARN/ERROR log naming the mailbox. */
    private static String awaitMailboxError(String name, String mailboxId, LogRecorder logs,
                                            MisbehavingPop3Server server) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            ConnectorStateInfo.TaskState task = task(name);
            if (task != null && "FAILED".equals(task.state())) {
                assertTrue(task.trace().contains(mailboxId), "the error names the mailbox:\n" + task.trace());
                return task.trace();
            }
            // the start-up warning about clear-text credentials (these tests use security=none) is not an error
            for (LogRecorder.Event e : logs.events(e -> e.atLeast(Level.WARN) && e.logger().startsWith("io.mailbridge")
                    && e.message().contains(mailboxId) && !e.message().contains("pop3.security=none"))) {
                return e.message() + (e.thrown() == null ? "" : "\n" + e.thrown());
            }
            Thread.sleep(100);
        }
        fail("no error naming mailbox " + mailboxId + " in the task status or the log\n" + server.describe());
        return null;
    }

    private static void assertNoOutOfMemory(String name, LogRecorder logs) {
        ConnectorStateInfo.TaskState task = task(name);
        assertTrue(task == null || task.trace() == null || !task.trace().contains("OutOfMemoryError"),
                "the task did not die of OutOfMemoryError:\n" + (task == null ? "" : task.trace()));
        assertFalse(logs.anyContains("OutOfMemoryError"), "no OutOfMemoryError logged");
    }

    private static boolean containsAny(String text, List<String> needles) {
        String lower = text.toLowerCase(Locale.ROOT);
        for (String n : needles) {
            if (lower.contains(n.toLowerCase(Locale.ROOT))) {
                return true;
            }
        }
        return false;
    }

    private static void assertBetween(long actual, long min, long max, String what) {
        assertTrue(actual >= min - EARLY_MS && actual <= max + SLACK_MS, what + ": " + actual + " ms, expected "
                + min + ".." + max + " ms (-" + EARLY_MS + "/+" + SLACK_MS + " ms tolerance)");
    }

    /**
     * When the mailbox's {@code failures-total} plugin metric (README "Metrics", JMX tag {@code mailbox=<id>})
     * went up: attempts against a closed port leave no trace on the server, so they are timed here.
     */
    private static final class FailureClock implements AutoCloseable {
        private final String mailboxId;
        private final List<Long> times = new CopyOnWriteArrayList<>();
        private final Thread thread;
        private volatile boolean stop;

        FailureClock(String mailboxId) {
            this.mailboxId = mailboxId;
            thread = new Thread(this::run, "failure-clock");
            thread.setDaemon(true);
            thread.start();
        }

        List<Long> times() {
            return List.copyOf(times);
        }

        private void run() {
            MBeanServer mbs = ManagementFactory.getPlatformMBeanServer();
            ObjectName found = null;
            long last = 0;
            while (!stop) {
                try {
                    if (found == null) {
                        for (ObjectName n : mbs.queryNames(new ObjectName("*:mailbox=*,*"), null)) {
                            String m = n.getKeyProperty("mailbox");
                            if (m.startsWith("\"")) {
                                m = ObjectName.unquote(m);
                            }
                            if (m.equals(mailboxId)) {
                                try {
                                    mbs.getAttribute(n, "failures-total");
                                    found = n;
                                } catch (Exception notThisOne) {
                                    // another MBean of this mailbox
                                }
                            }
                        }
                    }
                    if (found != null) {
                        long value = ((Number) mbs.getAttribute(found, "failures-total")).longValue();
                        long now = System.currentTimeMillis();
                        for (long v = last; v < value; v++) {
                            times.add(now);
                        }
                        last = Math.max(last, value);
                    }
                } catch (Exception e) {
                    found = null; // the task restarted and re-registered its metrics
                }
                try {
                    Thread.sleep(found == null ? 50 : 15);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            thread.join(1000);
        }
    }
}
