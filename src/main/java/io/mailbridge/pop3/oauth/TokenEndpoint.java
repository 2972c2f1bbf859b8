package io.mailbridge.pop3.oauth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mailbridge.pop3.Pop3SourceConnectorConfig;
import io.mailbridge.pop3.config.OAuthGrant;
import io.mailbridge.pop3.config.OAuthSettings;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One request to an OAuth 2 token endpoint (RFC 6749 sections 4.4 and 6), with the client authenticated by
 * {@code client_id} and {@code client_secret} in the form body, which Microsoft Entra ID and Google both accept.
 *
 * <p>HTTP is the JDK's {@link HttpClient} (system proxy settings apply, redirects are not followed: a token request
 * must not be replayed elsewhere); the JSON answer is read with Jackson. Errors become {@link OAuthException}s that
 * carry the provider's error code and description and the config key to look at, never a secret.
 */
public final class TokenEndpoint {

    private static final int MAX_RESPONSE_BYTES = 64 * 1024;
    private static final int MAX_DESCRIPTION = 300;
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * One client (one selector thread, one connection pool) per connect timeout, shared by every mailbox of the
     * worker: connect timeouts come from config, so there are only a few.
     */
    private static final Map<Integer, HttpClient> CLIENTS = new ConcurrentHashMap<>();

    private final OAuthSettings settings;
    private final URI uri;
    private final HttpClient http;
    private final Duration timeout;

    public TokenEndpoint(OAuthSettings settings, int connectTimeoutMs, int requestTimeoutMs) {
        this.settings = settings;
        this.uri = URI.create(settings.tokenEndpoint().trim());
        this.http = CLIENTS.computeIfAbsent(connectTimeoutMs, ms -> HttpClient.newBuilder()
                .connectTimeout(Duration.ofMillis(ms))
                .followRedirects(HttpClient.Redirect.NEVER)
                .build());
        this.timeout = Duration.ofMillis(requestTimeoutMs);
    }

    /** What the endpoint issued. {@code refreshToken} is null unless the provider sent a (new) one. */
    public record Grant(String accessToken, long expiresInSeconds, String refreshToken) {

        @Override
        public String toString() {
            return "Grant[****, expires in " + expiresInSeconds + " s" + (refreshToken == null ? "" : ", new refresh token")
                    + "]";
        }
    }

    /**
     * Asks for an access token with the configured grant.
     *
     * @param refreshToken the refresh token to use for {@link OAuthGrant#REFRESH_TOKEN} (the latest one issued)
     */
    public Grant request(String refreshToken) throws OAuthException {
        Map<String, String> form = new LinkedHashMap<>();
        if (settings.grant() == OAuthGrant.CLIENT_CREDENTIALS) {
            form.put("grant_type", "client_credentials");
        } else {
            form.put("grant_type", "refresh_token");
            form.put("refresh_token", refreshToken);
        }
        form.put("client_id", settings.clientId());
        if (settings.clientSecret() != null && !settings.clientSecret().value().isEmpty()) {
            form.put("client_secret", settings.clientSecret().value());
        }
        if (settings.scope() != null) {
            form.put("scope", settings.scope());
        }
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(encode(form)))
                .build();
        HttpResponse<InputStream> response;
        byte[] body;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                body = in.readNBytes(MAX_RESPONSE_BYTES);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            InterruptedIOException interrupted = new InterruptedIOException("Interrupted while asking " + uri
                    + " for an OAuth 2 access token");
            throw new OAuthException(OAuthException.Kind.UNAVAILABLE, Pop3SourceConnectorConfig.OAUTH_TOKEN_ENDPOINT_CONFIG,
                    interrupted.getMessage(), interrupted);
        } catch (IOException e) {
            throw transportFailure(e);
        }
        return parse(response.statusCode(), body, refreshToken);
    }

    private Grant parse(int status, byte[] body, String refreshToken) throws OAuthException {
        JsonNode json;
        try {
            json = JSON.readTree(body);
        } catch (IOException e) {
            json = null;
        }
        if (json == null || !json.isObject()) {
            if (status == 429 || status >= 500) {
                throw unavailable("HTTP " + status);
            }
            throw new OAuthException(OAuthException.Kind.UNREACHABLE, Pop3SourceConnectorConfig.OAUTH_TOKEN_ENDPOINT_CONFIG,
                    "Token endpoint " + uri + " answered HTTP " + status + " without a JSON object: is this the token"
                            + " endpoint? Check " + Pop3SourceConnectorConfig.OAUTH_TOKEN_ENDPOINT_CONFIG, null);
        }
        if (status >= 200 && status < 300) {
            return grant(json, refreshToken);
        }
        String error = text(json, "error");
        String description = clean(text(json, "error_description"), refreshToken);
        String reason = (error == null ? "HTTP " + status : error) + (description == null ? "" : ": " + description);
        if (status == 429 || status >= 500 || "temporarily_unavailable".equals(error) || "server_error".equals(error)) {
            throw unavailable(reason);
        }
        String key;
        if ("invalid_client".equals(error)) {
            key = Pop3SourceConnectorConfig.OAUTH_CLIENT_SECRET_CONFIG;
        } else if ("unauthorized_client".equals(error)) {
            key = Pop3SourceConnectorConfig.OAUTH_CLIENT_ID_CONFIG;
        } else if ("invalid_grant".equals(error)) {
            key = settings.grant() == OAuthGrant.REFRESH_TOKEN ? Pop3SourceConnectorConfig.OAUTH_REFRESH_TOKEN_CONFIG : Pop3SourceConnectorConfig.OAUTH_CLIENT_ID_CONFIG;
        } else if ("invalid_scope".equals(error)) {
            key = Pop3SourceConnectorConfig.OAUTH_SCOPE_CONFIG;
        } else if (status == 404 || status == 405) {
            throw new OAuthException(OAuthException.Kind.UNREACHABLE, Pop3SourceConnectorConfig.OAUTH_TOKEN_ENDPOINT_CONFIG, "Token endpoint "
                    + uri + " answered HTTP " + status + " (" + reason + "): check pop3.oauth.token.endpoint", null);
        } else {
            key = Pop3SourceConnectorConfig.OAUTH_TOKEN_ENDPOINT_CONFIG;
        }
        throw new OAuthException(OAuthException.Kind.REJECTED, key, "Token endpoint " + uri + " refused the "
                + settings.grant().configValue() + " grant for client '" + settings.clientId() + "': " + reason
                + " (check " + key + ")", null);
    }

    private Grant grant(JsonNode json, String refreshToken) throws OAuthException {
        String access = text(json, "access_token");
        if (access == null || access.isEmpty()) {
            throw new OAuthException(OAuthException.Kind.UNREACHABLE, Pop3SourceConnectorConfig.OAUTH_TOKEN_ENDPOINT_CONFIG, "Token endpoint "
                    + uri + " answered without an access_token: check pop3.oauth.token.endpoint", null);
        }
        String type = text(json, "token_type");
        if (type != null && !type.equalsIgnoreCase("bearer")) {
            throw new OAuthException(OAuthException.Kind.REJECTED, Pop3SourceConnectorConfig.OAUTH_TOKEN_ENDPOINT_CONFIG, "Token endpoint "
                    + uri + " issued a '" + clean(type, refreshToken) + "' token; XOAUTH2 and OAUTHBEARER need a Bearer"
                    + " token", null);
        }
        long expiresIn = -1;
        JsonNode expires = json.get("expires_in");
        if (expires != null && (expires.isNumber() || expires.isTextual())) {
            try {
                expiresIn = expires.isNumber() ? expires.asLong() : Long.parseLong(expires.asText().trim());
            } catch (NumberFormatException e) {
                expiresIn = -1;
            }
        }
        String newRefresh = text(json, "refresh_token");
        if (newRefresh != null && (newRefresh.isEmpty() || newRefresh.equals(refreshToken))) {
            newRefresh = null;
        }
        return new Grant(access, expiresIn, newRefresh);
    }

    private OAuthException transportFailure(IOException e) {
        boolean unreachable = e instanceof HttpConnectTimeoutException || causedBy(e, ConnectException.class)
                || causedBy(e, UnknownHostException.class);
        String reason = e instanceof HttpConnectTimeoutException ? "connection timed out"
                : e instanceof HttpTimeoutException ? "no answer within " + timeout.toMillis() + " ms"
                : causedBy(e, UnknownHostException.class) ? "unknown host " + uri.getHost()
                : e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        if (unreachable) {
            return new OAuthException(OAuthException.Kind.UNREACHABLE, Pop3SourceConnectorConfig.OAUTH_TOKEN_ENDPOINT_CONFIG,
                    "Cannot reach token endpoint " + uri + ": " + reason + " (check " + Pop3SourceConnectorConfig.OAUTH_TOKEN_ENDPOINT_CONFIG + " and the"
                            + " worker's network or proxy settings)", e);
        }
        return unavailable(reason);
    }

    private OAuthException unavailable(String reason) {
        return new OAuthException(OAuthException.Kind.UNAVAILABLE, Pop3SourceConnectorConfig.OAUTH_TOKEN_ENDPOINT_CONFIG, "Token endpoint "
                + uri + " is not issuing tokens right now: " + reason, null);
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static String text(JsonNode json, String field) {
        JsonNode node = json.get(field);
        return node == null || node.isNull() || node.isContainerNode() ? null : node.asText();
    }

    /** Printable, bounded, and without any secret the provider might have echoed. */
    private String clean(String text, String refreshToken) {
        if (text == null) {
            return null;
        }
        List<String> secrets = new ArrayList<>();
        if (settings.clientSecret() != null) {
            secrets.add(settings.clientSecret().value());
        }
        if (refreshToken != null) {
            secrets.add(refreshToken);
        }
        String shown = text;
        for (String secret : secrets) {
            if (secret.length() >= 4) {
                shown = shown.replace(secret, "****");
            }
        }
        StringBuilder sb = new StringBuilder(Math.min(shown.length(), MAX_DESCRIPTION));
        for (int i = 0; i < shown.length() && sb.length() < MAX_DESCRIPTION; i++) {
            char c = shown.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? ' ' : c);
        }
        return sb.toString().trim();
    }

    private static String encode(Map<String, String> form) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : form.entrySet()) {
            if (sb.length() > 0) {
                sb.append('&');
            }
            sb.append(URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)).append('=')
                    .append(URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "TokenEndpoint[" + uri + " " + settings.grant().configValue() + "]";
    }
}
