package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.user.GreenMailUser;
import io.mailbridge.pop3.testing.AckGate;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.GreenMailServer;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.Pop3SessionProxy;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.mailbridge.pop3.testing.ConnectCluster.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The connector on a real KRaft broker and Connect worker against GreenMail's POP3 server, reached through
 * {@link Pop3SessionProxy} so the tests can count what the server received (sessions, DELE) and wait on it.
 */
class GreenMailConnectorIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    /** POP3 sessions a mailbox gets to show a wrong republish or delete before a test concludes there is none. */
    private static final int MORE_SESSIONS = 3;

    private static ConnectCluster cluster;
    private static GreenMailServer pop3;
    private static Pop3SessionProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        pop3 = new GreenMailServer();
        proxy = new Pop3SessionProxy("127.0.0.1", pop3.port());
        cluster = ConnectCluster.start("greenmail-it", 1);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (pop3 != null) {
            pop3.close();
        }
    }

    private static String mailboxId(String user) {
        return user + "@127.0.0.1:" + proxy.port();
    }

    /** Waits until {@code more} further POP3 sessions of {@code user} began: chances to act, taken or not. */
    private static void awaitMoreSessions(String user, int more) throws InterruptedException {
        int target = proxy.sessions().getOrDefault(user, 0) + more;
        ConnectCluster.await(() -> proxy.sessions().getOrDefault(user, 0) >= target, WAIT,
                more + " more POP3 sessions of " + user);
    }

    private static String lastUid(List<ConsumerRecord<String, String>> records) {
        return json(records.get(records.size() - 1).value()).get("uid").asText();
    }

    private static Map<String, String> config(String topic, String user) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", topic);
        config.put("pop3.host", "127.0.0.1");
        config.put("pop3.port", String.valueOf(proxy.port()));
        config.put("pop3.security", "none");
        config.put("pop3.username", user);
        config.put("pop3.password", "pw-" + user);
        config.put("poll.interval.ms", "500");
        return config;
    }

    @Test
    void publishesEachMessageOnceAsStructuredRecord() throws Exception {
        GreenMailUser user = pop3.user("fields", "pw-fields");
        pop3.deliver(user, Mails.simple("first", "=?UTF-8?B?R3LDvMOfZQ==?=", "Hallo Welt"));
        pop3.deliver(user, Mails.withAttachment("second", 3000));

        cluster.createConnector("fields", config("fields", "fields"));
        List<ConsumerRecord<String, String>> records = cluster.consume("fields", 2, WAIT);
        assertEquals(2, records.size());
        String mailboxId = mailboxId("fields");

        JsonNode first = json(records.get(0).value());
        assertEquals(mailboxId, first.get("mailbox").asText());
        assertEquals(mailboxId + "/" + first.get("uid").asText(), records.get(0).key());
        assertEquals("<first@example.com>", first.get("message_id").asText());
        assertEquals("Grüße", first.get("subject").asText());
        assertEquals("alice@example.com", first.get("from").get(0).get("address").asText());
        assertEquals("Alice Example", first.get("from").get(0).get("name").asText());
        assertEquals("2024-03-01T10:15:30+01:00", first.get("date").asText());
        assertEquals("Hallo Welt\r\n", first.get("text").asText());
        assertFalse(first.get("truncated").asBoolean());
        assertTrue(first.get("parse_error").isNull());
        assertEquals(first.get("uid").asText(), header(records.get(0), "mailbridge.uid"));
        assertEquals(mailboxId, header(records.get(0), "mailbridge.mailbox"));

        JsonNode second = json(records.get(1).value());
        assertEquals("data.bin", second.get("attachments").get(0).get("filename").asText());
        assertTrue(second.get("attachments").get(0).get("size").asLong() > 2000);

        cluster.awaitCommittedUidl("fields", mailboxId, lastUid(records), WAIT);
        awaitMoreSessions("fields", MORE_SESSIONS);
        assertEquals(2, cluster.consumeAll("fields", Duration.ofSeconds(2)).size(), "nothing is published twice");
        cluster.connect().deleteConnector("fields");
    }

    @Test
    void resumesFromCommittedUidlAfterRestart() throws Exception {
        GreenMailUser user = pop3.user("restart", "pw-restart");
        String mailboxId = mailboxId("restart");
        for (int i = 0; i < 5; i++) {
            pop3.deliver(user, Mails.numbered(i));
        }
        cluster.createConnector("restart", config("restart", "restart"));
        List<ConsumerRecord<String, String>> records = cluster.consume("restart", 5, WAIT);
        assertEquals(5, records.size());
        cluster.awaitCommittedUidl("restart", mailboxId, lastUid(records), WAIT);

        cluster.connect().stopConnector("restart");
        cluster.connect().assertions().assertConnectorIsStopped("restart", "connector did not stop");
        for (int i = 5; i < 8; i++) {
            pop3.deliver(user, Mails.numbered(i));
        }
        cluster.connect().resumeConnector("restart");
        records = cluster.consume("restart", 8, WAIT);
        assertEquals(8, records.size());
        cluster.awaitCommittedUidl("restart", mailboxId, lastUid(records), WAIT);

        cluster.connect().restartConnectorAndTasks("restart", false, true, false);
        pop3.deliver(user, Mails.numbered(8));
        records = cluster.consume("restart", 9, WAIT);
        cluster.awaitCommittedUidl("restart", mailboxId, lastUid(records), WAIT);
        awaitMoreSessions("restart", MORE_SESSIONS);
        records = cluster.consumeAll("restart", Duration.ofSeconds(2));
        assertEquals(9, records.size(), "each mail exactly once across stop, resume and restart");
        Set<String> subjects = new HashSet<>();
        for (ConsumerRecord<String, String> r : records) {
            subjects.add(json(r.value()).get("subject").asText());
        }
        assertEquals(9, subjects.size());
        cluster.connect().deleteConnector("restart");
    }

    @Test
    void deletesOnlyAfterBrokerAckAndKeepsTruncatedMail() throws Exception {
        GreenMailUser user = pop3.user("drain", "pw-drain");
        for (int i = 0; i < 4; i++) {
            pop3.deliver(user, Mails.numbered(i));
        }
        pop3.deliver(user, Mails.withAttachment("big", 40_000));
        Map<String, String> config = config("drain", "drain");
        config.put("delete.after.ack", "true");
        config.put("message.max.bytes", "20000");
        config.put("oversize.policy", "skip");
        config.put(AckGate.CONFIG_KEY, AckGate.CONFIG_VALUE);
        AckGate.close("drain");
        cluster.createConnector("drain", config);

        // The broker takes the records, but the worker hears of no acknowledgement: the connector fetches all five
        // mails, and must send no DELE for any of them, over several sessions.
        try {
            ConnectCluster.await(() -> proxy.commands("drain", "RETR") + proxy.commands("drain", "TOP") >= 5, WAIT,
                    "the five mails fetched (RETR, or TOP for the oversized one)");
            ConnectCluster.await(() -> AckGate.held("drain") > 0, WAIT, "the broker acknowledged a record");
            awaitMoreSessions("drain", MORE_SESSIONS);
            assertEquals(0, proxy.commands("drain", "DELE"), "a DELE reached the server before its record was acked");
            assertEquals(5, pop3.count(user));
        } finally {
            AckGate.open("drain");
        }
        List<ConsumerRecord<String, String>> records = cluster.consume("drain", 5, WAIT);
        assertEquals(5, records.size());
        ConnectCluster.await(() -> pop3.count(user) == 1, WAIT, "the four acknowledged mails are deleted");
        assertEquals(4, proxy.commands("drain", "DELE"), "one DELE per acknowledged full record");
        JsonNode truncated = json(records.get(4).value());
        assertTrue(truncated.get("truncated").asBoolean());
        assertEquals("<big@example.com>", truncated.get("message_id").asText());

        pop3.deliver(user, Mails.numbered(10));
        assertEquals(6, cluster.consume("drain", 6, WAIT).size());
        ConnectCluster.await(() -> pop3.count(user) == 1, WAIT, "the new mail is deleted too");
        awaitMoreSessions("drain", MORE_SESSIONS);
        assertEquals(1, pop3.count(user), "the truncated mail stays on the server");
        assertEquals(5, proxy.commands("drain", "DELE"), "no DELE for the truncated mail");
        assertEquals(6, cluster.consumeAll("drain", Duration.ofSeconds(2)).size(), "nothing republished");
        cluster.connect().deleteConnector("drain");
    }

    @Test
    void spreadsMailboxesOverTasksOneTaskPerMailbox() throws Exception {
        Map<String, String> config = config("multi", "unused");
        config.remove("pop3.username");
        config.remove("pop3.password");
        config.put("tasks.max", "2");
        config.put("mailboxes", "m1,m2,m3,m4");
        for (int m = 1; m <= 4; m++) {
            GreenMailUser user = pop3.user("multi" + m, "pw" + m);
            config.put("mailbox.m" + m + ".pop3.username", "multi" + m);
            config.put("mailbox.m" + m + ".pop3.password", "pw" + m);
            for (int i = 0; i < 3; i++) {
                pop3.deliver(user, Mails.numbered(m * 100 + i));
            }
        }
        cluster.createConnector("multi", config);
        cluster.awaitRunning("multi", 2);
        List<ConsumerRecord<String, String>> records = cluster.consume("multi", 12, WAIT);
        assertEquals(12, records.size());
        Map<String, Integer> perMailbox = new HashMap<>();
        for (ConsumerRecord<String, String> r : records) {
            perMailbox.merge(json(r.value()).get("mailbox").asText(), 1, Integer::sum);
        }
        assertEquals(Map.of("m1", 3, "m2", 3, "m3", 3, "m4", 3), perMailbox);

        Set<String> assigned = new HashSet<>();
        List<?> taskConfigs = cluster.connect().taskConfigs("multi");
        assertEquals(2, taskConfigs.size());
        for (Object info : taskConfigs) {
            String mailboxes = ((org.apache.kafka.connect.runtime.rest.entities.TaskInfo) info).config()
                    .get("mailbridge.task.mailboxes");
            assertNotNull(mailboxes);
            for (String alias : mailboxes.split(",")) {
                assertTrue(assigned.add(alias), "mailbox " + alias + " assigned to two tasks");
            }
        }
        assertEquals(Set.of("m1", "m2", "m3", "m4"), assigned);
        cluster.connect().deleteConnector("multi");
    }

    private static String header(ConsumerRecord<String, String> record, String name) {
        return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}
