package io.mailbridge.pop3;

import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.config.MailboxSource;
import io.mailbridge.pop3.mailbox.MailboxCheck;
import io.mailbridge.pop3.offset.OffsetKeys;
import io.mailbridge.pop3.offset.UidlOffset;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.source.ExactlyOnceSupport;
import org.apache.kafka.connect.source.SourceConnector;
import org.apache.kafka.connect.util.ConnectorUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Kafka Connect source connector that publishes the mail of POP3 mailboxes, one record per message, using UIDL
 * unique-ids as source offsets, and optionally deletes each message once Kafka has acknowledged its record.
 */
public class Pop3SourceConnector extends SourceConnector {

    private static final Logger log = LoggerFactory.getLogger(Pop3SourceConnector.class);
    /** Time allowed for the live login check of each mailbox in {@link #validate}. */
    static final int LIVE_CHECK_TIMEOUT_MS = 10_000;
    /** The live check runs only for this many mailboxes, to keep validation short. */
    static final int LIVE_CHECK_MAX_MAILBOXES = 20;

    /** The connector config as given, before {@code mailboxes.source} is merged in. */
    private Map<String, String> givenProps;
    /** The config the tasks are made from: {@link #givenProps} with the mailbox definitions of the source. */
    private Map<String, String> props;
    private List<String> mailboxIds;
    private ScheduledExecutorService sourceRefresh;

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        Pop3SourceConnectorConfig config;
        Map<String, String> expanded;
        try {
            expanded = MailboxSource.expand(props);
            config = new Pop3SourceConnectorConfig(expanded);
        } catch (ConfigException e) {
            throw new ConnectException("Invalid Mailbridge POP3 configuration: " + e.getMessage(), e);
        }
        this.givenProps = props; // read only; kept to read the source again
        use(expanded, config);
        log.info("Starting Mailbridge POP3 connector {} for {} mailbox(es){}", version(), mailboxIds.size(),
                mailboxIds.size() <= 20 ? ": " + mailboxIds : ", from " + mailboxIds.get(0) + " to "
                        + mailboxIds.get(mailboxIds.size() - 1));
        if (config.deletesAttachmentsNotInKafka()) {
            log.warn("delete.after.ack=true with attachments={} and include.raw=false: mail is deleted from the server"
                    + " although its attachment content is not in the record. Set include.raw=true or"
                    + " attachments=inline to keep it in Kafka.", config.attachments().configValue());
        }
        String source = props.get(MailboxSource.SOURCE_CONFIG);
        long refreshMs = config.mailboxesSourceRefreshMs();
        if (source != null && !source.isBlank() && refreshMs > 0) {
            sourceRefresh = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "mailbridge-mailboxes-source");
                t.setDaemon(true);
                return t;
            });
            sourceRefresh.scheduleWithFixedDelay(this::refreshSource, refreshMs, refreshMs, TimeUnit.MILLISECONDS);
        }
    }

    private synchronized void use(Map<String, String> expanded, Pop3SourceConnectorConfig config) {
        this.props = expanded;
        List<String> ids = new ArrayList<>();
        for (MailboxSettings m : config.mailboxes()) {
            ids.add(m.id());
        }
        this.mailboxIds = ids;
    }

    /**
     * Reads {@code mailboxes.source} again; when the definitions changed and are valid, asks Connect for new task
     * configs (Connect then restarts the tasks with them; the connector itself keeps running).
     */
    void refreshSource() {
        try {
            Map<String, String> expanded = MailboxSource.expand(givenProps);
            synchronized (this) {
                if (expanded.equals(props)) {
                    return;
                }
            }
            Pop3SourceConnectorConfig config = new Pop3SourceConnectorConfig(expanded);
            int before = mailboxIds.size();
            use(expanded, config);
            log.info("{} changed: {} mailbox(es), {} before; reconfiguring the tasks", MailboxSource.SOURCE_CONFIG,
                    config.mailboxes().size(), before);
            context.requestTaskReconfiguration();
        } catch (ConfigException e) {
            log.warn("{}: keeping the current mailbox definitions: {}", MailboxSource.SOURCE_CONFIG, e.getMessage());
        } catch (RuntimeException e) {
            log.warn("{}: keeping the current mailbox definitions", MailboxSource.SOURCE_CONFIG, e);
        }
    }

    @Override
    public Class<? extends Task> taskClass() {
        return Pop3SourceTask.class;
    }

    /** Spreads the mailboxes over at most {@code maxTasks} tasks; each mailbox goes to exactly one task. */
    @Override
    public synchronized List<Map<String, String>> taskConfigs(int maxTasks) {
        int groups = Math.max(1, Math.min(maxTasks, mailboxIds.size()));
        List<Map<String, String>> configs = new ArrayList<>();
        for (List<String> group : ConnectorUtils.groupPartitions(mailboxIds, groups)) {
            configs.add(Pop3SourceConnectorConfig.taskConfig(props, configs.size(), group));
        }
        return configs;
    }

    @Override
    public void stop() {
        log.info("Stopping Mailbridge POP3 connector");
        if (sourceRefresh != null) {
            sourceRefresh.shutdownNow();
            sourceRefresh = null;
        }
    }

    @Override
    public ConfigDef config() {
        return Pop3SourceConnectorConfig.CONFIG_DEF;
    }

    /**
     * Field checks on every key, then, when they pass, a live login check of a bounded sample of the mailboxes.
     * Per-mailbox override keys ({@code mailbox.<alias>.*}) appear in the result only when they have an error: a
     * config of 10,000 mailboxes would otherwise answer with 10,000 entries that say nothing.
     */
    @Override
    public Config validate(Map<String, String> givenConfigs) {
        Map<String, String> connectorConfigs;
        try {
            connectorConfigs = MailboxSource.expand(givenConfigs);
        } catch (ConfigException e) {
            List<ConfigValue> values = Pop3SourceConnectorConfig.CONFIG_DEF.validate(givenConfigs);
            for (ConfigValue v : values) {
                if (v.name().equals(MailboxSource.SOURCE_CONFIG)) {
                    v.addErrorMessage(e.getMessage());
                }
            }
            return new Config(values);
        }
        ConfigDef def = Pop3SourceConnectorConfig.configDef(connectorConfigs);
        List<ConfigValue> values = def.validate(connectorConfigs);
        Map<String, ConfigValue> byName = new LinkedHashMap<>();
        for (ConfigValue v : values) {
            byName.put(v.name(), v);
        }
        if (hasErrors(values)) {
            return result(values);
        }
        Pop3SourceConnectorConfig config;
        try {
            config = new Pop3SourceConnectorConfig(connectorConfigs);
        } catch (ConfigException e) {
            addError(byName, values, keyOf(e, connectorConfigs), e.getMessage());
            return result(values);
        }
        for (MailboxSettings m : config.mailboxes()) {
            if (m.truststoreLocation() != null && !new File(m.truststoreLocation()).canRead()) {
                addError(byName, values, m.key(Pop3SourceConnectorConfig.TRUSTSTORE_LOCATION_CONFIG),
                        "Mailbox " + m.id() + ": cannot read trust store file " + m.truststoreLocation());
            }
        }
        if (hasErrors(values)) {
            return result(values);
        }
        liveCheck(config.mailboxes(), byName, values);
        return result(values);
    }

    /** The values of the shared keys, and of the per-mailbox keys that have an error. */
    private static Config result(List<ConfigValue> values) {
        List<ConfigValue> out = new ArrayList<>();
        for (ConfigValue v : values) {
            if (!Pop3SourceConnectorConfig.isOverride(v.name()) || !v.errorMessages().isEmpty()) {
                out.add(v);
            }
        }
        return new Config(out);
    }

    /**
     * The mailboxes the live check logs in to: all of them up to {@link #LIVE_CHECK_MAX_MAILBOXES}, else that many
     * spread evenly over the list (first and last included), so a sample of a large config sees its different parts.
     */
    static List<MailboxSettings> liveCheckSample(List<MailboxSettings> mailboxes) {
        int n = mailboxes.size();
        if (n <= LIVE_CHECK_MAX_MAILBOXES) {
            return mailboxes;
        }
        List<MailboxSettings> sample = new ArrayList<>();
        for (int i = 0; i < LIVE_CHECK_MAX_MAILBOXES; i++) {
            sample.add(mailboxes.get((int) ((long) i * (n - 1) / (LIVE_CHECK_MAX_MAILBOXES - 1))));
        }
        return sample;
    }

    private void liveCheck(List<MailboxSettings> mailboxes, Map<String, ConfigValue> byName, List<ConfigValue> values) {
        List<MailboxSettings> checked = liveCheckSample(mailboxes);
        List<String> ids = new ArrayList<>();
        for (MailboxSettings m : checked) {
            ids.add(m.id());
        }
        log.info("Live check of {} of {} mailbox(es): {}", checked.size(), mailboxes.size(), ids);
        List<CompletableFuture<Optional<MailboxCheck.Problem>>> futures = new ArrayList<>();
        for (MailboxSettings m : checked) {
            futures.add(CompletableFuture.supplyAsync(() -> MailboxCheck.check(m, LIVE_CHECK_TIMEOUT_MS)));
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LIVE_CHECK_TIMEOUT_MS * 2L);
        for (int i = 0; i < futures.size(); i++) {
            CompletableFuture<Optional<MailboxCheck.Problem>> f = futures.get(i);
            try {
                long left = Math.max(1, deadline - System.nanoTime());
                Optional<MailboxCheck.Problem> problem = f.get(left, TimeUnit.NANOSECONDS);
                problem.ifPresent(p -> addError(byName, values, p.key(), p.message()
                        + liveCheckNote(checked.size(), mailboxes.size())));
            } catch (TimeoutException e) {
                f.cancel(true);
                log.warn("Live check of mailbox {} gave no answer in time", ids.get(i));
            } catch (ExecutionException e) {
                log.debug("Live check failed unexpectedly", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static String liveCheckNote(int checked, int all) {
        return checked == all ? "" : " (the live check logs in to " + checked + " of the " + all + " mailboxes)";
    }

    private static String keyOf(ConfigException e, Map<String, String> props) {
        String message = e.getMessage() == null ? "" : e.getMessage();
        List<String> named = new ArrayList<>(List.of(Pop3SourceConnectorConfig.HOST_CONFIG,
                Pop3SourceConnectorConfig.USERNAME_CONFIG, Pop3SourceConnectorConfig.AUTH_MECHANISMS_CONFIG));
        named.addAll(Pop3SourceConnectorConfig.OAUTH_CONFIGS);
        for (String alias : Pop3SourceConnectorConfig.aliases(props)) {
            for (String k : named) {
                String key = Pop3SourceConnectorConfig.mailboxKey(alias, k);
                if (message.contains(key)) {
                    return key;
                }
            }
        }
        for (String k : named.subList(2, named.size())) {
            if (message.contains("configuration " + k + ":")) {
                return k;
            }
        }
        if (message.contains(Pop3SourceConnectorConfig.USERNAME_CONFIG) || message.contains("user name")) {
            return Pop3SourceConnectorConfig.USERNAME_CONFIG;
        }
        return Pop3SourceConnectorConfig.HOST_CONFIG;
    }

    private static void addError(Map<String, ConfigValue> byName, List<ConfigValue> values, String key, String message) {
        ConfigValue value = byName.get(key);
        if (value == null) {
            value = new ConfigValue(key);
            byName.put(key, value);
            values.add(value);
        }
        value.addErrorMessage(message);
    }

    private static boolean hasErrors(List<ConfigValue> values) {
        for (ConfigValue v : values) {
            if (!v.errorMessages().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public ExactlyOnceSupport exactlyOnceSupport(Map<String, String> connectorConfig) {
        // Offsets and records travel in the same transaction; commitRecord (and so DELE) follows its commit.
        return ExactlyOnceSupport.SUPPORTED;
    }

    /** Accepts only offsets this connector could have written, so a typo cannot republish or skip a mailbox. */
    @Override
    public boolean alterOffsets(Map<String, String> connectorConfig, Map<Map<String, ?>, Map<String, ?>> offsets) {
        for (Map.Entry<Map<String, ?>, Map<String, ?>> e : offsets.entrySet()) {
            Map<String, ?> partition = e.getKey();
            if (partition == null || !OffsetKeys.PROTOCOL_VERSION.equals(partition.get(OffsetKeys.PROTOCOL))
                    || !(partition.get(OffsetKeys.MAILBOX) instanceof String)) {
                throw new ConnectException("Source partition must be {\"" + OffsetKeys.PROTOCOL + "\": \""
                        + OffsetKeys.PROTOCOL_VERSION + "\", \"" + OffsetKeys.MAILBOX + "\": <mailbox id>}, not "
                        + partition);
            }
            if (partition.size() != 2) {
                throw new ConnectException("Source partition has unknown keys: " + partition);
            }
            if (e.getValue() != null) {
                try {
                    UidlOffset.fromMap(e.getValue());
                } catch (IllegalArgumentException ex) {
                    throw new ConnectException("Invalid offset for mailbox " + partition.get(OffsetKeys.MAILBOX)
                            + ": " + ex.getMessage(), ex);
                }
            }
        }
        return true;
    }
}
