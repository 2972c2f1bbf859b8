package io.mailbridge.pop3.mailbox;

import org.apache.kafka.connect.source.SourceRecord;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the sessions of a task and its {@code poll()} meet: records go in as they are fetched and mapped, and
 * {@code poll()} only drains. Bounded in records and in (estimated) bytes, so a task holds no more than that
 * whatever its servers list; a session whose record does not fit waits, which holds back its own mailbox only
 * while the worker catches up. Each mailbox puts its records in mailbox order, so the order per source partition is
 * kept; records of different mailboxes interleave.
 */
public final class RecordQueue {

    private record Entry(SourceRecord record, long bytes) {
    }

    private final int maxRecords;
    private final long maxBytes;
    private final ArrayDeque<Entry> entries = new ArrayDeque<>();
    private long bytes;
    private boolean closed;

    public RecordQueue(int maxRecords, long maxBytes) {
        this.maxRecords = maxRecords;
        this.maxBytes = maxBytes;
    }

    /**
     * Adds a record, waiting while the queue is full. A record larger than the whole byte bound is let in alone
     * when the queue is empty, else it could never go.
     *
     * @throws InterruptedException when the thread is interrupted or the queue is closed (the task stops)
     */
    public synchronized void put(SourceRecord record, long size) throws InterruptedException {
        while (!closed && !entries.isEmpty() && (entries.size() >= maxRecords || bytes + size > maxBytes)) {
            wait();
        }
        if (closed) {
            throw new InterruptedException("the task is stopping");
        }
        entries.addLast(new Entry(record, size));
        bytes += size;
        notifyAll();
    }

    /** Takes up to {@code max} records, waiting up to {@code waitMs} for the first; empty when none came. */
    public synchronized List<SourceRecord> drain(int max, long waitMs) throws InterruptedException {
        long deadline = System.nanoTime() + waitMs * 1_000_000L;
        while (entries.isEmpty() && !closed) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return List.of();
            }
            wait(left);
        }
        List<SourceRecord> out = new ArrayList<>(Math.min(max, entries.size()));
        while (out.size() < max && !entries.isEmpty()) {
            Entry e = entries.pollFirst();
            bytes -= e.bytes();
            out.add(e.record());
        }
        notifyAll();
        return out;
    }

    /** Wakes everyone; later puts fail, drains return what is left. */
    public synchronized void close() {
        closed = true;
        notifyAll();
    }
}
