package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.mailbridge.pop3.testing.AckGate;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.DovecotServer;
import io.mailbridge.pop3.testing.Mails;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.connect.runtime.rest.entities.ConfigInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConfigInfos;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
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
 * The connector against Dovecot, the production-grade server, over plain, implicit TLS and STLS, on a real KRaft
 * broker and Connect worker. Dovecot must be installed: a missing Dovecot fails here, it is never skipped.
 */
class DovecotConnectorIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    /** POP3 sessions a mailbox gets to show a wrong republish or delete before a test concludes there is none. */
    private static final int MORE_SESSIONS = 3;
    private static final List<String> USERS = List.of("none", "tls", "starttls", "drain", "restart", "locked",
            "expired");

    private static DovecotServer dovecot;
    private static DovecotServer expiredCert;
    private static ConnectCluster cluster;

    @BeforeAll
    static void start() {
        DovecotServer.requireInstalled();
        DovecotServer.Builder builder = DovecotServer.builder();
        for (String user : USERS) {
            builder.user(user, "pw-" + user);
        }
        dovecot = builder.build().start();
        expiredCert = DovecotServer.builder().user("expired", "pw-expired")
                .certificate(DovecotServer.CertChoice.EXPIRED).build().start();
        cluster = ConnectCluster.start("dovecot-it", 1);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
        if (dovecot != null) {
            dovecot.close();
        }
        if (expiredCert != null) {
            expiredCert.close();
        }
    }

    private static Map<String, String> config(DovecotServer server, String user, String security) {
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", "dovecot-" + user);
        config.put("pop3.host", "localhost");
        config.put("pop3.port", String.valueOf("tls".equals(security) ? server.tlsPort() : server.plainPort()));
        config.put("pop3.security", security);
        config.put("pop3.username", user);
        config.put("pop3.password", "pw-" + user);
        config.put("pop3.ssl.truststore.location", server.caPem().toString());
        config.put("poll.interval.ms", "500");
        return config;
    }

    private static String mailboxId(DovecotServer server, String user, String security) {
        return user + "@localhost:" + ("tls".equals(security) ? server.tlsPort() : server.plainPort());
    }

    private static String lastUid(List<ConsumerRecord<String, String>> records) {
        return json(records.get(records.size() - 1).value()).get("uid").asText();
    }

    /** Waits until {@code more} further POP3 sessions of {@code user} ended: chances to act, taken or not. */
    private static void awaitMoreSessions(String user, int more) throws InterruptedException {
        int target = dovecot.sessionsEnded(user) + more;
        ConnectCluster.await(() -> dovecot.sessionsEnded(user) >= target, WAIT,
                more + " more POP3 sessions of " + user);
    }

    @ParameterizedTest(name = "security={0}")
    @ValueSource(strings = {"none", "tls", "starttls"})
    void publishesEveryMessageOnceOverEachSecurityMode(String security) throws Exception {
        List<byte[]> mails = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            mails.add(Mails.numbered(i));
        }
        dovecot.deliver(security, mails);
        cluster.createConnector("dovecot-" + security, config(dovecot, security, security));

        List<ConsumerRecord<String, String>> records = cluster.consume("dovecot-" + security, 20, WAIT);
        assertEquals(20, records.size());
        for (int i = 0; i < 20; i++) {
            JsonNode value = json(records.get(i).value());
            assertEquals("Message " + i, value.get("subject").asText(), "mailbox order");
            assertEquals(security + "@localhost:" + (security.equals("tls") ? dovecot.tlsPort() : dovecot.plainPort()),
                    value.get("mailbox").asText());
            assertTrue(value.get("text").asText().contains("\r\n.leading dot line"), "dot-unstuffed body");
        }
        cluster.awaitCommittedUidl("dovecot-" + security, mailboxId(dovecot, security, security), lastUid(records),
                WAIT);
        awaitMoreSessions(security, MORE_SESSIONS);
        assertEquals(20, cluster.consumeAll("dovecot-" + security, Duration.ofSeconds(2)).size(), "no duplicates");
        assertEquals(20, dovecot.messageCount(security), "keep mode leaves mail on the server");
        cluster.connect().deleteConnector("dovecot-" + security);
    }

    @Test
    void deletesOnlyAfterBrokerAckOverTls() throws Exception {
        List<byte[]> mails = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            mails.add(Mails.numbered(i));
        }
        dovecot.deliver("drain", mails);
        Map<String, String> config = config(dovecot, "drain", "tls");
        config.put("delete.after.ack", "true");
        config.put("batch.max.messages", "7");
        config.put(AckGate.CONFIG_KEY, AckGate.CONFIG_VALUE);
        AckGate.close("dovecot-drain");
        cluster.createConnector("dovecot-drain", config);

        // The broker takes the records, but the worker hears of no acknowledgement: over several sessions after
        // the first batch was fetched, Dovecot must receive no DELE (counted by Dovecot itself, under TLS).
        try {
            ConnectCluster.await(() -> dovecot.retrievedMessages("drain") >= 7, WAIT, "a first batch fetched");
            ConnectCluster.await(() -> AckGate.held("dovecot-drain") > 0, WAIT, "the broker acknowledged a record");
            awaitMoreSessions("drain", MORE_SESSIONS);
            assertEquals(0, dovecot.deletesReceived("drain"), "a DELE reached Dovecot before its record was acked");
            assertEquals(30, dovecot.messageCount("drain"));
        } finally {
            AckGate.open("dovecot-drain");
        }

        List<ConsumerRecord<String, String>> records = cluster.consume("dovecot-drain", 30, WAIT);
        assertEquals(30, records.size());
        ConnectCluster.await(() -> dovecot.messageCount("drain") == 0, WAIT, "the mailbox empties");
        assertTrue(dovecot.deletesReceived("drain") >= 30, "every mail deleted by a DELE");
        Set<String> subjects = new HashSet<>();
        for (ConsumerRecord<String, String> r : cluster.consumeAll("dovecot-drain", Duration.ofSeconds(2))) {
            subjects.add(json(r.value()).get("subject").asText());
        }
        assertEquals(30, subjects.size(), "every deleted mail is in the topic");
        cluster.connect().deleteConnector("dovecot-drain");
    }

    @Test
    void resumesFromCommittedUidlAfterRestart() throws Exception {
        String mailboxId = mailboxId(dovecot, "restart", "starttls");
        dovecot.deliver("restart", List.of(Mails.numbered(0), Mails.numbered(1), Mails.numbered(2)));
        cluster.createConnector("dovecot-restart", config(dovecot, "restart", "starttls"));
        List<ConsumerRecord<String, String>> records = cluster.consume("dovecot-restart", 3, WAIT);
        assertEquals(3, records.size());
        cluster.awaitCommittedUidl("dovecot-restart", mailboxId, lastUid(records), WAIT);
        cluster.connect().stopConnector("dovecot-restart");
        cluster.connect().assertions().assertConnectorIsStopped("dovecot-restart", "did not stop");
        dovecot.deliver("restart", List.of(Mails.numbered(3), Mails.numbered(4)));
        cluster.connect().resumeConnector("dovecot-restart");
        records = cluster.consume("dovecot-restart", 5, WAIT);
        assertEquals(5, records.size());
        cluster.awaitCommittedUidl("dovecot-restart", mailboxId, lastUid(records), WAIT);
        awaitMoreSessions("restart", MORE_SESSIONS);
        assertEquals(5, cluster.consumeAll("dovecot-restart", Duration.ofSeconds(2)).size(), "nothing republished");
        cluster.connect().deleteConnector("dovecot-restart");
    }

    @Test
    void wrongPasswordIsRejectedByValidationNamingMailboxAndCause() {
        Map<String, String> config = config(dovecot, "none", "none");
        config.put("pop3.password", "not-the-password");
        ConfigInfos infos = cluster.connect().validateConnectorConfig("Pop3SourceConnector", config);
        String errors = errorsOf(infos, "pop3.password");
        assertTrue(errors.contains("authentication failed"), errors);
        assertTrue(errors.contains("none@localhost:" + dovecot.plainPort()), errors);
        assertFalse(errors.contains("not-the-password"), "the password never appears: " + errors);
    }

    @Test
    void passwordChangedOnServerFailsTaskNamingMailboxWithoutHotLoop() throws Exception {
        cluster.createConnector("dovecot-locked", config(dovecot, "locked", "none"));
        cluster.awaitRunning("dovecot-locked", 1);
        dovecot.changePassword("locked", "rotated");
        cluster.connect().assertions().assertConnectorIsRunningAndTasksHaveFailed("dovecot-locked", 1,
                "task did not fail on the wrong password");
        ConnectorStateInfo status = cluster.status("dovecot-locked");
        String trace = status.tasks().get(0).trace();
        assertNotNull(trace);
        assertTrue(trace.contains("authentication failed"), trace);
        assertTrue(trace.contains("locked@localhost:" + dovecot.plainPort()), trace);
        assertFalse(trace.contains("pw-locked"), "the password never appears in the status");
        long attempts = dovecot.logLines().stream().filter(l -> l.contains("user=<locked>")
                && l.contains("auth failed")).count();
        Thread.sleep(2000); // an observation window: a hot loop would log in many times within it
        long later = dovecot.logLines().stream().filter(l -> l.contains("user=<locked>")
                && l.contains("auth failed")).count();
        assertEquals(attempts, later, "a failed task does not keep logging in");
        cluster.connect().deleteConnector("dovecot-locked");
    }

    @Test
    void expiredCertificateIsRejectedNamingMailboxAndCause() {
        Map<String, String> config = config(expiredCert, "expired", "tls");
        ConfigInfos infos = cluster.connect().validateConnectorConfig("Pop3SourceConnector", config);
        String errors = errorsOf(infos, "pop3.ssl.truststore.location");
        assertTrue(errors.contains("TLS"), errors);
        assertTrue(errors.contains("expired@localhost:" + expiredCert.tlsPort()), errors);
    }

    private static String errorsOf(ConfigInfos infos, String key) {
        for (ConfigInfo info : infos.configs()) {
            if (info.configValue().name().equals(key)) {
                return String.join("; ", info.configValue().errors());
            }
        }
        return "";
    }
}
