package io.mailbridge.pop3.mailbox;

import io.mailbridge.pop3.Pop3SourceConnectorConfig;
import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.testing.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

class ClientSettingsFactoryTest {

    @TempDir
    Path dir;

    private static List<MailboxSettings> mailboxes(Path truststore) {
        Map<String, String> props = new HashMap<>();
        props.put("topic", "mail");
        props.put("pop3.host", "pop.example.com");
        props.put("pop3.ssl.truststore.location", truststore.toString());
        props.put("mailboxes", "a,b");
        props.put("mailbox.a.pop3.username", "alice");
        props.put("mailbox.b.pop3.username", "bob");
        return new Pop3SourceConnectorConfig(props).mailboxes();
    }

    @Test
    void mailboxesNamingOneTrustStoreShareOneSslContextUntilTheFileChanges() throws Exception {
        Path pem = dir.resolve("ca.pem");
        Files.copy(TestCertificates.shared().caPem(), pem);
        List<MailboxSettings> mailboxes = mailboxes(pem);
        assertSame(ClientSettingsFactory.create(mailboxes.get(0)).sslContext(),
                ClientSettingsFactory.create(mailboxes.get(1)).sslContext());
        Object before = ClientSettingsFactory.create(mailboxes.get(0)).sslContext();
        Files.setLastModifiedTime(pem, FileTime.fromMillis(Files.getLastModifiedTime(pem).toMillis() + 60_000));
        assertNotSame(before, ClientSettingsFactory.create(mailboxes.get(0)).sslContext(), "a changed file is read again");
    }
}
