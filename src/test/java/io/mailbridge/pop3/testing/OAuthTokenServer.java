package io.mailbridge.pop3.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real OAuth 2 authorization server on {@code 127.0.0.1} for tests, on the JDK's {@code com.sun.net.httpserver}:
 * a token endpoint (RFC 6749: {@code client_credentials} and {@code refresh_token} grants, client authenticated by
 * {@code client_id}/{@code client_secret} in the body) and an introspection endpoint (RFC 7662, token in a POST form
 * or as a Bearer header) that Dovecot's {@code oauth2} passdb asks about every token a client presents.
 *
 * <p>Access tokens live {@link #tokenLifetimeSeconds(int)} seconds (the server's own clock decides), can be padded
 * to the 2-3 KB of real Entra ID tokens, and can be revoked; refresh tokens can be rotated on every use, as Microsoft
 * does, and revoked, as a user or administrator would. Counters tell how many tokens the client asked for.
 */
public final class OAuthTokenServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    private record Issued(String user, long expiresAtMs) {
    }

    private final int port;
    private final Map<String, String> clientSecrets = new ConcurrentHashMap<>();
    private final Map<String, String> appOnlyUsers = new ConcurrentHashMap<>();
    private final Map<String, String> refreshTokens = new ConcurrentHashMap<>();
    private final Map<String, Issued> accessTokens = new ConcurrentHashMap<>();
    private final List<String> issuedRefreshTokens = new CopyOnWriteArrayList<>();
    private final List<String> issuedAccessTokens = new CopyOnWriteArrayList<>();
    private final List<String> tokenRequestGrants = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> requestsByClient = new ConcurrentHashMap<>();
    private final AtomicInteger issued = new AtomicInteger();
    private final AtomicInteger introspections = new AtomicInteger();
    private final AtomicInteger inactiveIntrospections = new AtomicInteger();
    private final AtomicInteger failNext = new AtomicInteger();
    private volatile String requiredScope;
    private volatile int lifetimeSeconds = 3600;
    private volatile int tokenBytes = 40;
    private volatile boolean rotateRefreshTokens;
    private volatile boolean revokeUsedRefreshTokens;
    private final AtomicInteger rotatedRefreshTokenUses = new AtomicInteger();
    private HttpServer server;

    public OAuthTokenServer() {
        this.port = freePort();
    }

    public synchronized OAuthTokenServer start() {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on 127.0.0.1:" + port, e);
        }
        server.setExecutor(Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "oauth-token-server-" + port);
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/token", this::token);
        server.createContext("/introspect", this::introspect);
        server.start();
        return this;
    }

    /** Stops answering (connections are refused) until {@link #start()} again, on the same port. */
    public synchronized void stop() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
    }

    @Override
    public void close() {
        stop();
    }

    public String tokenEndpoint() {
        return "http://127.0.0.1:" + port + "/token";
    }

    public String introspectionUrl() {
        return "http://127.0.0.1:" + port + "/introspect";
    }

    // ------------------------------------------------------------------------------------------ set-up

    /** A confidential client; with {@code appOnlyUser}, client-credentials tokens are good for that mailbox. */
    public OAuthTokenServer client(String clientId, String secret, String appOnlyUser) {
        clientSecrets.put(clientId, secret);
        if (appOnlyUser != null) {
            appOnlyUsers.put(clientId, appOnlyUser);
        }
        return this;
    }

    /** A refresh token the user granted, good for that user's mailbox. */
    public OAuthTokenServer refreshToken(String refreshToken, String user) {
        refreshTokens.put(refreshToken, user);
        return this;
    }

    /** Requests must ask for exactly this scope (when they ask for one; refresh requests may omit it). */
    public OAuthTokenServer requiredScope(String scope) {
        requiredScope = scope;
        return this;
    }

    public OAuthTokenServer tokenLifetimeSeconds(int seconds) {
        lifetimeSeconds = seconds;
        return this;
    }

    /** Pads access tokens to this many characters (Entra ID tokens are 1.5-3 KB). */
    public OAuthTokenServer tokenBytes(int bytes) {
        tokenBytes = bytes;
        return this;
    }

    /**
     * Issue a new refresh token with every refresh, as Microsoft Entra ID does. The one used stays valid (as with
     * Entra ID, until its own expiry) unless {@code revokeUsed}, the strict rotation some providers apply.
     */
    public OAuthTokenServer rotateRefreshTokens(boolean on, boolean revokeUsed) {
        rotateRefreshTokens = on;
        revokeUsedRefreshTokens = revokeUsed;
        return this;
    }

    /** Refresh requests that presented a refresh token issued by rotation (not the one the test configured). */
    public int rotatedRefreshTokenUses() {
        return rotatedRefreshTokenUses.get();
    }

    /** The user revoked the grant (or changed the password): every refresh token of that user is invalid. */
    public void revokeRefreshTokens(String user) {
        refreshTokens.values().removeIf(user::equals);
    }

    /** Access tokens already issued stop working before they expire. */
    public void revokeAccessTokens() {
        accessTokens.clear();
    }

    /** The next {@code n} token requests get HTTP 503. */
    public void failNext(int n) {
        failNext.set(n);
    }

    // ------------------------------------------------------------------------------------------ observations

    /** Access tokens issued so far. */
    public int issued() {
        return issued.get();
    }

    /** Token requests so far (granted or not), by grant type, in order. */
    public List<String> tokenRequests() {
        return List.copyOf(tokenRequestGrants);
    }

    /** Token requests so far from one client id, granted or not. */
    public int tokenRequests(String clientId) {
        AtomicInteger n = requestsByClient.get(String.valueOf(clientId));
        return n == null ? 0 : n.get();
    }

    /** Whether the token was issued for this user and is neither expired nor revoked (what introspection says). */
    public boolean valid(String user, String token) {
        Issued t = accessTokens.get(token);
        boolean active = t != null && user.equals(t.user()) && System.currentTimeMillis() < t.expiresAtMs();
        if (!active) {
            inactiveIntrospections.incrementAndGet();
        }
        introspections.incrementAndGet();
        return active;
    }

    public int introspections() {
        return introspections.get();
    }

    /** Introspections of a token that was unknown, expired or revoked. */
    public int inactiveIntrospections() {
        return inactiveIntrospections.get();
    }

    /** Refresh tokens issued by rotation, newest last (secrets: for scanning logs in tests). */
    public List<String> rotatedRefreshTokens() {
        return List.copyOf(issuedRefreshTokens);
    }

    /** Every access token ever issued, revoked ones included (secrets: for scanning logs in tests). */
    public List<String> accessTokens() {
        return List.copyOf(issuedAccessTokens);
    }

    // ------------------------------------------------------------------------------------------ endpoints

    private void token(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!"POST".equals(exchange.getRequestMethod())) {
                send(exchange, 405, Map.of("error", "invalid_request", "error_description", "POST only"));
                return;
            }
            Map<String, String> form = form(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            String grant = form.getOrDefault("grant_type", "");
            tokenRequestGrants.add(grant);
            if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                send(exchange, 503, Map.of("error", "temporarily_unavailable", "error_description", "test outage"));
                return;
            }
            String clientId = form.get("client_id");
            requestsByClient.computeIfAbsent(String.valueOf(clientId), k -> new AtomicInteger()).incrementAndGet();
            String expectedSecret = clientId == null ? null : clientSecrets.get(clientId);
            String secret = form.get("client_secret");
            if (expectedSecret == null || (secret != null && !secret.equals(expectedSecret))
                    || (secret == null && grant.equals("client_credentials"))) {
                send(exchange, 401, Map.of("error", "invalid_client",
                        "error_description", "AADSTS7000215: Invalid client secret provided (test server)."));
                return;
            }
            String scope = form.get("scope");
            if (requiredScope != null && ((scope == null && grant.equals("client_credentials"))
                    || (scope != null && !scope.equals(requiredScope)))) {
                send(exchange, 400, Map.of("error", "invalid_scope",
                        "error_description", "The provided scope is not valid for this resource (test server)."));
                return;
            }
            String user;
            String newRefresh = null;
            if (grant.equals("client_credentials")) {
                user = appOnlyUsers.get(clientId);
            } else if (grant.equals("refresh_token")) {
                String refresh = form.getOrDefault("refresh_token", "");
                user = refreshTokens.get(refresh);
                if (user == null) {
                    send(exchange, 400, Map.of("error", "invalid_grant", "error_description",
                            "Token has been expired or revoked (test server)."));
                    return;
                }
                if (issuedRefreshTokens.contains(refresh)) {
                    rotatedRefreshTokenUses.incrementAndGet();
                }
                if (rotateRefreshTokens) {
                    newRefresh = "rt-" + random(24);
                    if (revokeUsedRefreshTokens) {
                        refreshTokens.remove(refresh);
                    }
                    refreshTokens.put(newRefresh, user);
                    issuedRefreshTokens.add(newRefresh);
                }
            } else {
                send(exchange, 400, Map.of("error", "unsupported_grant_type"));
                return;
            }
            String access = "at-" + random(16);
            if (access.length() < tokenBytes) {
                access = access + "." + random((tokenBytes - access.length()) / 2 + 1);
                access = access.substring(0, tokenBytes);
            }
            accessTokens.put(access, new Issued(user, System.currentTimeMillis() + lifetimeSeconds * 1000L));
            issuedAccessTokens.add(access);
            issued.incrementAndGet();
            Map<String, Object> answer = new LinkedHashMap<>();
            answer.put("token_type", "Bearer");
            answer.put("expires_in", lifetimeSeconds);
            answer.put("access_token", access);
            if (newRefresh != null) {
                answer.put("refresh_token", newRefresh);
            }
            if (scope != null) {
                answer.put("scope", scope);
            }
            send(exchange, 200, answer);
        }
    }

    private void introspect(HttpExchange exchange) throws IOException {
        try (exchange) {
            introspections.incrementAndGet();
            String token = null;
            String authorization = exchange.getRequestHeaders().getFirst("Authorization");
            if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
                token = authorization.substring(7).trim();
            } else {
                token = form(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)).get("token");
            }
            Issued issuedToken = token == null ? null : accessTokens.get(token);
            if (issuedToken == null || issuedToken.user() == null || System.currentTimeMillis() >= issuedToken.expiresAtMs()) {
                inactiveIntrospections.incrementAndGet();
                send(exchange, 200, Map.of("active", false));
                return;
            }
            send(exchange, 200, Map.of("active", true, "username", issuedToken.user(),
                    "exp", issuedToken.expiresAtMs() / 1000));
        }
    }

    private static void send(HttpExchange exchange, int status, Map<String, ?> body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static Map<String, String> form(String body) {
        Map<String, String> form = new LinkedHashMap<>();
        for (String pair : body.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            form.put(key, value);
        }
        return form;
    }

    private static String random(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
