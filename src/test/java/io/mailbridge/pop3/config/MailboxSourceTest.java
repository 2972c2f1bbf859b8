package io.mailbridge.pop3.config;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MailboxSourceTest {

    @TempDir
    Path dir;

    private static Map<String, String> connector(String source) {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("topic", "mail");
        props.put("pop3.host", "pop.example.com");
        props.put("mailboxes", "inline");
        props.put("mailbox.inline.pop3.username", "in");
        if (source != null) {
            props.put(MailboxSource.SOURCE_CONFIG, source);
        }
        return props;
    }

    @Test
    void withoutSourceTheConfigIsUsedAsGiven() {
        Map<String, String> props = connector(null);
        assertSame(props, MailboxSource.expand(props));
    }

    @Test
    void fileAliasesFollowTheInlineOnesAndTheirOverridesAreMergedIn() throws Exception {
        Path file = dir.resolve("mailboxes.properties");
        Files.writeString(file, "# support desks\nmailboxes=plain\nmailbox.zeta.pop3.username=z\n"
                + "mailbox.alpha.pop3.username=a\nmailbox.alpha.pop3.port=1110\n");
        Map<String, String> merged = MailboxSource.expand(connector(file.toString()));
        assertEquals("inline,plain,alpha,zeta", merged.get("mailboxes"));
        assertEquals("a", merged.get("mailbox.alpha.pop3.username"));
        assertEquals("1110", merged.get("mailbox.alpha.pop3.port"));
        assertEquals("in", merged.get("mailbox.inline.pop3.username"));
        Map<String, String> viaUrl = MailboxSource.expand(connector(file.toUri().toString()));
        viaUrl.remove(MailboxSource.SOURCE_CONFIG);
        merged.remove(MailboxSource.SOURCE_CONFIG);
        assertEquals(merged, viaUrl, "a file: URL reads the same");
    }

    @Test
    void sharedSettingsInTheFileAreRejectedNamingTheKey() throws Exception {
        Path file = dir.resolve("bad.properties");
        Files.writeString(file, "pop3.password=oops\n");
        ConfigException e = assertThrows(ConfigException.class, () -> MailboxSource.expand(connector(file.toString())));
        assertTrue(e.getMessage().contains("pop3.password") && e.getMessage().contains(MailboxSource.SOURCE_CONFIG),
                e.getMessage());
    }

    @Test
    void keySetInBothPlacesIsRejected() throws Exception {
        Path file = dir.resolve("twice.properties");
        Files.writeString(file, "mailbox.inline.pop3.username=other\n");
        ConfigException e = assertThrows(ConfigException.class, () -> MailboxSource.expand(connector(file.toString())));
        assertTrue(e.getMessage().contains("mailbox.inline.pop3.username"), e.getMessage());
    }

    @Test
    void unreadableSourceIsReportedOnItsKey() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> MailboxSource.expand(connector(dir.resolve("missing.properties").toString())));
        assertTrue(e.getMessage().contains(MailboxSource.SOURCE_CONFIG), e.getMessage());
    }
}
