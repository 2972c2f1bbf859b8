package io.mailbridge.pop3.config;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/** Validators whose messages tell the user what is accepted, not only that the value is wrong. */
public final class ConfigValidators {

    private ConfigValidators() {
    }

    /** One of an enum's constants, case-insensitive, as its lower-case config spelling. */
    public static <E extends Enum<E>> ConfigDef.Validator enumValue(Class<E> type) {
        List<String> allowed = new ArrayList<>();
        for (E constant : type.getEnumConstants()) {
            allowed.add(constant.name().toLowerCase(Locale.ROOT));
        }
        return oneOf(allowed, false);
    }

    /** One of {@code allowed} (upper-case names), case-insensitive; null passes. */
    public static ConfigDef.Validator oneOfOrNull(List<String> allowed) {
        return oneOf(allowed, true);
    }

    private static ConfigDef.Validator oneOf(List<String> allowed, boolean upperCase) {
        return new ConfigDef.Validator() {
            @Override
            public void ensureValid(String name, Object value) {
                if (value == null) {
                    return;
                }
                String s = value.toString().trim();
                s = upperCase ? s.toUpperCase(Locale.ROOT) : s.toLowerCase(Locale.ROOT);
                if (!allowed.contains(s)) {
                    throw new ConfigException(name, value, "Must be one of " + String.join(", ", allowed));
                }
            }

            @Override
            public String toString() {
                return String.join(", ", allowed);
            }
        };
    }

    public static ConfigDef.Validator subsetOf(List<String> allowed) {
        return new ConfigDef.Validator() {
            @Override
            public void ensureValid(String name, Object value) {
                if (value == null) {
                    return;
                }
                Set<String> seen = new HashSet<>();
                for (Object item : (List<?>) value) {
                    String s = item.toString().trim().toUpperCase(Locale.ROOT);
                    if (!allowed.contains(s)) {
                        throw new ConfigException(name, value,
                                "Unknown mechanism '" + item + "'; use any of " + String.join(", ", allowed));
                    }
                    if (!seen.add(s)) {
                        throw new ConfigException(name, value, "Mechanism '" + item + "' is listed twice");
                    }
                }
            }

            @Override
            public String toString() {
                return "any of " + String.join(", ", allowed);
            }
        };
    }

    public static ConfigDef.Validator nonBlankOrNull() {
        return new ConfigDef.Validator() {
            @Override
            public void ensureValid(String name, Object value) {
                if (value != null && value.toString().isBlank()) {
                    throw new ConfigException(name, value, "Must not be blank; leave it unset instead");
                }
            }

            @Override
            public String toString() {
                return "non-blank string";
            }
        };
    }

    /**
     * An absolute https URL, or http to a loopback address (a local identity provider or test server): client
     * secrets and refresh tokens must not cross a network in clear text. Null passes.
     */
    public static ConfigDef.Validator tokenEndpointOrNull() {
        return new ConfigDef.Validator() {
            @Override
            public void ensureValid(String name, Object value) {
                if (value == null) {
                    return;
                }
                URI uri;
                try {
                    uri = new URI(value.toString().trim());
                } catch (URISyntaxException e) {
                    throw new ConfigException(name, value, "Not a URL: " + e.getReason());
                }
                String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
                if (uri.getHost() == null || !(scheme.equals("https") || scheme.equals("http"))) {
                    throw new ConfigException(name, value, "Must be an absolute https:// URL, such as"
                            + " https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token or"
                            + " https://oauth2.googleapis.com/token");
                }
                if (scheme.equals("http") && !isLoopback(uri.getHost())) {
                    throw new ConfigException(name, value, "Must use https: the client secret and refresh token"
                            + " would cross the network in clear text (http is accepted only for loopback addresses)");
                }
            }

            @Override
            public String toString() {
                return "https URL";
            }
        };
    }

    private static boolean isLoopback(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.equals("localhost") || h.startsWith("127.") || h.equals("[::1]") || h.equals("::1");
    }

    public static ConfigDef.Validator portOrNull() {
        return new ConfigDef.Validator() {
            @Override
            public void ensureValid(String name, Object value) {
                if (value == null) {
                    return;
                }
                int port = (Integer) value;
                if (port < 1 || port > 65535) {
                    throw new ConfigException(name, value, "Must be a TCP port between 1 and 65535");
                }
            }

            @Override
            public String toString() {
                return "[1,...,65535]";
            }
        };
    }

    public static ConfigDef.Validator aliases(Pattern pattern) {
        return new ConfigDef.Validator() {
            @Override
            public void ensureValid(String name, Object value) {
                if (value == null) {
                    return;
                }
                Set<String> seen = new HashSet<>();
                for (Object item : (List<?>) value) {
                    String alias = item.toString().trim();
                    if (!pattern.matcher(alias).matches()) {
                        // the alias, not the whole list: with 10,000 aliases the message would be 100 KB
                        throw new ConfigException(name, alias, "Alias '" + alias
                                + "' must be 1 to 100 letters, digits, '-' or '_' (it becomes part of config keys)");
                    }
                    if (!seen.add(alias)) {
                        throw new ConfigException(name, alias, "Alias '" + alias + "' is listed twice");
                    }
                }
            }

            @Override
            public String toString() {
                return "comma-separated aliases of " + Arrays.asList("letters", "digits", "-", "_");
            }
        };
    }
}
