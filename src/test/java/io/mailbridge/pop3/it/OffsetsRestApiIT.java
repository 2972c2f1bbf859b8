package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.icegreen.greenmail.user.GreenMailUser;
import io.mailbridge.pop3.testing.ConnectCluster;
import io.mailbridge.pop3.testing.GreenMailServer;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.Pop3SessionProxy;
import jakarta.ws.rs.core.Response;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.mailbridge.pop3.testing.ConnectCluster.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Connect offsets REST API on a stopped Mailbridge connector (Kafka 3.6+, what README "Offsets" tells users to
 * use): {@code PATCH /connectors/{name}/offsets} moves a mailbox to a given UIDL and is validated by the connector's
 * {@code alterOffsets}; {@code DELETE} resets it so it starts again per {@code start.from}. Real broker and worker,
 * GreenMail as the server behind {@link Pop3SessionProxy} (to see when a session has ended).
 */
class OffsetsRestApiIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ConnectCluster cluster;
    private static GreenMailServer pop3;
    private static Pop3SessionProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        pop3 = new GreenMailServer();
        proxy = new Pop3SessionProxy("127.0.0.1", pop3.port());
        cluster = ConnectCluster.start("offsets-it", 1);
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

    @Test
    void patchWithAValidOffsetMakesTheMailboxPublishWhatFollowsThatUidl() throws Exception {
        List<String> uids = publishFiveAndStop("patched");
        String mailboxId = mailboxId("patched");

        Response patch = patch("patched", offsets(mailboxId, Map.of("uidl", uids.get(1))));
        assertEquals(200, patch.getStatus(), body(patch));
        assertEquals(uids.get(1), cluster.committedOffsets("patched").values().iterator().next().get("uidl"),
                "GET offsets shows the patched offset");

        cluster.connect().resumeConnector("patched");
        List<ConsumerRecord<String, String>> records = cluster.consume("patched", 8, WAIT);
        assertEquals(8, records.size());
        List<String> republished = new ArrayList<>();
        for (ConsumerRecord<String, String> r : records.subList(5, 8)) {
            republished.add(json(r.value()).get("uid").asText());
        }
        assertEquals(uids.subList(2, 5), republished, "the three mails after the patched UIDL, in mailbox order");
        cluster.awaitCommittedUidl("patched", mailboxId, uids.get(4), WAIT);
        assertEquals(8, cluster.consumeAll("patched", Duration.ofSeconds(2)).size(), "and nothing else");
        cluster.connect().deleteConnector("patched");
    }

    @Test
    void patchWithAnInvalidOffsetIsRejectedNamingTheMailboxAndTheProblem() throws Exception {
        List<String> uids = publishFiveAndStop("invalid");
        String mailboxId = mailboxId("invalid");

        // Connect answers 500 for any offset its connector's alterOffsets refuses (FileStreamSourceConnector's too):
        // the connector API has no way to ask for 400. What users see is the message.
        Response noUidl = patch("invalid", offsets(mailboxId, Map.of("recent", uids.get(0))));
        assertRejected(noUidl);
        String message = body(noUidl);
        assertTrue(message.contains("Invalid offset for mailbox " + mailboxId) && message.contains("'uidl'"),
                "says which mailbox and what is missing: " + message);

        Map<String, Object> partition = new LinkedHashMap<>();
        partition.put("mailbox", mailboxId);
        Response noProtocol = patch("invalid", JSON.writeValueAsString(Map.of("offsets",
                List.of(Map.of("partition", partition, "offset", Map.of("uidl", uids.get(0)))))));
        assertRejected(noProtocol);
        assertTrue(body(noProtocol).contains("Source partition must be {\\\"protocol\\\": \\\"1\\\""),
                "says what a partition looks like: " + body(noProtocol));

        assertEquals(uids.get(4), cluster.committedOffsets("invalid").values().iterator().next().get("uidl"),
                "the committed offset is unchanged");
        cluster.connect().deleteConnector("invalid");
    }

    @Test
    void deleteResetsTheMailboxSoItStartsAgainFromTheEarliestMail() throws Exception {
        publishFiveAndStop("reset");

        Response reset = cluster.connect().requestDelete(offsetsUrl("reset"));
        assertEquals(200, reset.getStatus(), body(reset));
        assertTrue(cluster.committedOffsets("reset").isEmpty(), "GET offsets shows none");

        cluster.connect().resumeConnector("reset");
        assertEquals(10, cluster.consume("reset", 10, WAIT).size(), "start.from=earliest publishes all five again");
        cluster.connect().deleteConnector("reset");
    }

    @Test
    void deleteResetsTheMailboxSoWithStartFromLatestTheMailThereIsTakenAsSeen() throws Exception {
        publishFiveAndStop("reset-latest", "latest");
        GreenMailUser user = pop3.user("reset-latest", "pw-reset-latest");
        // Without the reset these two would be published on resume: they follow the committed UIDL.
        pop3.deliver(user, Mails.numbered(5));
        pop3.deliver(user, Mails.numbered(6));

        Response reset = cluster.connect().requestDelete(offsetsUrl("reset-latest"));
        assertEquals(200, reset.getStatus(), body(reset));
        assertTrue(cluster.committedOffsets("reset-latest").isEmpty(), "GET offsets shows none");

        int sessionsEnded = proxy.commands("reset-latest", "QUIT");
        cluster.connect().resumeConnector("reset-latest");
        ConnectCluster.await(() -> proxy.commands("reset-latest", "QUIT") > sessionsEnded, WAIT,
                "a first session after the reset, which takes the seven mails there as seen");
        pop3.deliver(user, Mails.numbered(99));
        List<ConsumerRecord<String, String>> records = cluster.consume("reset-latest", 6, WAIT);
        assertEquals(6, records.size());
        assertEquals("Message 99", json(records.get(5).value()).get("subject").asText());
        cluster.awaitCommittedUidl("reset-latest", mailboxId("reset-latest"),
                json(records.get(5).value()).get("uid").asText(), WAIT);
        assertEquals(6, cluster.consumeAll("reset-latest", Duration.ofSeconds(2)).size(),
                "only the mail that came after the reset; messages 5 and 6 were there, so they count as seen");
        cluster.connect().deleteConnector("reset-latest");
    }

    private List<String> publishFiveAndStop(String name) throws Exception {
        return publishFiveAndStop(name, "earliest");
    }

    /**
     * Five mails published and their offsets committed, then the connector STOPPED (the offsets API refuses a
     * running connector). Returns the UIDLs in mailbox order.
     */
    private List<String> publishFiveAndStop(String name, String startFrom) throws Exception {
        GreenMailUser user = pop3.user(name, "pw-" + name);
        for (int i = 0; i < 5; i++) {
            pop3.deliver(user, Mails.numbered(i));
        }
        Map<String, String> config = new HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", name);
        config.put("pop3.host", "127.0.0.1");
        config.put("pop3.port", String.valueOf(proxy.port()));
        config.put("pop3.security", "none");
        config.put("pop3.username", name);
        config.put("pop3.password", "pw-" + name);
        config.put("poll.interval.ms", "500");
        cluster.createConnector(name, config);
        List<ConsumerRecord<String, String>> records = cluster.consume(name, 5, WAIT);
        assertEquals(5, records.size());
        List<String> uids = new ArrayList<>();
        for (ConsumerRecord<String, String> r : records) {
            uids.add(json(r.value()).get("uid").asText());
        }
        cluster.awaitCommittedUidl(name, mailboxId(name), uids.get(4), WAIT);
        if (!"earliest".equals(startFrom)) {
            config.put("start.from", startFrom);
            cluster.createConnector(name, config);
        }
        cluster.connect().stopConnector(name);
        cluster.connect().assertions().assertConnectorIsStopped(name, "connector did not stop");
        return uids;
    }

    private static void assertRejected(Response response) {
        assertTrue(response.getStatus() >= 400, "rejected: " + response.getStatus() + " " + body(response));
    }

    private static String mailboxId(String user) {
        return user + "@127.0.0.1:" + proxy.port();
    }

    private static String offsets(String mailboxId, Map<String, String> offset) throws Exception {
        Map<String, Object> partition = new LinkedHashMap<>();
        partition.put("protocol", "1");
        partition.put("mailbox", mailboxId);
        return JSON.writeValueAsString(Map.of("offsets", List.of(Map.of("partition", partition, "offset", offset))));
    }

    private static Response patch(String connector, String body) {
        return cluster.connect().requestPatch(offsetsUrl(connector), body);
    }

    private static String offsetsUrl(String connector) {
        return cluster.connect().endpointForResource("connectors/" + connector + "/offsets");
    }

    private static String body(Response response) {
        return response.hasEntity() ? String.valueOf(response.getEntity()) : "(no body)";
    }
}
