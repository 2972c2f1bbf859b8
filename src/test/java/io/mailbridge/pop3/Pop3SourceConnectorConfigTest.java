package io.mailbridge.pop3;

import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.config.Security;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Pop3SourceConnectorConfigTest {

    private static Map<String, String> minimal() {
        Map<String, String> props = new HashMap<>();
        props.put("topic", "mail");
        props.put("pop3.host", "POP.Example.COM");
        props.put("pop3.username", "alice");
        props.put("pop3.password", "s3cret");
        return props;
    }

    @Test
    void singleMailboxIdIsUserAtLowerCasedHostAndDefaultTlsPort() {
        Pop3SourceConnectorConfig config = new Pop3SourceConnectorConfig(minimal());
        MailboxSettings m = config.mailboxes().get(0);
        assertEquals("alice@pop.example.com:995", m.id());
        assertEquals(Security.TLS, m.security());
        assertEquals(995, m.port());
        assertTrue(m.endpointIdentification());
    }

    @Test
    void plainAndStarttlsDefaultToPort110() {
        Map<String, String> props = minimal();
        props.put("pop3.security", "STARTTLS");
        assertEquals(110, new Pop3SourceConnectorConfig(props).mailboxes().get(0).port());
        props.put("pop3.security", "none");
        assertEquals(110, new Pop3SourceConnectorConfig(props).mailboxes().get(0).port());
    }

    @Test
    void passwordNeverPrints() {
        Pop3SourceConnectorConfig config = new Pop3SourceConnectorConfig(minimal());
        MailboxSettings m = config.mailboxes().get(0);
        assertFalse(m.toString().contains("s3cret"));
        assertFalse(m.password().toString().contains("s3cret"));
        assertFalse(config.toString().contains("s3cret"));
        assertEquals("s3cret", m.password().value());
    }

    @Test
    void mailboxAliasOverridesSharedPop3Settings() {
        Map<String, String> props = minimal();
        props.put("mailboxes", "sales, billing");
        props.put("mailbox.sales.pop3.username", "sales");
        props.put("mailbox.billing.pop3.username", "billing");
        props.put("mailbox.billing.pop3.host", "other.example.com");
        props.put("mailbox.billing.pop3.port", "1995");
        props.put("mailbox.billing.pop3.password", "other");
        List<MailboxSettings> mailboxes = new Pop3SourceConnectorConfig(props).mailboxes();
        assertEquals("sales", mailboxes.get(0).id());
        assertEquals("POP.Example.COM", mailboxes.get(0).host());
        assertEquals("s3cret", mailboxes.get(0).password().value());
        assertEquals("billing", mailboxes.get(1).id());
        assertEquals("other.example.com", mailboxes.get(1).host());
        assertEquals(1995, mailboxes.get(1).port());
        assertEquals("other", mailboxes.get(1).password().value());
        assertEquals("mailbox.billing.pop3.password", mailboxes.get(1).key("pop3.password"));
    }

    @Test
    void rejectsBadValuesWithMessagesThatSayWhatIsAccepted() {
        Map<String, String> props = minimal();
        props.put("pop3.security", "ssl");
        ConfigException e = assertThrows(ConfigException.class, () -> new Pop3SourceConnectorConfig(props));
        assertTrue(e.getMessage().contains("tls, starttls, none"), e.getMessage());

        Map<String, String> badAlias = minimal();
        badAlias.put("mailboxes", "a.b");
        e = assertThrows(ConfigException.class, () -> new Pop3SourceConnectorConfig(badAlias));
        assertTrue(e.getMessage().contains("a.b"), e.getMessage());

        Map<String, String> badMech = minimal();
        badMech.put("pop3.auth.mechanisms", "USER,CRAM-MD5");
        e = assertThrows(ConfigException.class, () -> new Pop3SourceConnectorConfig(badMech));
        assertTrue(e.getMessage().contains("CRAM-MD5"), e.getMessage());
    }

    @Test
    void missingHostNamesTheMailbox() {
        Map<String, String> props = minimal();
        props.remove("pop3.host");
        props.put("mailboxes", "sales");
        ConfigException e = assertThrows(ConfigException.class, () -> new Pop3SourceConnectorConfig(props));
        assertTrue(e.getMessage().contains("sales"), e.getMessage());
    }

    @Test
    void validateReportsFieldErrorsOnTheKeyAtFault() {
        Map<String, String> props = minimal();
        props.put("pop3.port", "70000");
        props.put("oversize.policy", "drop");
        Map<String, ConfigValue> values = new HashMap<>();
        for (ConfigValue v : new Pop3SourceConnector().validate(props).configValues()) {
            values.put(v.name(), v);
        }
        assertFalse(values.get("pop3.port").errorMessages().isEmpty());
        assertFalse(values.get("oversize.policy").errorMessages().isEmpty());
        assertTrue(values.get("topic").errorMessages().isEmpty());
    }

    @Test
    void tlsKeysAreHiddenWhenSecurityIsNone() {
        Map<String, String> props = minimal();
        props.put("pop3.security", "none");
        props.put("pop3.port", "70000"); // keeps validate() from reaching the live check
        for (ConfigValue v : new Pop3SourceConnector().validate(props).configValues()) {
            if (v.name().startsWith("pop3.ssl.")) {
                assertFalse(v.visible(), v.name());
            }
        }
    }

    @Test
    void tasksSplitMailboxesSoEachIsPolledByOneTask() {
        Map<String, String> props = minimal();
        props.put("mailboxes", "a,b,c,d,e");
        Pop3SourceConnector connector = new Pop3SourceConnector();
        connector.start(props);
        List<Map<String, String>> tasks = connector.taskConfigs(2);
        assertEquals(2, tasks.size());
        assertEquals("a,b,c", tasks.get(0).get(Pop3SourceConnectorConfig.TASK_MAILBOXES_CONFIG));
        assertEquals("d,e", tasks.get(1).get(Pop3SourceConnectorConfig.TASK_MAILBOXES_CONFIG));
        assertEquals(5, connector.taskConfigs(10).size(), "never more tasks than mailboxes");
    }

    @Test
    void taskConfigCarriesOnlyItsOwnMailboxesAndTheirOverrides() {
        Map<String, String> props = minimal();
        props.put("mailboxes", "a,b,c,d");
        for (String alias : List.of("a", "b", "c", "d")) {
            props.put("mailbox." + alias + ".pop3.username", "user-" + alias);
        }
        props.put("mailbox.c.pop3.port", "1110");
        Pop3SourceConnector connector = new Pop3SourceConnector();
        connector.start(props);
        List<Map<String, String>> tasks = connector.taskConfigs(2);
        Map<String, String> second = tasks.get(1);
        assertEquals("c,d", second.get("mailboxes"));
        assertEquals("c,d", second.get(Pop3SourceConnectorConfig.TASK_MAILBOXES_CONFIG));
        assertEquals("user-c", second.get("mailbox.c.pop3.username"));
        assertEquals("1110", second.get("mailbox.c.pop3.port"));
        assertFalse(second.containsKey("mailbox.a.pop3.username"));
        assertFalse(second.containsKey("mailbox.b.pop3.username"));
        assertEquals(props.get("pop3.host"), second.get("pop3.host"), "shared keys travel with every task");
        assertEquals(List.of("c", "d"), new Pop3SourceConnectorConfig(second).mailboxes().stream()
                .map(m -> m.id()).toList());
        assertEquals(1110, new Pop3SourceConnectorConfig(second).mailboxes().get(0).port());
    }

    @Test
    void configDefDefinesOnlyTheOverridesAConfigSets() {
        Map<String, String> props = minimal();
        props.put("mailboxes", "a,b");
        props.put("mailbox.a.pop3.username", "alice");
        ConfigDef def = Pop3SourceConnectorConfig.configDef(props);
        assertTrue(def.configKeys().containsKey("mailbox.a.pop3.username"));
        assertFalse(def.configKeys().containsKey("mailbox.a.pop3.host"));
        assertFalse(def.configKeys().containsKey("mailbox.b.pop3.username"));
        assertEquals(Pop3SourceConnectorConfig.CONFIG_DEF.configKeys().size() + 1, def.configKeys().size());
    }

    @Test
    void validateListsPerMailboxKeysOnlyWhenTheyHaveAnError() {
        Map<String, String> props = minimal();
        props.put("mailboxes", "a,b");
        props.put("mailbox.a.pop3.username", "alice");
        props.put("mailbox.b.pop3.port", "70000");
        Map<String, ConfigValue> values = new HashMap<>();
        for (ConfigValue v : new Pop3SourceConnector().validate(props).configValues()) {
            values.put(v.name(), v);
        }
        assertFalse(values.containsKey("mailbox.a.pop3.username"), "a valid override says nothing");
        assertFalse(values.get("mailbox.b.pop3.port").errorMessages().isEmpty());
        assertTrue(values.containsKey("topic"));
    }

    @Test
    void liveCheckSampleIsBoundedAndSpreadOverTheMailboxes() {
        Map<String, String> props = minimal();
        List<String> aliases = new java.util.ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            aliases.add("m" + i);
        }
        props.put("mailboxes", String.join(",", aliases));
        List<String> sample = Pop3SourceConnector.liveCheckSample(new Pop3SourceConnectorConfig(props).mailboxes())
                .stream().map(m -> m.id()).toList();
        assertEquals(Pop3SourceConnector.LIVE_CHECK_MAX_MAILBOXES, sample.size());
        assertEquals("m0", sample.get(0));
        assertEquals("m999", sample.get(sample.size() - 1));
        assertEquals(sample.size(), new java.util.HashSet<>(sample).size(), "no mailbox is checked twice");
    }

    @Test
    void versionComesFromTheBuild() {
        assertFalse(new Pop3SourceConnector().version().equals("unknown"));
        assertEquals(new Pop3SourceConnector().version(), new Pop3SourceTask().version());
    }
}
