package io.mailbridge.pop3.mailbox;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads one message from the wire into a buffer reused across messages, keeping at most {@code limit} bytes and
 * counting (and discarding) the rest, so that a 200 MB attachment never sits in the heap.
 */
final class MessageBuffer {

    private static final int INITIAL = 64 * 1024;

    private byte[] buf = new byte[INITIAL];
    private long cap = Long.MAX_VALUE;
    private int length;
    private long size;

    /** Thrown when a message goes on past the most any honest server would send for it. */
    static final class RunawayMessageException extends IOException {
        RunawayMessageException(long cap) {
            super("the server sent more than " + cap + " bytes for one message, far beyond its LIST size");
        }
    }

    /**
     * Reads {@code in} to its end; keeps the first {@code limit} bytes and counts the rest, but gives up with
     * {@link RunawayMessageException} past {@code cap} bytes, so a broken or hostile server cannot keep a task
     * reading forever.
     */
    void read(InputStream in, int limit, int expectedSize, long cap) throws IOException {
        this.cap = cap;
        length = 0;
        size = 0;
        if (expectedSize > buf.length && expectedSize <= limit) {
            buf = new byte[expectedSize + 1024];
        }
        while (true) {
            if (length == buf.length) {
                if (length >= limit) {
                    size = length + skipAll(in, cap - length);
                    return;
                }
                buf = Arrays.copyOf(buf, (int) Math.min((long) limit, Math.max(2L * buf.length, INITIAL)));
            }
            int room = Math.min(buf.length, limit) - length;
            int n = in.read(buf, length, room);
            if (n < 0) {
                size = length;
                return;
            }
            length += n;
            if (length >= limit) {
                size = length + skipAll(in, cap - length);
                return;
            }
        }
    }

    /** Discards the rest of the message without copying it (the wire client skips in its own buffer). */
    private long skipAll(InputStream in, long allowed) throws IOException {
        long skipped = 0;
        while (true) {
            long n = in.skip(Math.max(1, Math.min(1L << 20, allowed - skipped + 1)));
            if (n <= 0) {
                if (in.read() < 0) {
                    return skipped;
                }
                n = 1;
            }
            skipped += n;
            if (skipped > allowed) {
                throw new RunawayMessageException(cap);
            }
        }
    }

    byte[] bytes() {
        return buf;
    }

    int length() {
        return length;
    }

    /** Octets the server delivered, including those not kept. */
    long size() {
        return size;
    }

    boolean cut() {
        return size > length;
    }

    /** Length of the header section (through the blank line), or of what was kept when it has no end. */
    int headerLength() {
        for (int i = 0; i + 1 < length; i++) {
            if (buf[i] == '\n' && (buf[i + 1] == '\n' || (buf[i + 1] == '\r' && i + 2 < length && buf[i + 2] == '\n'))) {
                return buf[i + 1] == '\n' ? i + 2 : i + 3;
            }
        }
        return length;
    }

    /** Gives back memory after an unusually large message. */
    void shrink() {
        if (buf.length > 4 * 1024 * 1024) {
            buf = new byte[INITIAL];
        }
    }
}
