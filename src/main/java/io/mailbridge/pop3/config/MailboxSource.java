package io.mailbridge.pop3.config;

import org.apache.kafka.common.config.ConfigException;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.net.URI;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * Mailbox definitions kept outside the connector config: a properties file (a path, or a {@code file:},
 * {@code http:} or {@code https:} URL) named by {@code mailboxes.source}, holding the same keys the connector config
 * would hold, {@code mailbox.<alias>.pop3.*} overrides and optionally a {@code mailboxes} list for aliases that
 * need no override. Only the connector reads it (at start, in {@code validate()} and every
 * {@code mailboxes.source.refresh.ms}); its tasks get their mailboxes' definitions in their task configs, so every
 * task sees the same version and a worker that runs only tasks never needs the file.
 */
public final class MailboxSource {

    public static final String SOURCE_CONFIG = "mailboxes.source";
    public static final String REFRESH_CONFIG = "mailboxes.source.refresh.ms";
    private static final String MAILBOXES = "mailboxes";
    private static final String PREFIX = "mailbox.";
    private static final int URL_TIMEOUT_MS = 10_000;

    private MailboxSource() {
    }

    /**
     * The connector config with the definitions of {@code mailboxes.source} merged in: its aliases appended to
     * {@code mailboxes} (those listed in the file first, then those only named by override keys, sorted, so the
     * order and with it the task assignment stays stable) and its override keys added. Returns {@code props} itself
     * when no source is set.
     *
     * @throws ConfigException naming {@code mailboxes.source} when it cannot be read, holds a key other than
     *                         {@code mailboxes} and {@code mailbox.<alias>.*}, or sets a key the connector config
     *                         sets too
     */
    public static Map<String, String> expand(Map<String, String> props) {
        String location = props.get(SOURCE_CONFIG);
        if (location == null || location.isBlank()) {
            return props;
        }
        Map<String, String> defined;
        try {
            defined = read(location.trim());
        } catch (IOException | IllegalArgumentException e) {
            throw new ConfigException(SOURCE_CONFIG, location, "Cannot read the mailbox definitions: " + e);
        }
        Set<String> aliases = new LinkedHashSet<>(split(props.get(MAILBOXES)));
        Set<String> own = new LinkedHashSet<>(split(defined.get(MAILBOXES)));
        Map<String, String> merged = new LinkedHashMap<>(props);
        for (Map.Entry<String, String> e : defined.entrySet()) {
            String key = e.getKey();
            if (key.equals(MAILBOXES)) {
                continue;
            }
            int dot = key.startsWith(PREFIX) ? key.indexOf('.', PREFIX.length()) : -1;
            if (dot < 0) {
                throw new ConfigException(SOURCE_CONFIG, location, "'" + key + "' is not a mailbox definition: the"
                        + " file holds only 'mailboxes' and 'mailbox.<alias>.<pop3 key>' keys; shared settings belong"
                        + " in the connector config");
            }
            if (props.containsKey(key)) {
                throw new ConfigException(SOURCE_CONFIG, location, "'" + key + "' is set both in the connector config"
                        + " and in the file; set it in one place");
            }
            own.add(key.substring(PREFIX.length(), dot));
            merged.put(key, e.getValue());
        }
        aliases.addAll(own); // an alias listed in the connector config too keeps its place there
        merged.put(MAILBOXES, String.join(",", aliases));
        return merged;
    }

    /** The file's keys in a stable order: {@code mailboxes} first, then the rest sorted. */
    static Map<String, String> read(String location) throws IOException {
        Properties properties = new Properties();
        try (InputStream in = open(location);
             Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            properties.load(reader);
        }
        Map<String, String> sorted = new TreeMap<>();
        for (String name : properties.stringPropertyNames()) {
            sorted.put(name.trim(), properties.getProperty(name).trim());
        }
        Map<String, String> out = new LinkedHashMap<>();
        if (sorted.containsKey(MAILBOXES)) {
            out.put(MAILBOXES, sorted.remove(MAILBOXES));
        }
        out.putAll(sorted);
        return out;
    }

    private static InputStream open(String location) throws IOException {
        if (location.startsWith("file:") || location.contains("://")) {
            URI uri = URI.create(location);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!scheme.equals("file") && !scheme.equals("http") && !scheme.equals("https")) {
                throw new IllegalArgumentException("only a path or a file:, http: or https: URL is accepted");
            }
            URLConnection connection = uri.toURL().openConnection();
            connection.setConnectTimeout(URL_TIMEOUT_MS);
            connection.setReadTimeout(URL_TIMEOUT_MS);
            return connection.getInputStream();
        }
        return Files.newInputStream(Path.of(location));
    }

    private static List<String> split(String list) {
        List<String> out = new ArrayList<>();
        if (list == null) {
            return out;
        }
        for (String part : list.split(",")) {
            String alias = part.trim();
            if (!alias.isEmpty()) {
                out.add(alias);
            }
        }
        return out;
    }
}
