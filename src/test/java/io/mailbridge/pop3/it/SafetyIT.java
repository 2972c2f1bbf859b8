package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.LogRecorder;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.MisbehavingPop3Server;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.UidlFault;
import io.mailbridge.pop3.testing.TopicReader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static io.mailbridge.pop3.testing.ConnectCluster.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * "Nothing lost" on the paths users take: records the worker drops (SMT, errors.tolerance=all) across restarts and
 * config updates, start.from=latest in delete mode across restarts, per-user EXPIRE 0, messages the server refuses
 * to deliver or delete, listings that disagree, and mail larger than the producer sends. Real KRaft broker and
 * Connect worker; Dovecot where a real server can show it, {@link MisbehavingPop3Server} where only a misbehaving
 * one can.
 */
class SafetyIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration QUIET = Duration.ofMillis(1500);
    private static final List<String> DOVECOT_USERS = List.of("dropped", "filtered", "latest");

    private static DovecotServer dovecot;
    private static ConnectCluster cluster;

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private final List<String> connectors = new ArrayList<>();

    @BeforeAll
    static void start() {
        DovecotServer.requireInstalled();
        DovecotServer.Builder builder = DovecotServer.builder();
        for (String user : DOVECOT_USERS) {
            builder.user(user, "pw-" + user);
        }
        dovecot = builder.build().start();
        // producer.override.* lets a test make the producer refuse a record, as a small max.request.size does
        cluster = ConnectCluster.start("safety-it", 1, Map.of("connector.client.config.override.policy", "All"));
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
        if (dovecot != null) {
            dovecot.close();
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

    // ================================================================================ records the worker drops

    @Test
    void recordDroppedByAProducerErrorIsNeverDeletedAfterTaskRestartsOrAConfigUpdate() throws Exception {
        String user = "dropped";
        String name = "dropped";
        byte[] big = Mails.simple("big", "Too big for the producer", "x".repeat(78) + "\r\n".repeat(1)
                + ("y".repeat(78) + "\r\n").repeat(3000));
        dovecot.deliver(user, List.of(Mails.simple("s1", "small 1", "one"), Mails.simple("s2", "small 2", "two"), big,
                Mails.simple("s3", "small 3", "three")));
        Map<String, String> config = dovecotConfig(user, name);
        config.put("delete.after.ack", "true");
        config.put("errors.tolerance", "all");
        // the 240 KB record is above what this producer sends: RecordTooLargeException, tolerated, null metadata
        config.put("producer.override.max.request.size", "100000");
        create(name, config);

        assertEquals(Set.of("<s1@example.com>", "<s2@example.com>", "<s3@example.com>"),
                messageIds(TopicReader.await(cluster, name, 3, WAIT)));
        ConnectCluster.await(() -> dovecot.messageCount(user) == 1, WAIT, "the three delivered mails are deleted");

        for (int round = 4; round <= 6; round++) {
            int started = taskStarts(name);
            if (round == 5) {
                config.put("poll.interval.ms", "400"); // a config update restarts the tasks too
                cluster.createConnector(name, config);
            } else {
                cluster.connect().restartConnectorAndTasks(name, false, true, false);
            }
            // new mail only once the replacement task runs: mail the old task published in its last moments is
            // published again by design (its outcome is unknown), which is not what this test counts
            ConnectCluster.await(() -> taskStarts(name) > started, WAIT, "the replacement task starts");
            cluster.awaitRunning(name, 1);
            // a new mail after the restart, published and deleted: sessions ran with the restarted task's state
            dovecot.deliver(user, Mails.simple("s" + round, "small " + round, "more"));
            int expected = round;
            ConnectCluster.await(() -> messageIds(TopicReader.readAll(cluster, name, Duration.ofMillis(300)))
                    .size() == expected, WAIT, "s" + round + " published");
            ConnectCluster.await(() -> dovecot.messageCount(user) == 1, WAIT, "s" + round + " deleted");
            assertTrue(storedSubjects(user).contains("Subject: Too big for the producer"),
                    "the dropped mail is still on the server after restart " + round + ": " + storedSubjects(user));
        }
        List<ConsumerRecord<String, String>> records = TopicReader.readAll(cluster, name, QUIET);
        List<String> order = new ArrayList<>();
        for (ConsumerRecord<String, String> r : records) {
            order.add(json(r.value()).get("message_id").asText() + "@" + r.timestamp());
        }
        assertEquals(6, records.size(), "each delivered mail once: " + order);
        assertTaskRunning(name);
    }

    @Test
    void recordsFilteredByAnSmtStayOnTheServerAcrossRestartsWhileTheOthersAreDeleted() throws Exception {
        String user = "filtered";
        String name = "filtered";
        Map<String, String> config = dovecotConfig(user, name);
        config.put("delete.after.ack", "true");
        config.put("transforms", "noSpam");
        config.put("transforms.noSpam.type", "io.mailbridge.pop3.testing.DropSubjectContaining");
        config.put("transforms.noSpam.subject.contains", "SPAM");
        create(name, config);
        cluster.awaitRunning(name, 1);

        Set<String> published = new HashSet<>();
        for (int round = 0; round < 3; round++) {
            // the dropped mail sits between delivered ones, so later records commit offsets that cover it
            dovecot.deliver(user, List.of(Mails.simple("ok-a" + round, "fine " + round, "a"),
                    Mails.simple("spam" + round, "SPAM " + round, "b"), Mails.simple("ok-b" + round, "fine " + round, "c")));
            published.add("<ok-a" + round + "@example.com>");
            published.add("<ok-b" + round + "@example.com>");
            ConnectCluster.await(() -> messageIds(TopicReader.readAll(cluster, name, Duration.ofMillis(300)))
                    .equals(published), WAIT, "the mail not filtered is published (round " + round + ")");
            int spam = round + 1;
            ConnectCluster.await(() -> dovecot.messageCount(user) == spam, WAIT, "only the filtered mail remains");
            awaitCommittedOffset(name);
            cluster.connect().restartConnectorAndTasks(name, false, true, false);
            cluster.awaitRunning(name, 1);
            int logins = logins(user);
            ConnectCluster.await(() -> logins(user) >= logins + 3, WAIT, "three sessions after restart " + round);
            assertEquals(spam, dovecot.messageCount(user), "a filtered record is never a reason to delete");
        }
        assertEquals(6, TopicReader.readAll(cluster, name, QUIET).size(), "the SMT dropped the SPAM mail only");
    }

    // ================================================================================ start.from=latest

    @Test
    void latestInDeleteModeNeverPublishesOrDeletesTheMailFoundAtStartWhateverItsCountAcrossRestarts()
            throws Exception {
        String user = "latest";
        String name = "latest";
        List<byte[]> found = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            found.add(Mails.numbered(i));
        }
        dovecot.deliver(user, found);
        Map<String, String> config = dovecotConfig(user, name);
        config.put("delete.after.ack", "true");
        config.put("start.from", "latest");
        create(name, config);
        cluster.awaitRunning(name, 1);
        int loginsAtStart = logins(user);
        ConnectCluster.await(() -> logins(user) >= loginsAtStart + 2, WAIT, "the first polls");

        Set<String> published = new HashSet<>();
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 3; i++) {
                String id = "new-" + round + "-" + i;
                dovecot.deliver(user, Mails.simple(id, "new " + id, "arrived later"));
                published.add("<" + id + "@example.com>");
            }
            ConnectCluster.await(() -> messageIds(TopicReader.readAll(cluster, name, Duration.ofMillis(300)))
                    .equals(published), WAIT, "the new mail of round " + round + " is published");
            ConnectCluster.await(() -> dovecot.messageCount(user) == 2000, WAIT, "the new mail is deleted");
            awaitCommittedOffset(name);
            cluster.connect().restartConnectorAndTasks(name, false, true, false);
            cluster.awaitRunning(name, 1);
            int logins = logins(user);
            ConnectCluster.await(() -> logins(user) >= logins + 2, WAIT, "two sessions after restart " + round);
            assertEquals(2000, dovecot.messageCount(user), "the mail found at the start is never deleted");
        }
        assertEquals(published, messageIds(TopicReader.readAll(cluster, name, QUIET)),
                "only mail that arrived later is published");
    }

    // ================================================================================ misbehaving servers

    @Test
    void expireZeroAnnouncedOnlyAfterLoginNeverGetsAQuitAfterRetrInEitherMode() throws Exception {
        for (boolean delete : new boolean[] {false, true}) {
            String name = delete ? "expire-user-delete" : "expire-user-keep";
            MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user(name, "pw-" + name));
            pop3.expireZeroAfterLogin(true);
            for (int i = 1; i <= 4; i++) {
                pop3.deliver(Mails.numbered(i));
            }
            Map<String, String> config = config(pop3, name);
            config.put("delete.after.ack", String.valueOf(delete));
            create(name, config);

            assertEquals(4, TopicReader.await(cluster, name, 4, WAIT).size(), pop3.describe());
            int sessions = pop3.sessions();
            ConnectCluster.await(() -> pop3.sessions() >= sessions + 3, WAIT, "three more polls");
            assertEquals(0, pop3.quitsAfterRetr(), "no QUIT in a session that sent RETR\n" + pop3.describe());
            assertEquals(0, pop3.expiredWithoutDele(), pop3.describe());
            if (delete) {
                ConnectCluster.await(() -> pop3.messageCount() == 0, WAIT, "DELE of acknowledged records empties it");
            } else {
                assertEquals(4, pop3.messageCount(), "keep mode: the mail stays");
            }
            assertTaskRunning(name);
        }
    }

    @Test
    void messageTheServerRefusesIsRetriedWithBackoffThenPublishedWithoutContentAndNeverDeleted() throws Exception {
        String name = "refused-retr";
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user(name, "pw-" + name));
        List<String> uids = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            uids.add(pop3.deliver(Mails.numbered(i)));
        }
        String refused = uids.get(2);
        pop3.refuseRetr(refused, MisbehavingPop3Server.ALWAYS);
        Map<String, String> config = config(pop3, name);
        config.put("delete.after.ack", "true");
        config.put("message.refused.max.attempts", "3");
        create(name, config);

        List<ConsumerRecord<String, String>> records = TopicReader.await(cluster, name, 5, WAIT);
        assertEquals(5, records.size(), pop3.describe());
        List<String> order = new ArrayList<>();
        for (ConsumerRecord<String, String> r : records) {
            order.add(json(r.value()).get("uid").asText());
        }
        assertEquals(uids, order, "mailbox order: the messages after the refused one waited for it");
        JsonNode contentless = json(records.get(2).value());
        assertTrue(contentless.get("parse_error").asText().contains("refused to deliver this message 3 times"),
                contentless.toString());
        assertTrue(contentless.get("truncated").asBoolean());
        assertTrue(contentless.get("subject").isNull() && contentless.get("text").isNull());
        assertEquals(3, pop3.fired("RETR refused"), "asked three times\n" + pop3.describe());
        ConnectCluster.await(() -> pop3.messageCount() == 1, WAIT, "the others are deleted\n" + pop3.describe());
        assertEquals(List.of(refused), pop3.uids(), "the refused message is never deleted");
        assertEquals(0, pop3.deleReceived(refused));
        assertTaskRunning(name);
    }

    @Test
    void deleRefusedForOneMessageDoesNotCancelTheOtherDeletes() throws Exception {
        String name = "refused-dele";
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user(name, "pw-" + name));
        List<String> uids = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            uids.add(pop3.deliver(Mails.numbered(i)));
        }
        pop3.refuseDele(uids.get(1));
        Map<String, String> config = config(pop3, name);
        config.put("delete.after.ack", "true");
        create(name, config);

        assertEquals(4, TopicReader.await(cluster, name, 4, WAIT).size(), pop3.describe());
        ConnectCluster.await(() -> pop3.messageCount() == 1, WAIT, "every other message is deleted\n"
                + pop3.describe());
        ConnectCluster.await(() -> pop3.fired("DELE refused") >= 2, WAIT, "the refused DELE is tried again");
        assertEquals(List.of(uids.get(1)), pop3.uids());
        pop3.refuseDele(null);
        ConnectCluster.await(() -> pop3.messageCount() == 0, WAIT, "deleted once the server accepts");
        assertEquals(4, TopicReader.readAll(cluster, name, QUIET).size(), "nothing published twice");
        assertTaskRunning(name);
    }

    @Test
    void uidlListingThatNamesOneMessageNumberTwiceFailsTheMailboxBeforeAnythingIsPublished() throws Exception {
        String name = "uidl-number-twice";
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user(name, "pw-" + name));
        pop3.deliver(Mails.numbered(1));
        pop3.deliver(Mails.numbered(2));
        pop3.faultsFromSession(2);
        pop3.uidlFault(UidlFault.DUPLICATE_NUMBER);
        create(name, config(pop3, name));

        ConnectorStateInfo.TaskState task = awaitTaskState(name, "FAILED", pop3);
        assertTrue(task.trace().contains("lists message number 1 twice") && task.trace().contains(pop3.mailboxId()),
                task.trace());
        assertTrue(TopicReader.readAll(cluster, name, QUIET).isEmpty(), "nothing published");
        assertEquals(0, pop3.retrReceived(pop3.uids().get(0)) + pop3.retrReceived(pop3.uids().get(1)));
    }

    @Test
    void uidlEntryMissingFromListFetchesNothingUntilTheListingsAgreeThenEachMailUnderItsOwnUidl() throws Exception {
        String name = "list-missing";
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user(name, "pw-" + name));
        Map<String, String> uidToMessageId = new HashMap<>();
        for (int i = 1; i <= 3; i++) {
            uidToMessageId.put(pop3.deliver(Mails.numbered(i)), "<m" + i + "@example.com>");
        }
        pop3.faultsFromSession(2);
        pop3.uidlFault(UidlFault.MISSING_FROM_LIST);
        try (LogRecorder logs = LogRecorder.start(Map.of("io.mailbridge", Level.WARN))) {
            create(name, config(pop3, name));
            ConnectCluster.await(() -> !logs.containing("listings disagree").isEmpty(), WAIT,
                    "a warning that the listings disagree\n" + pop3.describe());
            int sessions = pop3.sessions();
            ConnectCluster.await(() -> pop3.sessions() >= sessions + 1, WAIT, "another attempt");
            assertTrue(TopicReader.readAll(cluster, name, Duration.ofMillis(500)).isEmpty(), "nothing published");
            assertTaskRunning(name);
        }
        pop3.uidlFault(UidlFault.NONE);
        List<ConsumerRecord<String, String>> records = TopicReader.await(cluster, name, 3, WAIT);
        assertEquals(3, records.size(), pop3.describe());
        for (ConsumerRecord<String, String> r : records) {
            JsonNode value = json(r.value());
            assertEquals(uidToMessageId.get(value.get("uid").asText()), value.get("message_id").asText(),
                    "each message's content under its own UIDL");
        }
    }

    @Test
    void threeMegabytePlainTextMailWithEveryDefaultIsPublishedCutAndNeverDeleted() throws Exception {
        String name = "three-megabytes";
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user(name, "pw-" + name));
        String big = pop3.deliver(Mails.simple("big", "3 MB of text", ("z".repeat(98) + "\r\n").repeat(30_000)));
        String after = pop3.deliver(Mails.numbered(2));
        Map<String, String> config = config(pop3, name);
        config.put("delete.after.ack", "true");
        create(name, config);

        List<ConsumerRecord<String, String>> records = TopicReader.await(cluster, name, 2, WAIT);
        assertEquals(2, records.size(), pop3.describe());
        JsonNode cut = json(records.get(0).value());
        assertEquals(big, cut.get("uid").asText());
        assertTrue(cut.get("truncated").asBoolean());
        assertTrue(cut.get("size").asLong() > 3_000_000);
        assertTrue(cut.get("text").asText().length() > 900_000, "as much text as fits");
        assertTrue(records.get(0).serializedValueSize() < 1_000_000);
        assertEquals(after, json(records.get(1).value()).get("uid").asText());
        ConnectCluster.await(() -> pop3.messageCount() == 1, WAIT, "the whole mail is deleted, the cut one kept");
        assertEquals(List.of(big), pop3.uids());
        assertTaskRunning(name);
    }

    @Test
    void startWarnsOnceAboutClearTextCredentialsAndAboutAttachmentContentThatDeleteModeLoses() throws Exception {
        String name = "warnings";
        MisbehavingPop3Server pop3 = started(MisbehavingPop3Server.builder().user(name, "pw-" + name));
        Map<String, String> config = config(pop3, name);
        config.put("delete.after.ack", "true");
        try (LogRecorder logs = LogRecorder.start(Map.of("io.mailbridge", Level.WARN))) {
            create(name, config);
            cluster.awaitRunning(name, 1);
            int sessions = pop3.sessions();
            ConnectCluster.await(() -> pop3.sessions() >= sessions + 2, WAIT, "two polls");
            List<LogRecorder.Event> clearText = logs.events(e -> e.atLeast(Level.WARN)
                    && e.message().contains("pop3.security=none") && e.message().contains(pop3.mailboxId()));
            List<LogRecorder.Event> attachments = logs.events(e -> e.atLeast(Level.WARN)
                    && e.message().contains("attachment content is not in the record"));
            assertEquals(1, clearText.size(), "one warning per mailbox: " + logs.events());
            assertEquals(1, attachments.size(), "one warning per connector start: " + logs.events());
            assertFalse(clearText.get(0).message().contains("pw-" + name), "the warning never shows the password");
        }
    }

    // ================================================================================ helpers

    private static LogRecorder taskLog;

    @BeforeAll
    static void recordTaskStarts() {
        taskLog = LogRecorder.start(Map.of("io.mailbridge", Level.WARN));
    }

    @AfterAll
    static void stopRecording() {
        if (taskLog != null) {
            taskLog.close();
        }
    }

    /** How often a task of the connector started: each start warns once about security=none, as these use it. */
    private static int taskStarts(String user) {
        return taskLog.events(e -> e.message().contains("Mailbox " + user + "@")
                && e.message().contains("pop3.security=none")).size();
    }

    private static Map<String, String> dovecotConfig(String user, String topic) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", topic);
        config.put("pop3.host", "localhost");
        config.put("pop3.port", String.valueOf(dovecot.plainPort()));
        config.put("pop3.security", "none");
        config.put("pop3.username", user);
        config.put("pop3.password", "pw-" + user);
        config.put("poll.interval.ms", "300");
        return config;
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

    private MisbehavingPop3Server started(MisbehavingPop3Server.Builder builder) {
        MisbehavingPop3Server server = builder.build();
        cleanup.add(server);
        return server.start();
    }

    private void create(String name, Map<String, String> config) {
        connectors.add(name);
        cluster.createConnector(name, config);
    }

    private static Set<String> messageIds(List<ConsumerRecord<String, String>> records) {
        Set<String> ids = new HashSet<>();
        for (ConsumerRecord<String, String> r : records) {
            ids.add(json(r.value()).get("message_id").asText());
        }
        return ids;
    }

    /** Successful POP3 logins of the user in Dovecot's log: sessions the connector ran. */
    private static int logins(String user) {
        int n = 0;
        for (String line : dovecot.logLines()) {
            if (line.contains("Login: user=<" + user + ">")) {
                n++;
            }
        }
        return n;
    }

    /** The Subject lines of the mail stored for the user. */
    private static List<String> storedSubjects(String user) throws Exception {
        List<String> subjects = new ArrayList<>();
        for (String sub : List.of("new", "cur")) {
            Path folder = dovecot.maildir(user).resolve(sub);
            try (Stream<Path> files = Files.list(folder)) {
                for (Path f : files.toList()) {
                    for (String line : Files.readAllLines(f)) {
                        if (line.startsWith("Subject: ")) {
                            subjects.add(line);
                            break;
                        }
                    }
                }
            }
        }
        return subjects;
    }

    /** Waits until the worker committed an offset for the connector (GET /connectors/{name}/offsets). */
    private static void awaitCommittedOffset(String name) throws InterruptedException {
        ConnectCluster.await(() -> {
            try {
                List<ConnectorOffset> offsets = cluster.connect().connectorOffsets(name).offsets();
                return !offsets.isEmpty() && offsets.get(0).offset() != null;
            } catch (RuntimeException e) {
                return false;
            }
        }, WAIT, "a committed offset for " + name);
    }

    private static ConnectorStateInfo.TaskState task(String name) {
        try {
            ConnectorStateInfo status = cluster.status(name);
            return status.tasks().isEmpty() ? null : status.tasks().get(0);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static ConnectorStateInfo.TaskState awaitTaskState(String name, String state, MisbehavingPop3Server pop3)
            throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        ConnectorStateInfo.TaskState task = task(name);
        while (task == null || !state.equals(task.state())) {
            if (System.nanoTime() > deadline) {
                fail("task of " + name + " is not " + state + ": " + (task == null ? "no task" : task.state())
                        + "\n" + pop3.describe());
            }
            Thread.sleep(100);
            task = task(name);
        }
        return task;
    }

    private static void assertTaskRunning(String name) {
        ConnectorStateInfo.TaskState task = task(name);
        assertNotNull(task, "connector " + name + " has a task");
        assertEquals("RUNNING", task.state(), "task of " + name + ": " + task.trace());
    }
}
