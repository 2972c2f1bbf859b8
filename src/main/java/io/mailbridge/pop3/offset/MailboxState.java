package io.mailbridge.pop3.offset;

import io.mailbridge.pop3.config.StartFrom;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * What the task knows about one mailbox: which UIDLs are published, which are due for deletion, and which new
 * messages to fetch next. Used by the polling thread only, except {@link #acked}, which the producer's callback
 * thread calls; acknowledgements are queued and applied by {@link #applyAcks()} on the polling thread.
 *
 * <p>Keep mode: the newest remembered UIDL still on the server (the anchor) splits the listing into published
 * (at or before it) and new (after it), because servers list mail in arrival order.
 *
 * <p>Delete mode: published mail leaves the server, so the anchor is usually gone; a message is new unless it is
 * known to be in flight, due for deletion, kept on purpose (truncated) or dropped by the worker, or was in the
 * mailbox before it started with {@code start.from=latest} (everything up to the newest of the remembered
 * "before" UIDLs still listed). After a restart the committed pending deletes and kept UIDLs are known. The
 * committed offset's own UIDL and its unconfirmed ones are known to be in Kafka only when the worker could not drop
 * records when it was written; otherwise their outcome is unknown and, if still on the server, they are published
 * again: a duplicate, never a deletion on a guess.
 */
public final class MailboxState {

    /** Status of a published message still on the server (delete mode). */
    enum Status { IN_FLIGHT, DELETE_PENDING, KEPT, DROPPED }

    private record Ack(String uid, boolean delivered) {
    }

    private final boolean deleteMode;
    private final boolean dropsPossible;
    private final StartFrom startFrom;
    private final UidlMismatchPolicy mismatchPolicy;
    private final int mismatchThreshold;
    /** uidl + recent, oldest first; the last element is the newest published UIDL. */
    private final ArrayDeque<String> recent = new ArrayDeque<>();
    private final Set<String> recentSet = new HashSet<>();
    private final Map<String, Status> statuses = new LinkedHashMap<>();
    private final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    private boolean initialized;
    private boolean warnedNoAnchor;
    /** The offset's delete and keep lists, rebuilt only when those statuses change (not once per record). */
    private List<String> deleteList = List.of();
    private List<String> keepList = List.of();
    private boolean listsDirty = true;
    /** Delete mode: published UIDLs whose acknowledgement has not arrived, oldest first. */
    private final LinkedHashMap<String, Boolean> unconfirmed = new LinkedHashMap<>();
    private int unconfirmedChars;
    /** Delete mode, start.from=latest: where the mail found at the start ends (see {@link UidlOffset}). */
    private List<String> beforeNewest = List.of();
    private List<String> beforeOldest = List.of();
    /** Committed UIDLs whose outcome (delivered or dropped) the committed offset cannot tell. */
    private int unknownOutcomes;

    public MailboxState(boolean deleteMode, StartFrom startFrom, UidlOffset committed) {
        this(deleteMode, startFrom, UidlMismatchPolicy.EARLIEST, Integer.MAX_VALUE, true, committed);
    }

    /**
     * @param mismatchPolicy    keep mode: what to do when none of the remembered UIDLs is on the server and more
     *                          than {@code mismatchThreshold} messages are listed (the server probably rebuilt its
     *                          UIDL index); at or below the threshold the listing is taken as new mail. Delete mode
     *                          with start.from=latest: what to do when the end of the mail found at the start can no
     *                          longer be told (whatever the count: a guess there could delete old mail)
     * @param dropsPossible     whether the worker may drop this connector's records (an SMT, errors.tolerance=all)
     */
    public MailboxState(boolean deleteMode, StartFrom startFrom, UidlMismatchPolicy mismatchPolicy,
                        int mismatchThreshold, boolean dropsPossible, UidlOffset committed) {
        this.deleteMode = deleteMode;
        this.dropsPossible = dropsPossible;
        this.startFrom = startFrom;
        this.mismatchPolicy = mismatchPolicy;
        this.mismatchThreshold = mismatchThreshold;
        if (committed != null) {
            initialized = true;
            List<String> older = new ArrayList<>(committed.recent());
            for (int i = older.size() - 1; i >= 0; i--) {
                remember(older.get(i));
            }
            remember(committed.uidl());
            if (deleteMode) {
                for (String uid : committed.delete()) {
                    statuses.put(uid, Status.DELETE_PENDING);
                }
                for (String uid : committed.keep()) {
                    statuses.put(uid, Status.KEPT);
                }
                beforeNewest = committed.beforeNewest();
                beforeOldest = committed.beforeOldest();
                List<String> published = new ArrayList<>(committed.unconfirmed());
                published.add(committed.uidl());
                for (String uid : published) {
                    if (statuses.containsKey(uid)) {
                        continue;
                    }
                    if (committed.dropsPossible()) {
                        // Delivered or dropped: the offset cannot tell. Left unknown, such mail is published again
                        // if it is still on the server; a dropped record is then dropped (and kept) again.
                        unknownOutcomes++;
                    } else {
                        // Nothing could drop records when this offset was written, so its commit proves Kafka
                        // has all of them.
                        statuses.put(uid, Status.DELETE_PENDING);
                    }
                }
            }
        }
    }

    /**
     * Delete mode: how many committed UIDLs have an outcome the committed offset cannot tell (the worker could drop
     * records); those still on the server are published again instead of deleted.
     */
    public int unknownOutcomes() {
        return unknownOutcomes;
    }

    /**
     * Outcome of {@link #select}: the listing indexes to fetch, whether more new mail remains after them, and how
     * much new mail the listing holds (the backlog) with the UIDL of its oldest.
     */
    public record Selection(int[] indexes, boolean more, String warning, String mismatch, int pending,
                            String firstPending) {
        Selection(int[] indexes, boolean more, String warning) {
            this(indexes, more, warning, null, 0, null);
        }

        Selection(int[] indexes, boolean more, String warning, String mismatch) {
            this(indexes, more, warning, mismatch, 0, null);
        }
    }

    /**
     * Picks the new messages of a listing, in listing order.
     *
     * @param uids the UIDLs in the server's listing order
     * @param max  at most this many are selected
     */
    public Selection select(List<String> uids, int max) {
        String warning = null;
        if (!initialized) {
            initialized = true;
            if (startFrom == StartFrom.LATEST) {
                markSeen(uids);
                return new Selection(new int[0], false, null);
            }
        }
        int from = 0;
        if (deleteMode && !beforeNewest.isEmpty()) {
            int split = lastIndexOfAny(uids, new HashSet<>(beforeNewest));
            if (split >= 0) {
                from = split + 1;
                markBefore(uids.subList(0, split + 1));
            } else if (lastIndexOfAny(uids, new HashSet<>(beforeOldest)) < 0) {
                // neither end of the mail found at the start is listed: it has all been removed
                markBefore(List.of());
                warning = "the mail that was in the mailbox when it started (start.from=latest) is no longer on"
                        + " the server; every message from now on is new";
            } else {
                String what = "none of the " + beforeNewest.size() + " newest messages that were in the mailbox when"
                        + " it started (start.from=latest) is on the server any more, but older ones are, so the"
                        + " end of that mail can no longer be told from new mail (" + uids.size() + " messages"
                        + " listed)";
                if (mismatchPolicy == UidlMismatchPolicy.FAIL) {
                    return new Selection(new int[0], false, null, what + ". Nothing was published or deleted. To"
                            + " treat every listed message as mail found at the start set uidl.mismatch.policy=latest;"
                            + " to publish (and delete) them all set uidl.mismatch.policy=earliest.");
                }
                if (mismatchPolicy == UidlMismatchPolicy.LATEST) {
                    markBefore(unknownPrefix(uids));
                    return new Selection(new int[0], false, what + "; uidl.mismatch.policy=latest: treating the"
                            + " messages not published by the connector as mail found at the start");
                }
                markBefore(List.of());
                warning = what + "; uidl.mismatch.policy=earliest: publishing them";
            }
        }
        if (!deleteMode && !recentSet.isEmpty()) {
            int anchor = -1;
            for (int i = uids.size() - 1; i >= 0; i--) {
                if (recentSet.contains(uids.get(i))) {
                    anchor = i;
                    break;
                }
            }
            if (anchor >= 0) {
                from = anchor + 1;
                warnedNoAnchor = false;
            } else if (!uids.isEmpty()) {
                String what = "none of the " + recentSet.size() + " remembered UIDLs is on the server any more ("
                        + uids.size() + " messages listed)";
                if (uids.size() > mismatchThreshold && mismatchPolicy == UidlMismatchPolicy.FAIL) {
                    return new Selection(new int[0], false, null, what + "; the server may have rebuilt its UIDL"
                            + " index, so every message would look new. Nothing was published. To publish them all"
                            + " again set uidl.mismatch.policy=earliest; to treat them as seen set"
                            + " uidl.mismatch.policy=latest (or reset the connector's offsets).");
                }
                if (uids.size() > mismatchThreshold && mismatchPolicy == UidlMismatchPolicy.LATEST) {
                    markSeen(uids);
                    return new Selection(new int[0], false, what + "; uidl.mismatch.policy=latest: treating them"
                            + " all as seen");
                }
                if (!warnedNoAnchor) {
                    warnedNoAnchor = true;
                    warning = what + "; treating them all as new (at-least-once)";
                }
            }
        }
        int[] picked = new int[Math.max(0, Math.min(max, uids.size() - from))];
        int n = 0;
        boolean more = false;
        boolean full = false;
        int pending = 0;
        String firstPending = null;
        int budget = unconfirmedChars;
        for (int i = from; i < uids.size(); i++) {
            String uid = uids.get(i);
            if (recentSet.contains(uid) && !deleteMode) {
                continue;
            }
            if (deleteMode && statuses.containsKey(uid)) {
                continue;
            }
            pending++;
            if (firstPending == null) {
                firstPending = uid;
            }
            if (full) {
                continue;
            }
            if (n == picked.length) {
                more = true;
                full = true;
                continue;
            }
            if (deleteMode) {
                // every unacknowledged UIDL must fit in the offset, so a restart knows it was published
                budget += uid.length() + 1;
                if (budget > UidlOffset.UNCONFIRMED_MAX_CHARS) {
                    more = true;
                    full = true;
                    continue;
                }
            }
            picked[n++] = i;
        }
        int[] out = n == picked.length ? picked : java.util.Arrays.copyOf(picked, n);
        return new Selection(out, more, warning, null, pending, firstPending);
    }

    private void markSeen(List<String> uids) {
        if (deleteMode) {
            // Not a status per message: a mailbox of any size is marked by where its mail ends in the listing.
            markBefore(uids);
            return;
        }
        int start = Math.max(0, uids.size() - UidlOffset.RECENT_MAX - 1);
        for (int i = start; i < uids.size(); i++) {
            remember(uids.get(i));
        }
    }

    /** Remembers both ends of {@code before}, the listed mail that was in the mailbox when it started. */
    private void markBefore(List<String> before) {
        if (before.isEmpty()) {
            beforeNewest = List.of();
            beforeOldest = List.of();
            return;
        }
        List<String> newest = new ArrayList<>(UidlOffset.BEFORE_NEWEST_MAX);
        for (int i = before.size() - 1; i >= 0 && newest.size() < UidlOffset.BEFORE_NEWEST_MAX; i--) {
            newest.add(before.get(i));
        }
        beforeNewest = List.copyOf(newest);
        beforeOldest = List.copyOf(before.subList(0, Math.min(before.size(), UidlOffset.BEFORE_OLDEST_MAX)));
    }

    /** The listing up to the first message whose status is known (published by the connector). */
    private List<String> unknownPrefix(List<String> uids) {
        int end = 0;
        while (end < uids.size() && !statuses.containsKey(uids.get(end))) {
            end++;
        }
        return uids.subList(0, end);
    }

    private static int lastIndexOfAny(List<String> uids, Set<String> wanted) {
        for (int i = uids.size() - 1; i >= 0; i--) {
            if (wanted.contains(uids.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Records that the message is published (its record is about to be returned from poll) and returns the offset
     * that says "everything up to and including it is published".
     */
    public UidlOffset published(String uid, boolean truncated) {
        List<String> inFlight = List.of();
        if (deleteMode) {
            inFlight = new ArrayList<>(unconfirmed.keySet());
            put(uid, truncated ? Status.KEPT : Status.IN_FLIGHT);
            if (!truncated && unconfirmed.put(uid, Boolean.TRUE) == null) {
                unconfirmedChars += uid.length() + 1;
            }
        }
        refreshLists();
        UidlOffset offset = new UidlOffset(uid, recentNewestFirst(), deleteList, keepList, inFlight, dropsPossible,
                beforeNewest, beforeOldest);
        remember(uid);
        return offset;
    }

    private void put(String uid, Status status) {
        Status old = statuses.put(uid, status);
        if (old == status) {
            return;
        }
        if (old == Status.KEPT || old == Status.DELETE_PENDING || old == Status.DROPPED) {
            listsDirty = true;
        } else if (!listsDirty && (status == Status.KEPT || status == Status.DROPPED)) {
            keepList = UidlOffset.appendBounded(keepList, uid);
        } else if (!listsDirty && status == Status.DELETE_PENDING) {
            deleteList = UidlOffset.appendBounded(deleteList, uid);
        }
    }

    private void refreshLists() {
        if (listsDirty) {
            deleteList = UidlOffset.bounded(with(Status.DELETE_PENDING));
            List<String> kept = with(Status.KEPT);
            kept.addAll(with(Status.DROPPED));
            keepList = UidlOffset.bounded(kept);
            listsDirty = false;
        }
    }

    /** Called by the producer callback thread: the record of {@code uid} was written ({@code delivered}) or dropped. */
    public void acked(String uid, boolean delivered) {
        if (deleteMode) {
            acks.add(new Ack(uid, delivered));
            synchronized (acks) {
                acks.notifyAll();
            }
        }
    }

    /** Applies queued acknowledgements; returns true when deletions became due. */
    public boolean applyAcks() {
        boolean due = false;
        Ack ack;
        while ((ack = acks.poll()) != null) {
            if (unconfirmed.remove(ack.uid()) != null) {
                unconfirmedChars -= ack.uid().length() + 1;
            }
            Status status = statuses.get(ack.uid());
            if (status == Status.KEPT) {
                continue;
            }
            if (ack.delivered()) {
                put(ack.uid(), Status.DELETE_PENDING);
                due = true;
            } else {
                put(ack.uid(), Status.DROPPED);
            }
        }
        return due;
    }

    public boolean hasPendingAcks() {
        return !acks.isEmpty();
    }

    /** Waits up to {@code timeoutMs} for an acknowledgement to arrive; true when one is waiting to be applied. */
    public boolean awaitAcks(long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        synchronized (acks) {
            while (acks.isEmpty()) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return false;
                }
                acks.wait(left);
            }
        }
        return true;
    }

    /** UIDLs whose records Kafka acknowledged and that are not yet confirmed deleted. */
    public Set<String> deletable() {
        Set<String> out = new HashSet<>();
        for (Map.Entry<String, Status> e : statuses.entrySet()) {
            if (e.getValue() == Status.DELETE_PENDING) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    public boolean hasDeletable() {
        return statuses.containsValue(Status.DELETE_PENDING);
    }

    /** QUIT +OK confirmed these deletions. */
    public void deleted(Collection<String> uids) {
        for (String uid : uids) {
            statuses.remove(uid);
        }
        listsDirty = true;
    }

    /** Forgets statuses of messages that are no longer on the server (deleted by us earlier or by someone else). */
    public void retainPresent(Collection<String> present) {
        if (statuses.isEmpty()) {
            return;
        }
        Set<String> set = present instanceof Set ? (Set<String>) present : new HashSet<>(present);
        for (Iterator<Map.Entry<String, Status>> it = statuses.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Status> e = it.next();
            if (!set.contains(e.getKey()) && e.getValue() != Status.IN_FLIGHT) {
                it.remove();
                listsDirty = true;
            }
        }
    }


    private void remember(String uid) {
        if (recentSet.contains(uid)) {
            recent.remove(uid);
        } else {
            recentSet.add(uid);
        }
        recent.addLast(uid);
        while (recent.size() > UidlOffset.RECENT_MAX + 1) {
            recentSet.remove(recent.removeFirst());
        }
    }

    private List<String> recentNewestFirst() {
        List<String> out = new ArrayList<>(recent.size());
        for (Iterator<String> it = recent.descendingIterator(); it.hasNext(); ) {
            out.add(it.next());
        }
        if (out.size() > UidlOffset.RECENT_MAX) {
            return new ArrayList<>(out.subList(0, UidlOffset.RECENT_MAX));
        }
        return out;
    }

    private List<String> with(Status status) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Status> e : statuses.entrySet()) {
            if (e.getValue() == status) {
                out.add(e.getKey());
            }
        }
        return out;
    }
}
