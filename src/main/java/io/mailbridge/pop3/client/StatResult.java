package io.mailbridge.pop3.client;

/**
 * The answer to STAT: the maildrop as it stands in this session.
 *
 * @param count  messages not marked as deleted
 * @param octets their total size
 */
public record StatResult(int count, long octets) {
}
