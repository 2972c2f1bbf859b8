package io.mailbridge.pop3;

import io.mailbridge.pop3.config.AttachmentMode;
import io.mailbridge.pop3.config.ConfigValidators;
import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.config.MailboxSource;
import io.mailbridge.pop3.config.OAuthGrant;
import io.mailbridge.pop3.config.OAuthRecommender;
import io.mailbridge.pop3.config.OAuthSettings;
import io.mailbridge.pop3.config.OversizePolicy;
import io.mailbridge.pop3.config.SecurityRecommender;
import io.mailbridge.pop3.config.StartFrom;
import io.mailbridge.pop3.config.Security;
import io.mailbridge.pop3.offset.UidlMismatchPolicy;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.Width;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The connector's configuration: one {@link ConfigDef}, parsed once into typed accessors.
 *
 * <p>Every {@code pop3.*} key can be overridden per mailbox as {@code mailbox.<alias>.pop3.*}. Those keys are
 * defined dynamically by {@link #configDef(Map)} for the aliases listed in {@code mailboxes}, so that they are
 * typed (passwords stay {@link Password}s) and validated like the shared ones.
 */
public final class Pop3SourceConnectorConfig extends AbstractConfig {

    public static final String TOPIC_CONFIG = "topic";

    public static final String HOST_CONFIG = "pop3.host";
    public static final String PORT_CONFIG = "pop3.port";
    public static final String SECURITY_CONFIG = "pop3.security";
    public static final String USERNAME_CONFIG = "pop3.username";
    public static final String PASSWORD_CONFIG = "pop3.password";
    public static final String AUTH_MECHANISMS_CONFIG = "pop3.auth.mechanisms";
    public static final String TRUSTSTORE_LOCATION_CONFIG = "pop3.ssl.truststore.location";
    public static final String TRUSTSTORE_PASSWORD_CONFIG = "pop3.ssl.truststore.password";
    public static final String TRUSTSTORE_TYPE_CONFIG = "pop3.ssl.truststore.type";
    public static final String ENDPOINT_IDENTIFICATION_CONFIG = "pop3.ssl.endpoint.identification.enabled";
    public static final String CONNECT_TIMEOUT_CONFIG = "pop3.connect.timeout.ms";
    public static final String READ_TIMEOUT_CONFIG = "pop3.read.timeout.ms";
    public static final String PIPELINING_WINDOW_CONFIG = "pop3.pipelining.window";

    public static final String OAUTH_GRANT_CONFIG = "pop3.oauth.grant";
    public static final String OAUTH_TOKEN_ENDPOINT_CONFIG = "pop3.oauth.token.endpoint";
    public static final String OAUTH_CLIENT_ID_CONFIG = "pop3.oauth.client.id";
    public static final String OAUTH_CLIENT_SECRET_CONFIG = "pop3.oauth.client.secret";
    public static final String OAUTH_REFRESH_TOKEN_CONFIG = "pop3.oauth.refresh.token";
    public static final String OAUTH_SCOPE_CONFIG = "pop3.oauth.scope";
    public static final String OAUTH_ACCESS_TOKEN_CONFIG = "pop3.oauth.access.token";
    /** Every OAuth key, for attaching a validation error to the key it names. */
    public static final List<String> OAUTH_CONFIGS = List.of(OAUTH_GRANT_CONFIG, OAUTH_TOKEN_ENDPOINT_CONFIG,
            OAUTH_CLIENT_ID_CONFIG, OAUTH_CLIENT_SECRET_CONFIG, OAUTH_REFRESH_TOKEN_CONFIG, OAUTH_SCOPE_CONFIG,
            OAUTH_ACCESS_TOKEN_CONFIG);

    public static final String MAILBOXES_CONFIG = "mailboxes";
    public static final String MAILBOX_PREFIX = "mailbox.";

    public static final String POLL_INTERVAL_CONFIG = "poll.interval.ms";
    public static final String BATCH_MAX_MESSAGES_CONFIG = "batch.max.messages";
    public static final String DELETE_AFTER_ACK_CONFIG = "delete.after.ack";
    public static final String START_FROM_CONFIG = "start.from";
    public static final String UIDL_MISMATCH_POLICY_CONFIG = "uidl.mismatch.policy";
    public static final String UIDL_MISMATCH_THRESHOLD_CONFIG = "uidl.mismatch.threshold";
    public static final String MESSAGE_REFUSED_MAX_ATTEMPTS_CONFIG = "message.refused.max.attempts";
    public static final String SESSIONS_PER_TASK_CONFIG = "sessions.per.task";
    public static final String SESSION_TIMEOUT_CONFIG = "session.timeout.ms";
    public static final String QUEUE_MAX_RECORDS_CONFIG = "queue.max.records";
    public static final String QUEUE_MAX_BYTES_CONFIG = "queue.max.bytes";
    public static final String METRICS_PER_MAILBOX_MAX_CONFIG = "metrics.per.mailbox.max";

    public static final String MESSAGE_MAX_BYTES_CONFIG = "message.max.bytes";
    public static final String OVERSIZE_POLICY_CONFIG = "oversize.policy";
    public static final String ATTACHMENTS_CONFIG = "attachments";
    public static final String INCLUDE_RAW_CONFIG = "include.raw";
    public static final String RECORD_MAX_BYTES_CONFIG = "record.max.bytes";

    /** Connect's own keys that make the worker drop records of a connector (read from the connector config). */
    static final String TRANSFORMS_CONFIG = "transforms";
    static final String ERRORS_TOLERANCE_CONFIG = "errors.tolerance";

    /** Internal: the mailbox aliases a task polls, set by the connector in each task's config. */
    public static final String TASK_MAILBOXES_CONFIG = "mailbridge.task.mailboxes";
    /**
     * Internal: the task's number, its index in {@code taskConfigs()}, which Connect makes its task id. Workers older
     * than Kafka 4.1 do not tell a task its id, and the task tags its metrics with it.
     */
    public static final String TASK_ID_CONFIG = "mailbridge.task.id";

    static final String GROUP_CONNECTION = "Connection";
    static final String GROUP_SECURITY = "Security";
    static final String GROUP_OAUTH = "OAuth 2";
    static final String GROUP_MAILBOX = "Mailbox";
    static final String GROUP_POLLING = "Polling";
    static final String GROUP_OUTPUT = "Output";
    static final String GROUP_MAILBOX_OVERRIDES = "Mailbox overrides";

    /** Aliases become part of config keys ({@code mailbox.<alias>.pop3.host}), so no dots. */
    static final Pattern ALIAS_PATTERN = Pattern.compile("[A-Za-z0-9_-]{1,100}");

    public static final List<String> AUTH_MECHANISMS = List.of("USER", "APOP", "PLAIN", "XOAUTH2", "OAUTHBEARER");
    static final List<String> BEARER_MECHANISMS = List.of("XOAUTH2", "OAUTHBEARER");

    public static final ConfigDef CONFIG_DEF = baseConfigDef();

    private final List<MailboxSettings> mailboxes;

    /** The names of the definition this config was parsed with (per-mailbox overrides exist only when set). */
    private final Set<String> defined;

    public Pop3SourceConnectorConfig(Map<String, String> props) {
        this(configDef(props), props);
    }

    private Pop3SourceConnectorConfig(ConfigDef def, Map<String, String> props) {
        super(def, props, false);
        this.defined = def.configKeys().keySet();
        this.mailboxes = Collections.unmodifiableList(resolveMailboxes());
    }

    /**
     * The static definition plus the {@code mailbox.<alias>.pop3.*} keys that {@code props} sets for the aliases it
     * lists. Only keys that are present are defined: a key that is absent means "use the shared value", which needs
     * no definition, so the definition grows with the overrides a config carries, not with aliases times
     * {@code pop3.*} keys (10,000 mailboxes times 21 keys made validation and every task start take seconds).
     */
    public static ConfigDef configDef(Map<String, String> props) {
        List<String> aliases = aliases(props);
        if (aliases.isEmpty()) {
            return CONFIG_DEF;
        }
        Set<String> known = new HashSet<>(aliases);
        ConfigDef def = new ConfigDef(CONFIG_DEF);
        int order = 0;
        for (String name : props.keySet()) {
            String alias = overrideAlias(name);
            if (alias == null || !known.contains(alias) || !ALIAS_PATTERN.matcher(alias).matches()) {
                continue; // an alias that is not listed, or not valid (reported by the validator of "mailboxes")
            }
            ConfigDef.ConfigKey key = CONFIG_DEF.configKeys().get(name.substring(MAILBOX_PREFIX.length()
                    + alias.length() + 1));
            if (key == null || !key.name.startsWith("pop3.")) {
                continue;
            }
            def.define(name, key.type, null, nullOr(key.validator), Importance.LOW,
                    "Overrides " + key.name + " for mailbox '" + alias + "'.", GROUP_MAILBOX_OVERRIDES, ++order,
                    key.width, alias + ": " + key.displayName, key.recommender);
        }
        return def;
    }

    /** The alias of a {@code mailbox.<alias>.<key>} name, or null for any other name. */
    static String overrideAlias(String name) {
        if (!name.startsWith(MAILBOX_PREFIX)) {
            return null;
        }
        int dot = name.indexOf('.', MAILBOX_PREFIX.length());
        return dot < 0 ? null : name.substring(MAILBOX_PREFIX.length(), dot);
    }

    /** Whether {@code name} is a {@code mailbox.<alias>.*} override rather than a key of {@link #CONFIG_DEF}. */
    public static boolean isOverride(String name) {
        return overrideAlias(name) != null;
    }

    public static String mailboxKey(String alias, String pop3Key) {
        return MAILBOX_PREFIX + alias + "." + pop3Key;
    }

    /** The aliases named by {@code mailboxes}, without parsing anything else. */
    public static List<String> aliases(Map<String, String> props) {
        String raw = props.get(MAILBOXES_CONFIG);
        if (raw == null || raw.isBlank()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String part : raw.split(",")) {
            String alias = part.trim();
            if (!alias.isEmpty()) {
                out.add(alias);
            }
        }
        return out;
    }

    private static ConfigDef.Validator nullOr(ConfigDef.Validator validator) {
        if (validator == null) {
            return null;
        }
        return (name, value) -> {
            if (value != null) {
                validator.ensureValid(name, value);
            }
        };
    }

    private static ConfigDef baseConfigDef() {
        ConfigDef def = new ConfigDef();
        int order = 0;
        def.define(HOST_CONFIG, Type.STRING, null, ConfigValidators.nonBlankOrNull(), Importance.HIGH,
                "Host name of the POP3 server. Required unless every mailbox in '" + MAILBOXES_CONFIG
                        + "' sets its own 'mailbox.<alias>.pop3.host'. The host is part of the mailbox id of a"
                        + " single-mailbox connector, so changing how it is written starts that mailbox afresh.",
                GROUP_CONNECTION, ++order, Width.LONG, "POP3 host");
        def.define(PORT_CONFIG, Type.INT, null, ConfigValidators.portOrNull(), Importance.MEDIUM,
                "Port of the POP3 server. Defaults to 995 when '" + SECURITY_CONFIG + "' is 'tls', else 110.",
                GROUP_CONNECTION, ++order, Width.SHORT, "POP3 port");
        def.define(USERNAME_CONFIG, Type.STRING, null, ConfigValidators.nonBlankOrNull(), Importance.HIGH,
                "User name to log in with.", GROUP_CONNECTION, ++order, Width.MEDIUM, "User name");
        def.define(PASSWORD_CONFIG, Type.PASSWORD, null, Importance.HIGH,
                "Password. Use a config provider such as ${file:/path:key} to keep it out of the connector config."
                        + " Not used when '" + OAUTH_GRANT_CONFIG + "' is set (with XOAUTH2 or OAUTHBEARER listed in '"
                        + AUTH_MECHANISMS_CONFIG + "' and no grant, it is sent as an access token, as before).",
                GROUP_CONNECTION, ++order, Width.MEDIUM, "Password");
        def.define(AUTH_MECHANISMS_CONFIG, Type.LIST, "", ConfigValidators.subsetOf(AUTH_MECHANISMS),
                Importance.LOW,
                "Authentication mechanisms to try, in order, from " + String.join(", ", AUTH_MECHANISMS)
                        + ". Empty: the best the server offers of PLAIN (SASL, RFC 5034) and USER/PASS; with '"
                        + OAUTH_GRANT_CONFIG + "' set, XOAUTH2, or OAUTHBEARER when the server's SASL capability"
                        + " lists only that.",
                GROUP_CONNECTION, ++order, Width.MEDIUM, "Authentication mechanisms");
        def.define(CONNECT_TIMEOUT_CONFIG, Type.INT, 30_000, ConfigDef.Range.between(100, 600_000),
                Importance.LOW, "Time allowed to open the connection (TCP and TLS handshake), in milliseconds.",
                GROUP_CONNECTION, ++order, Width.SHORT, "Connect timeout (ms)");
        def.define(READ_TIMEOUT_CONFIG, Type.INT, 60_000, ConfigDef.Range.between(100, 3_600_000),
                Importance.LOW, "Longest silence allowed from the server while a response is due, in milliseconds. It is also"
                        + " each reply's overall deadline: a reply must be complete within this time plus 1 s per 16 KiB"
                        + " it carries, so a server that trickles a byte now and then is cut off.",
                GROUP_CONNECTION, ++order, Width.SHORT, "Read timeout (ms)");
        def.define(PIPELINING_WINDOW_CONFIG, Type.INT, 500, ConfigDef.Range.between(1, 10_000), Importance.LOW,
                "Most RETR commands kept in flight when the server advertises PIPELINING (RFC 2449). 1 waits for"
                        + " each message before asking for the next.",
                GROUP_CONNECTION, ++order, Width.SHORT, "Pipelining window");

        order = 0;
        def.define(SECURITY_CONFIG, Type.STRING, Security.TLS.configValue(),
                ConfigValidators.enumValue(Security.class), Importance.HIGH,
                "Connection security: 'tls' (implicit TLS, POP3S), 'starttls' (STLS before login; the connector"
                        + " never falls back to plaintext) or 'none'. With 'none' the user name, the password and"
                        + " OAuth tokens travel in clear text (APOP sends only a digest of the password, but the mail"
                        + " itself is still unencrypted); the connector logs a warning for each such mailbox at start.",
                GROUP_SECURITY, ++order, Width.SHORT, "Security", new SecurityRecommender(null));
        def.define(TRUSTSTORE_LOCATION_CONFIG, Type.STRING, null, ConfigValidators.nonBlankOrNull(),
                Importance.MEDIUM,
                "Trust store for 'tls' and 'starttls': a file of PEM certificates, or a PKCS12 or JKS store."
                        + " The JVM's default trust is used when unset.",
                GROUP_SECURITY, ++order, Width.LONG, "Trust store location", new SecurityRecommender(SECURITY_CONFIG));
        def.define(TRUSTSTORE_PASSWORD_CONFIG, Type.PASSWORD, null, Importance.LOW,
                "Password of a PKCS12 or JKS trust store; not needed for PEM.",
                GROUP_SECURITY, ++order, Width.MEDIUM, "Trust store password", new SecurityRecommender(SECURITY_CONFIG));
        def.define(TRUSTSTORE_TYPE_CONFIG, Type.STRING, null,
                ConfigValidators.oneOfOrNull(List.of("PEM", "PKCS12", "JKS")), Importance.LOW,
                "Type of the trust store: PEM, PKCS12 or JKS. Guessed from the file name when unset"
                        + " (.pem/.crt/.cer: PEM, .jks: JKS, else PKCS12).",
                GROUP_SECURITY, ++order, Width.SHORT, "Trust store type", new SecurityRecommender(SECURITY_CONFIG));
        def.define(ENDPOINT_IDENTIFICATION_CONFIG, Type.BOOLEAN, true, Importance.LOW,
                "Verify that the server certificate matches the host name. Turn off only for testing.",
                GROUP_SECURITY, ++order, Width.SHORT, "Verify host name", new SecurityRecommender(SECURITY_CONFIG));

        defineOAuth(def);

        order = 0;
        def.define(TOPIC_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
                Importance.HIGH, "Topic the message records are written to.",
                GROUP_MAILBOX, ++order, Width.LONG, "Topic");
        def.define(MAILBOXES_CONFIG, Type.LIST, "", ConfigValidators.aliases(ALIAS_PATTERN), Importance.MEDIUM,
                "Aliases of several mailboxes served by one connector. Each alias is the stable mailbox id in"
                        + " records and offsets; 'mailbox.<alias>.<pop3 key>' overrides a shared 'pop3.*' value for"
                        + " that mailbox. Empty: one mailbox, with the id 'username@host:port'. Aliases use letters,"
                        + " digits, '-' and '_'.",
                GROUP_MAILBOX, ++order, Width.LONG, "Mailbox aliases");
        def.define(MailboxSource.SOURCE_CONFIG, Type.STRING, null, ConfigValidators.nonBlankOrNull(),
                Importance.MEDIUM,
                "Mailbox definitions kept outside the connector config, for connectors with thousands of mailboxes:"
                        + " a properties file (a path on the worker that runs the connector, or a file:, http: or"
                        + " https: URL) holding 'mailbox.<alias>.<pop3 key>' lines and optionally a '"
                        + MAILBOXES_CONFIG + "' line for aliases without overrides. Its aliases are added to '"
                        + MAILBOXES_CONFIG + "'. Only the connector reads it; each task gets its mailboxes' definitions"
                        + " in its task config. Changes are picked up every '" + MailboxSource.REFRESH_CONFIG
                        + "' without restarting the connector (its tasks are reconfigured). Values in the file are"
                        + " used as written: config providers are not applied to them.",
                GROUP_MAILBOX, ++order, Width.LONG, "Mailbox definitions source");
        def.define(MailboxSource.REFRESH_CONFIG, Type.LONG, 60_000L, ConfigDef.Range.between(0L, 86_400_000L),
                Importance.LOW,
                "How often the connector reads '" + MailboxSource.SOURCE_CONFIG + "' again, in milliseconds; when"
                        + " the definitions changed, the tasks are reconfigured with the new ones. 0 reads it only when"
                        + " the connector starts. A source that cannot be read or holds invalid definitions is logged"
                        + " and the mailboxes go on with the definitions they have.",
                GROUP_MAILBOX, ++order, Width.SHORT, "Mailbox definitions refresh (ms)");
        def.define(DELETE_AFTER_ACK_CONFIG, Type.BOOLEAN, false, Importance.HIGH,
                "Delete each message on the server (DELE, committed by QUIT) once Kafka has acknowledged its"
                        + " record. 'false' keeps mail on the server. A record that does not carry the whole message"
                        + " (truncated=true) or that the worker dropped (an SMT, errors.tolerance=all) never leads to"
                        + " a deletion. Note that with '" + ATTACHMENTS_CONFIG + "' other than 'inline' and '"
                        + INCLUDE_RAW_CONFIG + "=false' the attachment content never reaches Kafka, yet the message is"
                        + " deleted: set " + INCLUDE_RAW_CONFIG + "=true or " + ATTACHMENTS_CONFIG + "=inline to keep"
                        + " it (the connector logs a warning at start otherwise).",
                GROUP_MAILBOX, ++order, Width.SHORT, "Delete after ack");
        def.define(START_FROM_CONFIG, Type.STRING, StartFrom.EARLIEST.configValue(),
                ConfigValidators.enumValue(StartFrom.class), Importance.MEDIUM,
                "For a mailbox with no committed offset: 'earliest' publishes what is there, 'latest' treats it"
                        + " as seen and publishes only mail that arrives later.",
                GROUP_MAILBOX, ++order, Width.SHORT, "Start from");
        def.define(UIDL_MISMATCH_POLICY_CONFIG, Type.STRING, UidlMismatchPolicy.FAIL.configValue(),
                ConfigValidators.enumValue(UidlMismatchPolicy.class), Importance.LOW,
                "Keep mode: what to do when none of the remembered UIDLs is on the server any more and more than '"
                        + UIDL_MISMATCH_THRESHOLD_CONFIG + "' messages are listed, which is what a server that"
                        + " rebuilt its UIDL index looks like: 'fail' stops the mailbox with an error and publishes"
                        + " nothing, 'earliest' publishes every listed message again, 'latest' treats them all as"
                        + " already published.",
                GROUP_MAILBOX, ++order, Width.SHORT, "UIDL mismatch policy");
        def.define(UIDL_MISMATCH_THRESHOLD_CONFIG, Type.INT, 50, ConfigDef.Range.atLeast(0), Importance.LOW,
                "Up to this many listed messages, a listing with none of the remembered UIDLs is taken as new mail"
                        + " (a mailbox emptied by another client and refilled) instead of applying '"
                        + UIDL_MISMATCH_POLICY_CONFIG + "'.",
                GROUP_MAILBOX, ++order, Width.SHORT, "UIDL mismatch threshold");

        order = 0;
        def.define(POLL_INTERVAL_CONFIG, Type.LONG, 60_000L, ConfigDef.Range.between(100L, 86_400_000L),
                Importance.MEDIUM,
                "Time between the starts of two polls of one mailbox once it has nothing new, in milliseconds (a"
                        + " session that takes longer is followed by the next one at once). While a backlog remains,"
                        + " the next batch is fetched at once.",
                GROUP_POLLING, ++order, Width.SHORT, "Poll interval (ms)");
        def.define(BATCH_MAX_MESSAGES_CONFIG, Type.INT, 10_000, ConfigDef.Range.between(1, 100_000),
                Importance.LOW, "At most this many messages are fetched in one POP3 session. A session with a"
                        + " backlog also ends after about 30 s of fetching (so its QUIT commits its deletes); the next"
                        + " one starts at once.",
                GROUP_POLLING, ++order, Width.SHORT, "Messages per session");
        def.define(SESSIONS_PER_TASK_CONFIG, Type.INT, 8, ConfigDef.Range.between(1, 1_000), Importance.MEDIUM,
                "Most POP3 sessions a task runs at once, each for a different mailbox (a mailbox never has two)."
                        + " Each session may hold one message of up to '" + MESSAGE_MAX_BYTES_CONFIG + "' bytes, so a"
                        + " task's memory is bounded by this times " + MESSAGE_MAX_BYTES_CONFIG + " plus '"
                        + QUEUE_MAX_BYTES_CONFIG + "'.",
                GROUP_POLLING, ++order, Width.SHORT, "Sessions per task");
        def.define(SESSION_TIMEOUT_CONFIG, Type.LONG, 300_000L, ConfigDef.Range.between(1_000L, 86_400_000L),
                Importance.LOW, "Longest a POP3 session may last, in milliseconds; a server that trickles or stalls"
                        + " past it has its connection closed (no QUIT, nothing deleted) and the mailbox backs off."
                        + " Each single read is bounded by 'pop3.read.timeout.ms' as well.",
                GROUP_POLLING, ++order, Width.SHORT, "Session timeout (ms)");
        def.define(QUEUE_MAX_RECORDS_CONFIG, Type.INT, 10_000, ConfigDef.Range.between(1, 1_000_000),
                Importance.LOW, "Most records a task holds between its sessions and the worker; a session waits"
                        + " while the queue is full.",
                GROUP_POLLING, ++order, Width.SHORT, "Queue size (records)");
        def.define(QUEUE_MAX_BYTES_CONFIG, Type.LONG, 64L * 1024 * 1024, ConfigDef.Range.between(1024L * 1024,
                        Long.MAX_VALUE), Importance.LOW,
                "Most bytes of records a task holds between its sessions and the worker (each record counted at an upper"
                        + " bound of its size as the JSON converter writes it); a session waits while the queue is full.",
                GROUP_POLLING, ++order, Width.SHORT, "Queue size (bytes)");
        def.define(METRICS_PER_MAILBOX_MAX_CONFIG, Type.INT, 1_000, ConfigDef.Range.between(0, 1_000_000),
                Importance.LOW,
                "A task with at most this many mailboxes registers the per-mailbox metrics (tag mailbox=<id>) of"
                        + " each; a task with more registers them only for a mailbox while it is failing, since each"
                        + " mailbox's metrics cost about 8 KB of worker heap. The task totals (no mailbox tag) are"
                        + " always registered.",
                GROUP_POLLING, ++order, Width.SHORT, "Per-mailbox metrics up to");
        def.define(MESSAGE_REFUSED_MAX_ATTEMPTS_CONFIG, Type.INT, 5, ConfigDef.Range.between(1, 100),
                Importance.LOW,
                "How many sessions in a row the server may refuse to deliver a message (-ERR to RETR or TOP, e.g. a"
                        + " damaged store file) before it is published as a record without content whose"
                        + " parse_error says why (never deleted). Between attempts the mailbox backs off 2 s, doubling;"
                        + " the messages after it wait, about 30 s in all with the default of 5.",
                GROUP_POLLING, ++order, Width.SHORT, "Attempts for a refused message");

        order = 0;
        def.define(MESSAGE_MAX_BYTES_CONFIG, Type.INT, 10 * 1024 * 1024,
                ConfigDef.Range.between(1024, Integer.MAX_VALUE - 1024), Importance.MEDIUM,
                "Largest message, in octets as the server sends it, that is turned into a full record; larger"
                        + " ones follow '" + OVERSIZE_POLICY_CONFIG + "'. What reaches Kafka is further bounded by '"
                        + RECORD_MAX_BYTES_CONFIG + "'.",
                GROUP_OUTPUT, ++order, Width.SHORT, "Largest message (bytes)");
        def.define(RECORD_MAX_BYTES_CONFIG, Type.INT, 1_000_000, ConfigDef.Range.between(16_384, Integer.MAX_VALUE),
                Importance.MEDIUM,
                "Largest record, in bytes as the JSON converter writes it with its schema (the largest of the usual"
                        + " converters). A record that would be larger loses attachment content, then the raw"
                        + " message, then the ends of its html and text bodies, and gets truncated=true (so it is"
                        + " never deleted). The default fits the producer's default max.request.size (1048576); raise"
                        + " both (producer.override.max.request.size, the topic's max.message.bytes) to publish larger"
                        + " mail whole.",
                GROUP_OUTPUT, ++order, Width.SHORT, "Largest record (bytes)");
        def.define(OVERSIZE_POLICY_CONFIG, Type.STRING, OversizePolicy.SKIP.configValue(),
                ConfigValidators.enumValue(OversizePolicy.class), Importance.MEDIUM,
                "What to do with a larger message: 'fail' stops the mailbox with an error naming the message;"
                        + " 'skip' publishes headers and metadata only; 'truncate' cuts the bodies and drops"
                        + " attachment content. Both set truncated=true, and such a message is never deleted.",
                GROUP_OUTPUT, ++order, Width.SHORT, "Oversize policy");
        def.define(ATTACHMENTS_CONFIG, Type.STRING, AttachmentMode.METADATA.configValue(),
                ConfigValidators.enumValue(AttachmentMode.class), Importance.MEDIUM,
                "'metadata' lists each attachment's name, type and size; 'inline' adds its content as bytes;"
                        + " 'none' leaves the attachments array empty.",
                GROUP_OUTPUT, ++order, Width.SHORT, "Attachments");
        def.define(INCLUDE_RAW_CONFIG, Type.BOOLEAN, false, Importance.LOW,
                "Also put the raw RFC 5322 message bytes in the record's 'raw' field (always set when the"
                        + " message could not be parsed).",
                GROUP_OUTPUT, ++order, Width.SHORT, "Include raw message");
        return def;
    }

    private static void defineOAuth(ConfigDef def) {
        int order = 0;
        def.define(OAUTH_GRANT_CONFIG, Type.STRING, OAuthGrant.NONE.configValue(),
                ConfigValidators.enumValue(OAuthGrant.class), Importance.HIGH,
                "Where the OAuth 2 access token for XOAUTH2/OAUTHBEARER comes from: 'none' (log in with"
                        + " pop3.password), 'client_credentials' (app-only access, Microsoft 365 POP.AccessAsApp),"
                        + " 'refresh_token' (delegated access with a refresh token: Gmail, Microsoft 365"
                        + " POP.AccessAsUser.All), or 'static' (a fixed access token in '" + OAUTH_ACCESS_TOKEN_CONFIG
                        + "'; it expires, typically after an hour, so for tests and short runs only). With a grant, the"
                        + " connector obtains tokens from the token endpoint, caches them per mailbox and renews them"
                        + " before they expire.",
                GROUP_OAUTH, ++order, Width.MEDIUM, "OAuth 2 grant", new OAuthRecommender(null));
        def.define(OAUTH_TOKEN_ENDPOINT_CONFIG, Type.STRING, null, ConfigValidators.tokenEndpointOrNull(),
                Importance.HIGH,
                "Token endpoint of the identity provider, for 'client_credentials' and 'refresh_token'. Microsoft"
                        + " 365: https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token; Google:"
                        + " https://oauth2.googleapis.com/token.",
                GROUP_OAUTH, ++order, Width.LONG, "Token endpoint",
                new OAuthRecommender(OAUTH_GRANT_CONFIG, OAuthGrant.CLIENT_CREDENTIALS, OAuthGrant.REFRESH_TOKEN));
        def.define(OAUTH_CLIENT_ID_CONFIG, Type.STRING, null, ConfigValidators.nonBlankOrNull(), Importance.HIGH,
                "Client (application) id of the app registration, for 'client_credentials' and 'refresh_token'.",
                GROUP_OAUTH, ++order, Width.MEDIUM, "Client id",
                new OAuthRecommender(OAUTH_GRANT_CONFIG, OAuthGrant.CLIENT_CREDENTIALS, OAuthGrant.REFRESH_TOKEN));
        def.define(OAUTH_CLIENT_SECRET_CONFIG, Type.PASSWORD, null, Importance.HIGH,
                "Client secret of the app registration: required for 'client_credentials', optional for"
                        + " 'refresh_token' (public clients have none). Use a config provider.",
                GROUP_OAUTH, ++order, Width.MEDIUM, "Client secret",
                new OAuthRecommender(OAUTH_GRANT_CONFIG, OAuthGrant.CLIENT_CREDENTIALS, OAuthGrant.REFRESH_TOKEN));
        def.define(OAUTH_REFRESH_TOKEN_CONFIG, Type.PASSWORD, null, Importance.HIGH,
                "Refresh token for 'refresh_token', obtained once with the user's consent. When the provider"
                        + " returns a new refresh token (Microsoft does on every renewal), the connector uses the new"
                        + " one until the task restarts, then this one again. Use a config provider.",
                GROUP_OAUTH, ++order, Width.LONG, "Refresh token",
                new OAuthRecommender(OAUTH_GRANT_CONFIG, OAuthGrant.REFRESH_TOKEN));
        def.define(OAUTH_SCOPE_CONFIG, Type.STRING, null, ConfigValidators.nonBlankOrNull(), Importance.MEDIUM,
                "Space-separated scopes to request. Required for 'client_credentials' (Microsoft 365:"
                        + " https://outlook.office365.com/.default); optional for 'refresh_token' (Gmail:"
                        + " https://mail.google.com/; Microsoft 365: https://outlook.office365.com/POP.AccessAsUser.All"
                        + " offline_access), where unset asks for the scopes originally granted.",
                GROUP_OAUTH, ++order, Width.LONG, "Scope",
                new OAuthRecommender(OAUTH_GRANT_CONFIG, OAuthGrant.CLIENT_CREDENTIALS, OAuthGrant.REFRESH_TOKEN));
        def.define(OAUTH_ACCESS_TOKEN_CONFIG, Type.PASSWORD, null, Importance.LOW,
                "A fixed access token for 'static'. It is never renewed: once it expires the mailbox fails"
                        + " authentication. For tests and short runs only.",
                GROUP_OAUTH, ++order, Width.LONG, "Static access token",
                new OAuthRecommender(OAUTH_GRANT_CONFIG, OAuthGrant.STATIC));
    }

    private List<MailboxSettings> resolveMailboxes() {
        List<String> aliases = getList(MAILBOXES_CONFIG);
        List<MailboxSettings> out = new ArrayList<>();
        if (aliases.isEmpty()) {
            out.add(mailbox(null));
        } else {
            for (String alias : aliases) {
                out.add(mailbox(alias));
            }
        }
        return out;
    }

    private MailboxSettings mailbox(String alias) {
        String host = string(alias, HOST_CONFIG);
        String username = string(alias, USERNAME_CONFIG);
        if (host == null) {
            throw new ConfigException(alias == null ? HOST_CONFIG : mailboxKey(alias, HOST_CONFIG), null,
                    "A POP3 host is required" + (alias == null ? "" : " for mailbox '" + alias + "'"));
        }
        if (username == null) {
            throw new ConfigException(alias == null ? USERNAME_CONFIG : mailboxKey(alias, USERNAME_CONFIG), null,
                    "A user name is required" + (alias == null ? "" : " for mailbox '" + alias + "'"));
        }
        Security security = Security.parse(string(alias, SECURITY_CONFIG));
        Integer port = (Integer) value(alias, PORT_CONFIG);
        int effectivePort = port != null ? port : security.defaultPort();
        String id = alias != null ? alias : username + "@" + host.toLowerCase(Locale.ROOT) + ":" + effectivePort;
        @SuppressWarnings("unchecked")
        List<String> mechanisms = (List<String>) value(alias, AUTH_MECHANISMS_CONFIG);
        List<String> upper = new ArrayList<>();
        for (String m : mechanisms) {
            upper.add(m.trim().toUpperCase(Locale.ROOT));
        }
        String trustType = string(alias, TRUSTSTORE_TYPE_CONFIG);
        OAuthSettings oauth = oauth(alias, upper);
        return new MailboxSettings(id, alias, host, effectivePort, security, username,
                (Password) value(alias, PASSWORD_CONFIG), List.copyOf(upper), // List.of() shared when empty
                string(alias, TRUSTSTORE_LOCATION_CONFIG), (Password) value(alias, TRUSTSTORE_PASSWORD_CONFIG),
                trustType == null ? null : trustType.toUpperCase(Locale.ROOT),
                (Boolean) value(alias, ENDPOINT_IDENTIFICATION_CONFIG),
                (Integer) value(alias, CONNECT_TIMEOUT_CONFIG), (Integer) value(alias, READ_TIMEOUT_CONFIG),
                (Integer) value(alias, PIPELINING_WINDOW_CONFIG), oauth);
    }

    /** The OAuth settings of a mailbox, checked for what its grant needs. */
    private OAuthSettings oauth(String alias, List<String> mechanisms) {
        OAuthGrant grant = OAuthGrant.parse(string(alias, OAUTH_GRANT_CONFIG));
        if (grant == OAuthGrant.NONE) {
            return OAuthSettings.NONE;
        }
        String forMailbox = alias == null ? "" : " for mailbox '" + alias + "'";
        String needs = "' is required" + forMailbox + " with " + OAUTH_GRANT_CONFIG + "=" + grant.configValue();
        OAuthSettings oauth = new OAuthSettings(grant, string(alias, OAUTH_TOKEN_ENDPOINT_CONFIG),
                string(alias, OAUTH_CLIENT_ID_CONFIG), (Password) value(alias, OAUTH_CLIENT_SECRET_CONFIG),
                (Password) value(alias, OAUTH_REFRESH_TOKEN_CONFIG), string(alias, OAUTH_SCOPE_CONFIG),
                (Password) value(alias, OAUTH_ACCESS_TOKEN_CONFIG));
        List<String> required = new ArrayList<>();
        switch (grant) {
            case CLIENT_CREDENTIALS:
                required.addAll(List.of(OAUTH_TOKEN_ENDPOINT_CONFIG, OAUTH_CLIENT_ID_CONFIG, OAUTH_CLIENT_SECRET_CONFIG,
                        OAUTH_SCOPE_CONFIG));
                break;
            case REFRESH_TOKEN:
                required.addAll(List.of(OAUTH_TOKEN_ENDPOINT_CONFIG, OAUTH_CLIENT_ID_CONFIG, OAUTH_REFRESH_TOKEN_CONFIG));
                break;
            default:
                required.add(OAUTH_ACCESS_TOKEN_CONFIG);
        }
        for (String key : required) {
            Object v = value(alias, key);
            if (v == null || (v instanceof Password p ? p.value() : v.toString()).isBlank()) {
                String hint = key.equals(OAUTH_SCOPE_CONFIG) ? " (Microsoft 365: https://outlook.office365.com/.default)" : "";
                throw new ConfigException(alias == null ? key : mailboxKey(alias, key), null, "'" + key + needs + hint);
            }
        }
        for (String m : mechanisms) {
            if (!BEARER_MECHANISMS.contains(m)) {
                String key = alias == null ? AUTH_MECHANISMS_CONFIG : mailboxKey(alias, AUTH_MECHANISMS_CONFIG);
                throw new ConfigException(key, String.join(",", mechanisms), "With " + OAUTH_GRANT_CONFIG + "="
                        + grant.configValue() + " only XOAUTH2 and OAUTHBEARER carry the token" + forMailbox
                        + "; leave '" + AUTH_MECHANISMS_CONFIG + "' empty to pick one from the server's capabilities");
            }
        }
        return oauth;
    }

    /** The per-mailbox override when set, else the shared value. */
    private Object value(String alias, String key) {
        if (alias != null) {
            String name = mailboxKey(alias, key);
            Object override = defined.contains(name) ? get(name) : null;
            if (override != null) {
                return override;
            }
        }
        return get(key);
    }

    private String string(String alias, String key) {
        Object v = value(alias, key);
        return v == null ? null : v.toString().trim();
    }

    public String topic() {
        return getString(TOPIC_CONFIG);
    }

    public List<MailboxSettings> mailboxes() {
        return mailboxes;
    }

    public Duration pollInterval() {
        return Duration.ofMillis(getLong(POLL_INTERVAL_CONFIG));
    }

    public int batchMaxMessages() {
        return getInt(BATCH_MAX_MESSAGES_CONFIG);
    }

    public boolean deleteAfterAck() {
        return getBoolean(DELETE_AFTER_ACK_CONFIG);
    }

    public StartFrom startFrom() {
        return StartFrom.parse(getString(START_FROM_CONFIG));
    }

    public UidlMismatchPolicy uidlMismatchPolicy() {
        return UidlMismatchPolicy.parse(getString(UIDL_MISMATCH_POLICY_CONFIG));
    }

    public int uidlMismatchThreshold() {
        return getInt(UIDL_MISMATCH_THRESHOLD_CONFIG);
    }

    public int messageMaxBytes() {
        return getInt(MESSAGE_MAX_BYTES_CONFIG);
    }

    public OversizePolicy oversizePolicy() {
        return OversizePolicy.parse(getString(OVERSIZE_POLICY_CONFIG));
    }

    public AttachmentMode attachments() {
        return AttachmentMode.parse(getString(ATTACHMENTS_CONFIG));
    }

    public boolean includeRaw() {
        return getBoolean(INCLUDE_RAW_CONFIG);
    }

    public int recordMaxBytes() {
        return getInt(RECORD_MAX_BYTES_CONFIG);
    }

    public int sessionsPerTask() {
        return getInt(SESSIONS_PER_TASK_CONFIG);
    }

    public long sessionTimeoutMs() {
        return getLong(SESSION_TIMEOUT_CONFIG);
    }

    public int queueMaxRecords() {
        return getInt(QUEUE_MAX_RECORDS_CONFIG);
    }

    public long queueMaxBytes() {
        return getLong(QUEUE_MAX_BYTES_CONFIG);
    }

    public int metricsPerMailboxMax() {
        return getInt(METRICS_PER_MAILBOX_MAX_CONFIG);
    }

    public long mailboxesSourceRefreshMs() {
        return getLong(MailboxSource.REFRESH_CONFIG);
    }

    public int messageRefusedMaxAttempts() {
        return getInt(MESSAGE_REFUSED_MAX_ATTEMPTS_CONFIG);
    }

    /**
     * Whether the worker may drop records of this connector, reporting them to {@code commitRecord} with null
     * metadata while still committing their offsets: when an SMT is configured (any SMT can return null) or
     * {@code errors.tolerance=all}. Connect hands the connector, and so its tasks, its whole config.
     */
    public boolean workerMayDropRecords() {
        Object transforms = originals().get(TRANSFORMS_CONFIG);
        Object tolerance = originals().get(ERRORS_TOLERANCE_CONFIG);
        return (transforms != null && !transforms.toString().isBlank())
                || (tolerance != null && "all".equalsIgnoreCase(tolerance.toString().trim()));
    }

    /** Delete mode that deletes mail whose attachment content is not in the record. */
    public boolean deletesAttachmentsNotInKafka() {
        return deleteAfterAck() && attachments() != AttachmentMode.INLINE && !includeRaw();
    }

    /**
     * The config of task {@code taskId}, which polls the given mailboxes: the connector's shared keys, with {@code mailboxes} and
     * the {@code mailbox.<alias>.*} overrides cut down to those mailboxes, so a task config carries its share of a
     * large connector config, not all of it (Connect stores every task config in one record of its config topic).
     */
    static Map<String, String> taskConfig(Map<String, String> connectorProps, int taskId, List<String> mailboxIds) {
        Map<String, String> props = new LinkedHashMap<>();
        boolean aliased = !aliases(connectorProps).isEmpty();
        Set<String> own = aliased ? new HashSet<>(mailboxIds) : Set.of();
        for (Map.Entry<String, String> e : connectorProps.entrySet()) {
            String alias = overrideAlias(e.getKey());
            if (alias == null || own.contains(alias)) {
                props.put(e.getKey(), e.getValue());
            }
        }
        if (aliased) {
            props.put(MAILBOXES_CONFIG, String.join(",", mailboxIds));
        }
        props.put(TASK_MAILBOXES_CONFIG, String.join(",", mailboxIds));
        props.put(TASK_ID_CONFIG, String.valueOf(taskId));
        return props;
    }

    /** Prints the config reference that the README carries. */
    public static void main(String[] args) {
        System.out.print(io.mailbridge.pop3.config.ConfigDocs.markdown(CONFIG_DEF));
    }
}
