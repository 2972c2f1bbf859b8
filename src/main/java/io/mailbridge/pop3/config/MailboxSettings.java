package io.mailbridge.pop3.config;

import org.apache.kafka.common.config.types.Password;

import java.util.List;

/**
 * Everything needed to reach one mailbox, with per-mailbox overrides already applied.
 *
 * @param id        the stable mailbox id used in records and offsets: the alias, or {@code user@host:port}
 * @param alias     the alias from {@code mailboxes}, or null for a single-mailbox connector
 * @param password  kept as a {@link Password} so it never prints; call {@code value()} only to log in
 * @param oauth     how OAuth 2 access tokens are obtained; {@link OAuthSettings#NONE} to log in with the password
 */
public record MailboxSettings(
        String id,
        String alias,
        String host,
        int port,
        Security security,
        String username,
        Password password,
        List<String> authMechanisms,
        String truststoreLocation,
        Password truststorePassword,
        String truststoreType,
        boolean endpointIdentification,
        int connectTimeoutMs,
        int readTimeoutMs,
        int pipeliningWindow,
        OAuthSettings oauth) {

    /** The config key for a pop3.* setting of this mailbox, to attach validation errors to the right key. */
    public String key(String pop3Key) {
        return alias == null ? pop3Key : "mailbox." + alias + "." + pop3Key;
    }

    /** The same mailbox with connect and read timeouts of at most {@code maxMs}. */
    public MailboxSettings withTimeoutsAtMost(int maxMs) {
        return new MailboxSettings(id, alias, host, port, security, username, password, authMechanisms,
                truststoreLocation, truststorePassword, truststoreType, endpointIdentification,
                Math.min(maxMs, connectTimeoutMs), Math.min(maxMs, readTimeoutMs), pipeliningWindow, oauth);
    }

    @Override
    public String toString() {
        return "MailboxSettings[" + id + " " + security.configValue() + "://" + host + ":" + port + "]";
    }
}
