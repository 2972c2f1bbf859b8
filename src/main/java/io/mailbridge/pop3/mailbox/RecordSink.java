package io.mailbridge.pop3.mailbox;

import org.apache.kafka.connect.source.SourceRecord;

/** Takes a session's records as they are made, in mailbox order. */
@FunctionalInterface
public interface RecordSink {

    /**
     * @param bytes the record's estimated size, for the task's memory bound
     * @throws InterruptedException when the task stops while the sink is full
     */
    void put(SourceRecord record, long bytes) throws InterruptedException;
}
