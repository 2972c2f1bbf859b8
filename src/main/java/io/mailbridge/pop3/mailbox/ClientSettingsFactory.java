package io.mailbridge.pop3.mailbox;

import io.mailbridge.pop3.client.Pop3ClientSettings;
import io.mailbridge.pop3.client.TrustStores;
import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.config.Security;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Builds the wire client's settings for a mailbox. A trust store is loaded once per file (and type and password)
 * and its {@link SSLContext} shared by every mailbox that names it, reloaded when the file changes: 10,000 mailboxes
 * with one shared trust store hold one context, not 10,000.
 */
public final class ClientSettingsFactory {

    /** Enough for every distinct trust store of a worker; cleared when exceeded, never grows without bound. */
    private static final int MAX_CACHED = 64;
    private static final Map<TrustKey, SSLContext> CONTEXTS = new ConcurrentHashMap<>();

    private record TrustKey(String location, String type, String password, long modified, long size) {
        @Override
        public String toString() {
            return "TrustKey[" + location + "]"; // never the password
        }
    }

    private ClientSettingsFactory() {
    }

    /** @throws IOException when the trust store cannot be read; the message names the file */
    public static Pop3ClientSettings create(MailboxSettings mailbox) throws IOException {
        SSLContext sslContext = null;
        if (mailbox.security() != Security.NONE && mailbox.truststoreLocation() != null) {
            sslContext = sslContext(mailbox.truststoreLocation(),
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

    private static SSLContext sslContext(String location, String password, String type) throws IOException {
        Path file = Path.of(location);
        TrustKey key;
        try {
            key = new TrustKey(location, type, password, Files.getLastModifiedTime(file).toMillis(), Files.size(file));
        } catch (IOException e) {
            return TrustStores.sslContext(location, password, type); // reports the file as it always did
        }
        SSLContext cached = CONTEXTS.get(key);
        if (cached != null) {
            return cached;
        }
        SSLContext loaded = TrustStores.sslContext(location, password, type);
        if (CONTEXTS.size() >= MAX_CACHED) {
            CONTEXTS.clear();
        }
        CONTEXTS.put(key, loaded);
        return loaded;
    }
}
