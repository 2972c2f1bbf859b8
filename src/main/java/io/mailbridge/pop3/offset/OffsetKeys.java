package io.mailbridge.pop3.offset;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every source-partition and offset key, in one place.
 *
 * <p>Kafka's offset store compares serialized keys, so the maps are built in a fixed order
 * ({@link LinkedHashMap}); {@code Map.of} iterates in an order that differs between JVMs and would make a restarted
 * worker miss the committed offset and republish a whole mailbox.
 */
public final class OffsetKeys {

    /** Version of the partition/offset format; a new format gets a new value. */
    public static final String PROTOCOL = "protocol";
    public static final String PROTOCOL_VERSION = "1";
    public static final String MAILBOX = "mailbox";

    /** The UIDL of the newest published message. */
    public static final String UIDL = "uidl";
    /** UIDLs published just before it, newest first, space-separated (UIDLs never contain spaces). */
    public static final String RECENT = "recent";
    /** UIDLs acknowledged by Kafka and due for DELE, not yet confirmed by QUIT +OK. */
    public static final String DELETE = "delete";
    /** UIDLs published but kept on the server on purpose (truncated, or dropped by the worker). */
    public static final String KEEP = "keep";
    /**
     * Delete mode: UIDLs published before this record whose acknowledgement was not known yet. Once this offset is
     * committed, Kafka has acknowledged all of them, so a restarted task deletes them instead of publishing again.
     */
    public static final String UNCONFIRMED = "unconfirmed";
    /**
     * {@code none} when the worker could not drop this connector's records as the offset was written (no SMT,
     * {@code errors.tolerance=none}), so a committed offset proves its unconfirmed UIDLs reached Kafka;
     * {@code possible} otherwise (and when the key is missing).
     */
    public static final String DROPS = "drops";
    /** Delete mode, start.from=latest: the newest UIDLs of the mail found at the start, newest first. */
    public static final String BEFORE_NEWEST = "before.newest";
    /** Delete mode, start.from=latest: the oldest UIDLs of the mail found at the start, oldest first. */
    public static final String BEFORE_OLDEST = "before.oldest";

    private OffsetKeys() {
    }

    public static Map<String, Object> partition(String mailboxId) {
        Map<String, Object> partition = new LinkedHashMap<>(4);
        partition.put(PROTOCOL, PROTOCOL_VERSION);
        partition.put(MAILBOX, mailboxId);
        return partition;
    }
}
