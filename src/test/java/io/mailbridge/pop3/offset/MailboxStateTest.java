package io.mailbridge.pop3.offset;

import io.mailbridge.pop3.config.StartFrom;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MailboxStateTest {

    private static List<String> uids(String... uids) {
        return new ArrayList<>(Arrays.asList(uids));
    }

    @Test
    void earliestSelectsEverythingInListingOrder() {
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, null);
        assertArrayEquals(new int[]{0, 1, 2}, state.select(uids("a", "b", "c"), 10).indexes());
    }

    @Test
    void latestTreatsWhatIsThereAsSeen() {
        MailboxState state = new MailboxState(false, StartFrom.LATEST, null);
        assertEquals(0, state.select(uids("a", "b"), 10).indexes().length);
        assertArrayEquals(new int[]{2}, state.select(uids("a", "b", "c"), 10).indexes());
    }

    @Test
    void batchLimitLeavesTheRestForTheNextSession() {
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, null);
        MailboxState.Selection s = state.select(uids("a", "b", "c"), 2);
        assertArrayEquals(new int[]{0, 1}, s.indexes());
        assertTrue(s.more());
        state.published("a", false);
        state.published("b", false);
        s = state.select(uids("a", "b", "c"), 2);
        assertArrayEquals(new int[]{2}, s.indexes());
        assertFalse(s.more());
    }

    @Test
    void restartFromCommittedOffsetSkipsPublishedMail() {
        UidlOffset committed = new UidlOffset("c", List.of("b", "a"), List.of(), List.of());
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, committed);
        assertArrayEquals(new int[]{3}, state.select(uids("a", "b", "c", "d"), 10).indexes());
    }

    @Test
    void anchorSurvivesDeletionOfTheNewestPublishedMail() {
        UidlOffset committed = new UidlOffset("c", List.of("b", "a"), List.of(), List.of());
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, committed);
        // another client deleted "c"; "b" still splits old from new
        assertArrayEquals(new int[]{2}, state.select(uids("a", "b", "d"), 10).indexes());
    }

    @Test
    void noRememberedUidlPresentIsReportedAndAllIsNew() {
        UidlOffset committed = new UidlOffset("c", List.of("b"), List.of(), List.of());
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, committed);
        MailboxState.Selection s = state.select(uids("x", "y"), 10);
        assertArrayEquals(new int[]{0, 1}, s.indexes());
        assertNotNull(s.warning());
    }

    @Test
    void deleteModeDeletesOnlyAcknowledgedAndNeverTruncatedOrDropped() {
        MailboxState state = new MailboxState(true, StartFrom.EARLIEST, null);
        state.select(uids("a", "b", "c", "d"), 10);
        state.published("a", false);
        state.published("b", true);
        state.published("c", false);
        state.published("d", false);
        state.acked("a", true);
        state.acked("b", true);
        state.acked("c", false);
        assertTrue(state.applyAcks());
        assertEquals(Set.of("a"), state.deletable());
        assertEquals(0, state.select(uids("a", "b", "c", "d"), 10).indexes().length, "nothing republished");
        UidlOffset offset = state.published("e", false);
        assertEquals(List.of("a"), offset.delete());
        assertEquals(List.of("b", "c"), offset.keep(), "truncated and dropped mail stays on the server");
        state.deleted(List.of("a"));
        assertTrue(state.deletable().isEmpty());
    }

    @Test
    void deleteModeRetriesCommittedPendingDeletesAfterRestart() {
        UidlOffset committed = new UidlOffset("c", List.of("b", "a"), List.of("a"), List.of("k"), List.of("b"));
        MailboxState state = new MailboxState(true, StartFrom.EARLIEST, committed);
        state.retainPresent(Set.of("k", "a", "b", "c", "n"));
        // "b" and "c" were in flight: the committed offset proves Kafka has them, so they are deleted, not republished
        assertEquals(Set.of("a", "b", "c"), state.deletable());
        assertArrayEquals(new int[]{4}, state.select(uids("k", "a", "b", "c", "n"), 10).indexes());
    }

    @Test
    void deleteModeOffsetListsEveryUnacknowledgedRecordBeforeIt() {
        MailboxState state = new MailboxState(true, StartFrom.EARLIEST, null);
        state.select(uids("a", "b", "c"), 10);
        state.published("a", false);
        state.published("b", false);
        UidlOffset third = state.published("c", false);
        assertEquals(List.of("a", "b"), third.unconfirmed());
        state.acked("a", true);
        state.acked("b", false);
        state.applyAcks();
        UidlOffset fourth = state.published("d", false);
        assertEquals(List.of("c"), fourth.unconfirmed());
        assertEquals(List.of("a"), fourth.delete());
        assertEquals(List.of("b"), fourth.keep(), "a dropped record is kept on the server, also after a restart");
    }

    @Test
    void deleteModeFetchesNoFurtherThanTheOffsetCanRecord() {
        MailboxState state = new MailboxState(true, StartFrom.EARLIEST, null);
        List<String> listing = new java.util.ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            listing.add(String.format("%069d", i));
        }
        MailboxState.Selection s = state.select(listing, 1000);
        assertTrue(s.indexes().length < 1000 && s.indexes().length >= 100, "selected " + s.indexes().length);
        assertTrue(s.more());
        for (int i : s.indexes()) {
            state.published(listing.get(i), false);
        }
        assertEquals(0, state.select(listing, 1000).indexes().length, "waits for acknowledgements");
    }

    @Test
    void rebuiltUidlIndexFailsByDefaultAboveThreshold() {
        UidlOffset committed = new UidlOffset("c", List.of("b", "a"), List.of(), List.of());
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 2, committed);
        MailboxState.Selection s = state.select(uids("x", "y", "z"), 10);
        assertEquals(0, s.indexes().length);
        assertNotNull(s.mismatch());
        assertTrue(s.mismatch().contains("rebuilt"), s.mismatch());
    }

    @Test
    void smallUnanchoredListingIsNewMailNotAMismatch() {
        UidlOffset committed = new UidlOffset("c", List.of("b", "a"), List.of(), List.of());
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 2, committed);
        MailboxState.Selection s = state.select(uids("x", "y"), 10);
        assertArrayEquals(new int[]{0, 1}, s.indexes());
    }

    @Test
    void latestMismatchPolicyTreatsListingAsSeen() {
        UidlOffset committed = new UidlOffset("c", List.of("b", "a"), List.of(), List.of());
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, UidlMismatchPolicy.LATEST, 2, committed);
        assertEquals(0, state.select(uids("x", "y", "z"), 10).indexes().length);
        assertArrayEquals(new int[]{3}, state.select(uids("x", "y", "z", "new"), 10).indexes());
    }
}
