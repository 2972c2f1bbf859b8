package io.mailbridge.pop3.mailbox;

import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecordQueueTest {

    private static SourceRecord record(int n) {
        return new SourceRecord(Map.of(), Map.of(), "t", null, "v" + n);
    }

    private static CompletableFuture<Void> putLater(RecordQueue queue, int n, long bytes) {
        return CompletableFuture.runAsync(() -> {
            try {
                queue.put(record(n), bytes);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void aPutWaitsWhileTheQueueHoldsItsMostRecordsAndGoesOnOnceDrained() throws Exception {
        RecordQueue queue = new RecordQueue(2, 1_000_000);
        queue.put(record(1), 10);
        queue.put(record(2), 10);
        CompletableFuture<Void> third = putLater(queue, 3, 10);
        assertThrows(TimeoutException.class, () -> third.get(200, TimeUnit.MILLISECONDS));

        assertEquals(2, queue.drain(10, 0).size());
        third.get(5, TimeUnit.SECONDS);
        assertEquals(List.of("v3"), queue.drain(10, 0).stream().map(SourceRecord::value).toList());
    }

    @Test
    void aPutWaitsWhileTheQueueHoldsItsMostBytesButALargerRecordGoesAloneIntoAnEmptyQueue() throws Exception {
        RecordQueue queue = new RecordQueue(100, 1_000);
        queue.put(record(1), 600);
        CompletableFuture<Void> second = putLater(queue, 2, 600);
        assertThrows(TimeoutException.class, () -> second.get(200, TimeUnit.MILLISECONDS));
        queue.drain(10, 0);
        second.get(5, TimeUnit.SECONDS);
        queue.drain(10, 0);

        queue.put(record(3), 5_000); // bigger than the bound, into an empty queue: it must not wait forever
        assertEquals(1, queue.drain(10, 0).size());
    }

    @Test
    void drainKeepsTheOrderRecordsWerePutInAndTakesAtMostWhatItIsAskedFor() throws Exception {
        RecordQueue queue = new RecordQueue(100, 1_000_000);
        for (int i = 0; i < 5; i++) {
            queue.put(record(i), 1);
        }
        assertEquals(List.of("v0", "v1", "v2"), queue.drain(3, 0).stream().map(SourceRecord::value).toList());
        assertEquals(List.of("v3", "v4"), queue.drain(3, 0).stream().map(SourceRecord::value).toList());
        assertTrue(queue.drain(3, 50).isEmpty(), "nothing came within the wait");
    }

    @Test
    void closingWakesAWaitingPutWhichThenFails() throws Exception {
        RecordQueue queue = new RecordQueue(1, 1_000_000);
        queue.put(record(1), 1);
        CompletableFuture<Void> blocked = putLater(queue, 2, 1);
        assertThrows(TimeoutException.class, () -> blocked.get(200, TimeUnit.MILLISECONDS));

        queue.close();

        ExecutionException e = assertThrows(ExecutionException.class, () -> blocked.get(5, TimeUnit.SECONDS));
        assertInstanceOf(InterruptedException.class, e.getCause().getCause());
        assertFalse(queue.drain(10, 0).isEmpty(), "what was queued can still be drained");
    }
}
