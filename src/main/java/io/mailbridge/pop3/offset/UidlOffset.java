package io.mailbridge.pop3.offset;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The committed state of one mailbox: "everything up to and including {@link #uidl()} is published".
 *
 * <p>Its size does not grow with the mailbox: {@link #RECENT_MAX} recent UIDLs, at most {@link #LIST_MAX_CHARS}
 * characters each of pending deletes and kept UIDLs (the oldest are left out beyond that; see the README's
 * "Offsets" section for what that means), in delete mode at most {@link #UNCONFIRMED_MAX_CHARS} characters of
 * UIDLs in flight (the task fetches no more than that ahead of Kafka's acknowledgements), and at most
 * {@link #BEFORE_NEWEST_MAX} + {@link #BEFORE_OLDEST_MAX} UIDLs that mark where the mail a delete-mode mailbox
 * found at its start ({@code start.from=latest}) ends.
 *
 * @param dropsPossible whether the worker could drop records of this connector (an SMT, {@code errors.tolerance=all})
 *                      when this offset was written. When it could not, a committed offset proves that every record
 *                      up to it is in Kafka, {@link #unconfirmed()} included; when it could, their outcome is unknown
 *                      after a restart and such mail is published again rather than deleted.
 * @param beforeNewest  delete mode with {@code start.from=latest}: the newest UIDLs of the mail that was in the
 *                      mailbox when it started (never published, never deleted), newest first
 * @param beforeOldest  the oldest UIDLs of that mail, oldest first
 */
public record UidlOffset(String uidl, List<String> recent, List<String> delete, List<String> keep,
                         List<String> unconfirmed, boolean dropsPossible, List<String> beforeNewest,
                         List<String> beforeOldest) {

    public static final int RECENT_MAX = 32;
    public static final int LIST_MAX_CHARS = 4096;
    /** Delete mode keeps at most this many characters of UIDLs in flight, so they all fit in the offset. */
    public static final int UNCONFIRMED_MAX_CHARS = 8192;
    public static final int BEFORE_NEWEST_MAX = 32;
    public static final int BEFORE_OLDEST_MAX = 4;

    static final String DROPS_NONE = "none";
    static final String DROPS_POSSIBLE = "possible";

    public UidlOffset {
        recent = List.copyOf(recent);
        delete = List.copyOf(delete);
        keep = List.copyOf(keep);
        unconfirmed = List.copyOf(unconfirmed);
        beforeNewest = List.copyOf(beforeNewest);
        beforeOldest = List.copyOf(beforeOldest);
    }

    public UidlOffset(String uidl, List<String> recent, List<String> delete, List<String> keep,
                      List<String> unconfirmed, boolean dropsPossible) {
        this(uidl, recent, delete, keep, unconfirmed, dropsPossible, List.of(), List.of());
    }

    public UidlOffset(String uidl, List<String> recent, List<String> delete, List<String> keep) {
        this(uidl, recent, delete, keep, List.of(), true);
    }

    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>(12);
        map.put(OffsetKeys.UIDL, uidl);
        map.put(OffsetKeys.RECENT, String.join(" ", recent));
        map.put(OffsetKeys.DELETE, String.join(" ", delete));
        map.put(OffsetKeys.KEEP, String.join(" ", keep));
        map.put(OffsetKeys.UNCONFIRMED, String.join(" ", unconfirmed));
        map.put(OffsetKeys.DROPS, dropsPossible ? DROPS_POSSIBLE : DROPS_NONE);
        map.put(OffsetKeys.BEFORE_NEWEST, String.join(" ", beforeNewest));
        map.put(OffsetKeys.BEFORE_OLDEST, String.join(" ", beforeOldest));
        return map;
    }

    /** Reads an offset as Connect hands it back; null for null. */
    public static UidlOffset fromMap(Map<String, ?> map) {
        if (map == null) {
            return null;
        }
        Object uidl = map.get(OffsetKeys.UIDL);
        if (!(uidl instanceof String) || ((String) uidl).isEmpty()) {
            throw new IllegalArgumentException("Offset has no '" + OffsetKeys.UIDL + "' string: " + map);
        }
        Object drops = map.get(OffsetKeys.DROPS);
        if (drops != null && !DROPS_NONE.equals(drops) && !DROPS_POSSIBLE.equals(drops)) {
            throw new IllegalArgumentException("Offset '" + OffsetKeys.DROPS + "' must be '" + DROPS_NONE + "' or '"
                    + DROPS_POSSIBLE + "', not " + drops);
        }
        List<String> beforeNewest = split(map.get(OffsetKeys.BEFORE_NEWEST));
        List<String> beforeOldest = split(map.get(OffsetKeys.BEFORE_OLDEST));
        if (beforeNewest.size() > BEFORE_NEWEST_MAX || beforeOldest.size() > BEFORE_OLDEST_MAX
                || beforeNewest.isEmpty() != beforeOldest.isEmpty()) {
            throw new IllegalArgumentException("Offset '" + OffsetKeys.BEFORE_NEWEST + "' and '"
                    + OffsetKeys.BEFORE_OLDEST + "' must both be empty or hold at most " + BEFORE_NEWEST_MAX + " and "
                    + BEFORE_OLDEST_MAX + " UIDLs");
        }
        // An offset written before the key existed says nothing about drops: assume the worker could drop records.
        return new UidlOffset((String) uidl, split(map.get(OffsetKeys.RECENT)), split(map.get(OffsetKeys.DELETE)),
                split(map.get(OffsetKeys.KEEP)), split(map.get(OffsetKeys.UNCONFIRMED)), !DROPS_NONE.equals(drops),
                beforeNewest, beforeOldest);
    }

    private static List<String> split(Object value) {
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof String)) {
            throw new IllegalArgumentException("Offset list must be a space-separated string, not " + value);
        }
        String s = ((String) value).trim();
        if (s.isEmpty()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String part : s.split(" ")) {
            if (!part.isEmpty()) {
                out.add(part);
            }
        }
        return out;
    }

    /** {@code list} plus {@code uid} at the end, dropping the oldest entries to stay within {@link #LIST_MAX_CHARS}. */
    static List<String> appendBounded(List<String> list, String uid) {
        List<String> out = new ArrayList<>(list.size() + 1);
        out.addAll(list);
        out.add(uid);
        int chars = 0;
        for (String s : out) {
            chars += s.length() + 1;
        }
        int from = 0;
        while (chars > LIST_MAX_CHARS && from < out.size()) {
            chars -= out.get(from++).length() + 1;
        }
        return Collections.unmodifiableList(from == 0 ? out : new ArrayList<>(out.subList(from, out.size())));
    }

    /** The newest entries of {@code newestLast} whose joined length stays within {@link #LIST_MAX_CHARS}. */
    static List<String> bounded(Collection<String> newestLast) {
        List<String> all = new ArrayList<>(newestLast);
        int chars = 0;
        int from = all.size();
        while (from > 0) {
            int len = all.get(from - 1).length() + 1;
            if (chars + len > LIST_MAX_CHARS) {
                break;
            }
            chars += len;
            from--;
        }
        // a copy, not a view: a mailbox keeps these lists while idle, and a view holds its backing list too
        return from == all.size() ? List.of() : List.copyOf(all.subList(from, all.size()));
    }
}
