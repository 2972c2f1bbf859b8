package io.mailbridge.pop3.mailbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailbridge.pop3.Pop3SourceConnectorConfig;
import io.mailbridge.pop3.record.MessageMapper;
import io.mailbridge.pop3.testing.Mails;
import io.mailbridge.pop3.testing.MisbehavingPop3Server;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.Code;
import io.mailbridge.pop3.testing.MisbehavingPop3Server.Stage;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The retry schedule of a failing mailbox, read from the poller itself ({@link MailboxPoller#nextDueMs()} after each
 * failed session against a real POP3 server that refuses the login) instead of waiting it out: the README's "retried
 * every 5 minutes (doubling up to an hour)" for errors a user must fix, "1 s doubling up to 5 minutes" for transient
 * ones, each ±20% jitter. An integration test cannot afford to watch minutes go by; this one takes a second.
 */
class MailboxPollerBackoffTest {

    private static final double JITTER = 0.2;

    @Test
    void mailboxThatNeedsAttentionIsNextTriedAfterFiveMinutesDoublingToAnHour() throws Exception {
        List<Long> delays = delaysAfterFailedSessions(Code.AUTH, 7);

        long[] expected = {300_000, 600_000, 1_200_000, 2_400_000, 3_600_000, 3_600_000, 3_600_000};
        assertSchedule(expected, delays);
    }

    @Test
    void transientFailureIsRetriedAfterASecondDoublingToFiveMinutes() throws Exception {
        List<Long> delays = delaysAfterFailedSessions(Code.SYS_TEMP, 11);

        long[] expected = {1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000};
        assertSchedule(expected, delays);
    }

    /** Runs {@code sessions} sessions, each refused at login with {@code code}, and returns the delay after each. */
    private static List<Long> delaysAfterFailedSessions(Code code, int sessions) throws Exception {
        try (MisbehavingPop3Server pop3 = MisbehavingPop3Server.builder().user("backoff", "pw-backoff").build()
                .start()) {
            pop3.deliver(Mails.numbered(1));
            pop3.failAt(Stage.LOGIN, code, MisbehavingPop3Server.ALWAYS);
            Map<String, String> props = new HashMap<>();
            props.put("topic", "backoff");
            props.put("pop3.host", pop3.host());
            props.put("pop3.port", String.valueOf(pop3.port()));
            props.put("pop3.security", "none");
            props.put("pop3.username", "backoff");
            props.put("pop3.password", "pw-backoff");
            props.put("pop3.connect.timeout.ms", "2000");
            props.put("pop3.read.timeout.ms", "5000");
            Pop3SourceConnectorConfig config = new Pop3SourceConnectorConfig(props);
            MailboxPoller poller = new MailboxPoller(config.mailboxes().get(0), PollerOptions.from(config),
                    new MessageMapper(config.attachments(), config.includeRaw()), null,
                    new MailboxMetrics(null, "backoff"));
            List<Long> delays = new ArrayList<>();
            MessageBuffer buffer = new MessageBuffer();
            List<Object> records = new ArrayList<>();
            for (int i = 0; i < sessions; i++) {
                // Called before it is due, as a test may: the poller runs the session and schedules the next one.
                assertEquals(0, poller.poll(System.currentTimeMillis(), buffer, (r, bytes) -> records.add(r)));
                assertTrue(records.isEmpty());
                long after = System.currentTimeMillis();
                assertFalse(poller.lastFailure() == null, "session " + (i + 1) + " failed");
                delays.add(poller.nextDueMs() - after);
            }
            assertEquals(sessions, pop3.sessions(), "one login attempt per session\n" + pop3.describe());
            return delays;
        }
    }

    private static void assertSchedule(long[] expectedBase, List<Long> delays) {
        assertEquals(expectedBase.length, delays.size());
        for (int i = 0; i < expectedBase.length; i++) {
            long low = (long) (expectedBase[i] * (1 - JITTER)) - 1_000; // the second: time spent in the session
            long high = (long) (expectedBase[i] * (1 + JITTER));
            long delay = delays.get(i);
            assertTrue(delay >= low && delay <= high, "after failure " + (i + 1) + " the next attempt is due in "
                    + delay + " ms, expected " + expectedBase[i] + " ms ±20%; all: " + delays);
        }
    }
}
