package io.mailbridge.pop3.mailbox;

import io.mailbridge.pop3.Pop3SourceConnectorConfig;
import io.mailbridge.pop3.config.OversizePolicy;
import io.mailbridge.pop3.config.StartFrom;
import io.mailbridge.pop3.offset.UidlMismatchPolicy;

/** The connector-wide settings a {@link MailboxPoller} needs, read once from the config. */
public record PollerOptions(
        String topic,
        long pollIntervalMs,
        int batchMaxMessages,
        boolean deleteAfterAck,
        StartFrom startFrom,
        UidlMismatchPolicy uidlMismatchPolicy,
        int uidlMismatchThreshold,
        int messageMaxBytes,
        OversizePolicy oversizePolicy,
        int recordMaxBytes,
        int messageRefusedMaxAttempts,
        boolean workerMayDropRecords) {

    public static PollerOptions from(Pop3SourceConnectorConfig config) {
        return new PollerOptions(config.topic(), config.pollInterval().toMillis(), config.batchMaxMessages(),
                config.deleteAfterAck(), config.startFrom(), config.uidlMismatchPolicy(),
                config.uidlMismatchThreshold(), config.messageMaxBytes(), config.oversizePolicy(),
                config.recordMaxBytes(), config.messageRefusedMaxAttempts(), config.workerMayDropRecords());
    }
}
