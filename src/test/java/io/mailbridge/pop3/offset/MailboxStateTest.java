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
        UidlOffset committed = new UidlOffset("c", List.of("b", "a"), List.of("a"), List.of("k"), List.of("b"), false);
        MailboxState state = new MailboxState(true, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 50, false, committed);
        state.retainPresent(Set.of("k", "a", "b", "c", "n"));
        // "b" and "c" were in flight while nothing could drop records: the commit proves Kafka has them
        assertEquals(Set.of("a", "b", "c"), state.deletable());
        assertArrayEquals(new int[]{4}, state.select(uids("k", "a", "b", "c", "n"), 10).indexes());
        assertEquals(0, state.unknownOutcomes());
    }

    @Test
    void deleteModeNeverDeletesCommittedRecordsWhoseOutcomeIsUnknownAfterRestart() {
        // written while an SMT or errors.tolerance=all could drop records: "b" and "c" may have been dropped
        UidlOffset committed = new UidlOffset("c", List.of("b", "a"), List.of("a"), List.of("k"), List.of("b"), true);
        MailboxState state = new MailboxState(true, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 50, false, committed);
        state.retainPresent(Set.of("k", "a", "b", "c", "n"));

        assertEquals(Set.of("a"), state.deletable(), "only the acknowledged delete is done");
        assertArrayEquals(new int[]{2, 3, 4}, state.select(uids("k", "a", "b", "c", "n"), 10).indexes(),
                "the unknown ones are published again (a duplicate at worst), the kept one is not");
        assertEquals(2, state.unknownOutcomes());
    }

    @Test
    void offsetWrittenBeforeTheDropsKeyExistedIsTreatedAsDropsPossible() {
        java.util.Map<String, Object> old = new java.util.LinkedHashMap<>();
        old.put("uidl", "c");
        old.put("recent", "b a");
        old.put("delete", "");
        old.put("keep", "");
        old.put("unconfirmed", "b");
        UidlOffset committed = UidlOffset.fromMap(old);
        assertTrue(committed.dropsPossible());
        MailboxState state = new MailboxState(true, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 50, false, committed);
        assertTrue(state.deletable().isEmpty());
    }

    @Test
    void droppedRecordIsKeptAndNotRepublishedOnceALaterOffsetRecordsIt() {
        MailboxState state = new MailboxState(true, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 50, true, null);
        state.select(uids("a", "b"), 10);
        state.published("a", false);
        state.published("b", false);
        state.acked("a", false);
        state.acked("b", true);
        state.applyAcks();
        UidlOffset later = state.published("c", false);
        assertTrue(later.dropsPossible());

        MailboxState restarted = new MailboxState(true, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 50, true,
                UidlOffset.fromMap(later.toMap()));
        restarted.retainPresent(Set.of("a", "b", "c"));
        assertEquals(Set.of("b"), restarted.deletable());
        assertArrayEquals(new int[]{2}, restarted.select(uids("a", "b", "c"), 10).indexes(),
                "a is kept for good, c's outcome is unknown and it is published again");
    }

    @Test
    void latestInDeleteModeRemembersTheMailFoundAtStartByItsEndsNotByEveryUidl() {
        List<String> found = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            found.add(String.format("old%05d", i));
        }
        MailboxState state = new MailboxState(true, StartFrom.LATEST, UidlMismatchPolicy.FAIL, 50, false, null);
        assertEquals(0, state.select(found, 1000).indexes().length);

        List<String> listing = new ArrayList<>(found);
        listing.add("new1");
        assertArrayEquals(new int[]{5000}, state.select(listing, 1000).indexes());
        UidlOffset offset = state.published("new1", false);
        assertEquals(UidlOffset.BEFORE_NEWEST_MAX, offset.beforeNewest().size());
        assertEquals("old04999", offset.beforeNewest().get(0));
        assertEquals("old00000", offset.beforeOldest().get(0));
        assertTrue(offset.toMap().toString().length() < 4096);

        // restarted any number of times: the mail found at the start is never selected, so never deleted
        for (int restart = 0; restart < 3; restart++) {
            MailboxState again = new MailboxState(true, StartFrom.LATEST, UidlMismatchPolicy.FAIL, 50, false,
                    UidlOffset.fromMap(offset.toMap()));
            List<String> now = new ArrayList<>(found);
            now.add("new" + (restart + 2));
            assertArrayEquals(new int[]{5000}, again.select(now, 1000).indexes());
            assertTrue(again.deletable().stream().noneMatch(u -> u.startsWith("old")));
            offset = again.published("new" + (restart + 2), false);
        }
    }

    @Test
    void latestInDeleteModeFollowsTheEndWhenOtherClientsDeleteOldMail() {
        List<String> found = uids("o1", "o2", "o3", "o4", "o5");
        MailboxState state = new MailboxState(true, StartFrom.LATEST, UidlMismatchPolicy.FAIL, 50, false, null);
        state.select(found, 10);
        // another client deletes the newest old message: o4 still marks the end
        assertArrayEquals(new int[]{4}, state.select(uids("o1", "o2", "o3", "o4", "n1"), 10).indexes());
        // all old mail removed: everything listed is new
        MailboxState.Selection s = state.select(uids("n1", "n2"), 10);
        assertArrayEquals(new int[]{0, 1}, s.indexes());
        assertNotNull(s.warning());
    }

    @Test
    void latestInDeleteModeStopsWhenTheEndOfTheOldMailCannotBeTold() {
        List<String> found = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            found.add("o" + i);
        }
        MailboxState state = new MailboxState(true, StartFrom.LATEST, UidlMismatchPolicy.FAIL, 50, false, null);
        state.select(found, 10);
        // someone deleted the 40 newest old messages at once while older ones remain
        List<String> listing = new ArrayList<>(found.subList(0, 60));
        listing.add("n1");
        MailboxState.Selection s = state.select(listing, 10);
        assertEquals(0, s.indexes().length);
        assertNotNull(s.mismatch());
        assertTrue(s.mismatch().contains("Nothing was published or deleted"), s.mismatch());

        MailboxState latest = new MailboxState(true, StartFrom.LATEST, UidlMismatchPolicy.LATEST, 50, false, null);
        latest.select(found, 10);
        assertEquals(0, latest.select(listing, 10).indexes().length);
        List<String> more = new ArrayList<>(listing);
        more.add("n2");
        assertArrayEquals(new int[]{61}, latest.select(more, 10).indexes(), "n1 counts as found at the start too");
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
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 2, false, committed);
        MailboxState.Selection s = state.select(uids("x", "y", "z"), 10);
        assertEquals(0, s.indexes().length);
        assertNotNull(s.mismatch());
        assertTrue(s.mismatch().contains("rebuilt"), s.mismatch());
    }

    @Test
    void smallUnanchoredListingIsNewMailNotAMismatch() {
        UidlOffset committed = new UidlOffset("c", List.of("b", "a"), List.of(), List.of());
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, UidlMismatchPolicy.FAIL, 2, false, committed);
        MailboxState.Selection s = state.select(uids("x", "y"), 10);
        assertArrayEquals(new int[]{0, 1}, s.indexes());
    }

    @Test
    void latestMismatchPolicyTreatsListingAsSeen() {
        UidlOffset committed = new UidlOffset("c", List.of("b", "a"), List.of(), List.of());
        MailboxState state = new MailboxState(false, StartFrom.EARLIEST, UidlMismatchPolicy.LATEST, 2, false, committed);
        assertEquals(0, state.select(uids("x", "y", "z"), 10).indexes().length);
        assertArrayEquals(new int[]{3}, state.select(uids("x", "y", "z", "new"), 10).indexes());
    }
}
