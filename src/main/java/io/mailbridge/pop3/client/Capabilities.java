package io.mailbridge.pop3.client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the server announced in its answer to CAPA (RFC 2449). Empty when the server
 * does not support CAPA. Capability names are matched case-insensitively.
 */
public final class Capabilities {

    /** A server that answered CAPA with -ERR, or has not been asked. */
    public static final Capabilities NONE = new Capabilities(Map.of());

    private final Map<String, List<String>> entries;

    private Capabilities(Map<String, List<String>> entries) {
        this.entries = entries;
    }

    /** Builds capabilities from the lines of a CAPA listing, e.g. {@code "SASL PLAIN XOAUTH2"}. */
    static Capabilities parse(List<String> lines) {
        Map<String, List<String>> entries = new LinkedHashMap<>();
        for (String line : lines) {
            List<String> words = words(line);
            if (!words.isEmpty()) {
                String name = words.get(0).toUpperCase(Locale.ROOT);
                entries.putIfAbsent(name, List.copyOf(words.subList(1, words.size())));
            }
        }
        return new Capabilities(Collections.unmodifiableMap(entries));
    }

    private static List<String> words(String line) {
        List<String> words = new ArrayList<>();
        int i = 0;
        int n = line.length();
        while (i < n) {
            while (i < n && Character.isWhitespace(line.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && !Character.isWhitespace(line.charAt(i))) {
                i++;
            }
            if (i > start) {
                words.add(line.substring(start, i));
            }
        }
        return words;
    }

    public boolean has(String name) {
        return entries.containsKey(name.toUpperCase(Locale.ROOT));
    }

    /** The arguments of a capability ({@code ["PLAIN", "XOAUTH2"]} for SASL); empty if absent or without arguments. */
    public List<String> arguments(String name) {
        return entries.getOrDefault(name.toUpperCase(Locale.ROOT), List.of());
    }

    /** True when the server answered CAPA with nothing usable (or with -ERR). */
    public boolean isEmpty() {
        return entries.isEmpty();
    }

    public boolean pipelining() {
        return has("PIPELINING");
    }

    public boolean uidl() {
        return has("UIDL");
    }

    public boolean top() {
        return has("TOP");
    }

    public boolean stls() {
        return has("STLS");
    }

    public boolean user() {
        return has("USER");
    }

    public boolean respCodes() {
        return has("RESP-CODES");
    }

    /** SASL mechanisms, upper-case, in the order advertised; empty if none. */
    public List<String> saslMechanisms() {
        List<String> mechanisms = arguments("SASL");
        List<String> upper = new ArrayList<>(mechanisms.size());
        for (String mechanism : mechanisms) {
            upper.add(mechanism.toUpperCase(Locale.ROOT));
        }
        return List.copyOf(upper);
    }

    /** The EXPIRE policy value: days as a number, {@code "NEVER"}, or null when not advertised. */
    public String expire() {
        List<String> args = arguments("EXPIRE");
        return args.isEmpty() ? null : args.get(0).toUpperCase(Locale.ROOT);
    }

    /**
     * Whether EXPIRE carries the {@code USER} tag (RFC 2449): the policy differs between users, and only CAPA
     * after login tells this user's.
     */
    public boolean expireVariesPerUser() {
        List<String> args = arguments("EXPIRE");
        return args.size() > 1 && "USER".equalsIgnoreCase(args.get(1));
    }

    /** The LOGIN-DELAY in seconds; null when not advertised or not a number. */
    public Integer loginDelay() {
        List<String> args = arguments("LOGIN-DELAY");
        if (args.isEmpty()) {
            return null;
        }
        try {
            return Integer.valueOf(args.get(0));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The server's IMPLEMENTATION string, or null. */
    public String implementation() {
        List<String> args = arguments("IMPLEMENTATION");
        return args.isEmpty() ? null : String.join(" ", args);
    }

    @Override
    public String toString() {
        return entries.keySet().toString();
    }
}
