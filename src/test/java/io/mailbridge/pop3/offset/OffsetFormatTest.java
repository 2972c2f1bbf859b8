package io.mailbridge.pop3.offset;

import org.apache.kafka.connect.json.JsonConverter;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kafka's offset store compares serialized keys: if the partition map serialized differently in another JVM,
 * a restarted worker would not find the committed offset and would republish the whole mailbox.
 */
class OffsetFormatTest {

    private static byte[] serialize(Object map) {
        JsonConverter converter = new JsonConverter();
        converter.configure(Map.of("schemas.enable", "false", "converter.type", "key"), true);
        return converter.fromConnectData("offsets", null, map);
    }

    @Test
    void partitionSerializesToPinnedBytes() {
        assertEquals("{\"protocol\":\"1\",\"mailbox\":\"alice@pop.example.com:995\"}",
                new String(serialize(OffsetKeys.partition("alice@pop.example.com:995")), StandardCharsets.UTF_8));
    }

    @Test
    void offsetSerializesToPinnedBytes() {
        UidlOffset offset = new UidlOffset("u3", List.of("u2", "u1"), List.of("u0"), List.of());
        assertEquals("{\"uidl\":\"u3\",\"recent\":\"u2 u1\",\"delete\":\"u0\",\"keep\":\"\",\"unconfirmed\":\"\","
                        + "\"drops\":\"possible\",\"before.newest\":\"\",\"before.oldest\":\"\"}",
                new String(serialize(offset.toMap()), StandardCharsets.UTF_8));
    }

    @Test
    void offsetRoundTripsThroughItsMap() {
        UidlOffset offset = new UidlOffset("c", List.of("b", "a"), List.of("x", "y"), List.of("k"));
        assertEquals(offset, UidlOffset.fromMap(offset.toMap()));
    }

    @Test
    void offsetWithBoundaryAndNoDropsRoundTrips() {
        UidlOffset offset = new UidlOffset("c", List.of("b"), List.of(), List.of(), List.of("b"), false,
                List.of("o9", "o8"), List.of("o1"));
        assertEquals(offset, UidlOffset.fromMap(offset.toMap()));
        assertEquals("none", offset.toMap().get("drops"));
    }

    @Test
    void rejectsOffsetWithUnknownDropsValueOrOneSidedBoundary() {
        assertThrows(IllegalArgumentException.class, () -> UidlOffset.fromMap(Map.of("uidl", "a", "drops", "maybe")));
        assertThrows(IllegalArgumentException.class,
                () -> UidlOffset.fromMap(Map.of("uidl", "a", "before.newest", "x")));
    }

    @Test
    void rejectsOffsetWithoutUidl() {
        assertThrows(IllegalArgumentException.class, () -> UidlOffset.fromMap(Map.of("recent", "a")));
        assertThrows(IllegalArgumentException.class, () -> UidlOffset.fromMap(Map.of("uidl", 5)));
    }

    @Test
    void offsetStaysSmallWhateverTheMailboxSize() {
        MailboxState state = new MailboxState(true, io.mailbridge.pop3.config.StartFrom.EARLIEST, null);
        UidlOffset last = null;
        for (int i = 0; i < 100_000; i++) {
            String uid = String.format("%070d", i); // the longest UIDL RFC 1939 allows
            last = state.published(uid, i % 3 == 0);
            state.acked(uid, true);
            if (i % 1000 == 0) {
                state.applyAcks();
            }
        }
        state.applyAcks();
        last = state.published("final", false);
        int bytes = serialize(last.toMap()).length;
        assertTrue(bytes < 16 * 1024, "offset is " + bytes + " bytes");
    }
}
