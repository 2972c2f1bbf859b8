package io.mailbridge.pop3.mailbox;

import io.mailbridge.pop3.client.Pop3ClientSettings;
import io.mailbridge.pop3.client.TrustStores;
import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.config.Security;

import javax.net.ssl.SSLContext;
import java.io.IOException;

/** Builds the wire client's settings for a mailbox, loading its trust store once. */
public final class ClientSettingsFactory {

    private ClientSettingsFactory() {
    }

    /** @throws IOException when the trust store cannot be read; the message names the file */
    public static Pop3ClientSettings create(MailboxSettings mailbox) throws IOException {
        SSLContext sslContext = null;
        if (mailbox.security() != Security.NONE && mailbox.truststoreLocation() != null) {
            sslContext = TrustStores.sslContext(mailbox.truststoreLocation(),
                    mailbox.truststorePassword() == null ? null : mailbox.truststorePassword().value(),
                    mailbox.truststoreType());
        }
        return Pop3ClientSettings.builder()
                .host(mailbox.host())
                .port(mailbox.port())
                .security(mailbox.security())
                .sslContext(sslContext)
                .endpointIdentification(mailbox.endpointIdentification())
                .connectTimeoutMs(mailbox.connectTimeoutMs())
                .readTimeoutMs(mailbox.readTimeoutMs())
                .mailboxId(mailbox.id())
                .authMechanisms(mailbox.authMechanisms())
                .bearerToken(mailbox.oauth().enabled())
                .build();
    }
}
