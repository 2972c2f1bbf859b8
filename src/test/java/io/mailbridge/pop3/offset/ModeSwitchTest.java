package io.mailbridge.pop3.offset;

import io.mailbridge.pop3.config.StartFrom;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What docs/operations.md ("Keep mode and delete mode") promises about switching {@code delete.after.ack} on a
 * connector that already has offsets: a duplicate at worst, never a loss and never a deletion on a guess.
 */
class ModeSwitchTest {

    @Test
    void keepOffsetInDeleteModeDeletesTheNewestPublishedAndPublishesTheOlderOnesOnceMore() {
        // keep mode published a, b, c (c newest) with nothing that could drop records; n arrived later
        UidlOffset keepOffset = new UidlOffset("c", List.of("b", "a"), List.of(), List.of(), List.of(), false);
        MailboxState state = new MailboxState(true, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 50, false, keepOffset);
        state.retainPresent(Set.of("a", "b", "c", "n"));

        assertEquals(Set.of("c"), state.deletable(), "the committed newest record is known to be in Kafka");
        assertArrayEquals(new int[] {0, 1, 3}, state.select(List.of("a", "b", "c", "n"), 10).indexes(),
                "a and b are published once more (then deleted after their ack), n is new");
    }

    @Test
    void deleteOffsetInKeepModeDeletesNothingAndPublishesWhatFollowsTheNewestRememberedUidl() {
        // delete mode had published a, b, c; a's delete was pending, k was kept on purpose (truncated)
        UidlOffset deleteOffset = new UidlOffset("c", List.of("b", "a"), List.of("a"), List.of("k"), List.of(), false);
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 50, false,
                deleteOffset);
        state.retainPresent(Set.of("k", "a", "n"));

        assertTrue(state.deletable().isEmpty(), "keep mode deletes nothing");
        assertArrayEquals(new int[] {2}, state.select(List.of("k", "a", "n"), 10).indexes(),
                "a is remembered, so only n (after it) is new");
    }

    @Test
    void deleteOffsetInKeepModeWithNoRememberedUidlLeftPublishesTheKeptMailOnceMore() {
        UidlOffset deleteOffset = new UidlOffset("c", List.of("b", "a"), List.of(), List.of("k"), List.of(), false);
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 50, false,
                deleteOffset);
        state.retainPresent(Set.of("k", "n"));

        MailboxState.Selection selection = state.select(List.of("k", "n"), 10);
        assertArrayEquals(new int[] {0, 1}, selection.indexes(),
                "below uidl.mismatch.threshold the listing is new mail: the kept k is published once more");
    }
}
