package io.mailbridge.pop3.client;

import io.mailbridge.pop3.config.Security;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import javax.net.ssl.SSLContext;

/** Where and how a {@link Pop3Client} connects. Immutable; build with {@link #builder()}. Holds no credentials. */
public final class Pop3ClientSettings {

    public static final String AUTH_USER = "USER";
    public static final String AUTH_APOP = "APOP";
    public static final String AUTH_PLAIN = "PLAIN";
    public static final String AUTH_XOAUTH2 = "XOAUTH2";
    public static final String AUTH_OAUTHBEARER = "OAUTHBEARER";
    /** The mechanisms {@link Pop3Client#login} knows, for validating configuration. */
    public static final List<String> SUPPORTED_AUTH_MECHANISMS =
            List.of(AUTH_USER, AUTH_APOP, AUTH_PLAIN, AUTH_XOAUTH2, AUTH_OAUTHBEARER);
    /** The mechanisms that carry an OAuth 2 access token. */
    public static final List<String> BEARER_TOKEN_MECHANISMS = List.of(AUTH_XOAUTH2, AUTH_OAUTHBEARER);

    public static final int DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
    public static final int DEFAULT_READ_TIMEOUT_MS = 60_000;

    private final String host;
    private final int port;
    private final Security security;
    private final SSLContext sslContext;
    private final boolean endpointIdentification;
    private final int connectTimeoutMs;
    private final int readTimeoutMs;
    private final String mailboxId;
    private final List<String> authMechanisms;
    private final boolean bearerToken;

    private Pop3ClientSettings(Builder b) {
        this.host = b.host.trim();
        this.security = b.security;
        this.port = b.port != 0 ? b.port : b.security.defaultPort();
        this.sslContext = b.sslContext;
        this.endpointIdentification = b.endpointIdentification;
        this.connectTimeoutMs = b.connectTimeoutMs;
        this.readTimeoutMs = b.readTimeoutMs;
        this.mailboxId = b.mailboxId != null ? b.mailboxId : host + ":" + port;
        this.authMechanisms = b.authMechanisms;
        this.bearerToken = b.bearerToken;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder()
                .host(host)
                .port(port)
                .security(security)
                .sslContext(sslContext)
                .endpointIdentification(endpointIdentification)
                .connectTimeoutMs(connectTimeoutMs)
                .readTimeoutMs(readTimeoutMs)
                .mailboxId(mailboxId)
                .authMechanisms(authMechanisms)
                .bearerToken(bearerToken);
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public Security security() {
        return security;
    }

    /** The trust for TLS and STARTTLS; null means the JVM default ({@link SSLContext#getDefault()}). */
    public SSLContext sslContext() {
        return sslContext;
    }

    /** Whether the server certificate must match the host name (HTTPS rules, RFC 2818). */
    public boolean endpointIdentification() {
        return endpointIdentification;
    }

    public int connectTimeoutMs() {
        return connectTimeoutMs;
    }

    /** The socket read timeout: how long any single read may wait for the server. */
    public int readTimeoutMs() {
        return readTimeoutMs;
    }

    /** The name of the mailbox in every exception and log line. */
    public String mailboxId() {
        return mailboxId;
    }

    /**
     * Mechanisms to try, in order; empty means PLAIN if the server advertises SASL PLAIN, else USER, or with
     * {@link #bearerToken()} XOAUTH2, or OAUTHBEARER when the server lists only that.
     */
    public List<String> authMechanisms() {
        return authMechanisms;
    }

    /** Whether the secret given to {@link Pop3Client#login} is an OAuth 2 access token rather than a password. */
    public boolean bearerToken() {
        return bearerToken;
    }

    @Override
    public String toString() {
        return "Pop3ClientSettings{" + host + ":" + port + ", " + security + ", mailbox=" + mailboxId
                + ", endpointIdentification=" + endpointIdentification + ", auth=" + authMechanisms + (bearerToken ? " (OAuth 2)" : "")
                + ", connectTimeoutMs=" + connectTimeoutMs + ", readTimeoutMs=" + readTimeoutMs + "}";
    }

    public static final class Builder {
        private String host;
        private int port;
        private Security security = Security.TLS;
        private SSLContext sslContext;
        private boolean endpointIdentification = true;
        private int connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
        private int readTimeoutMs = DEFAULT_READ_TIMEOUT_MS;
        private String mailboxId;
        private List<String> authMechanisms = List.of();
        private boolean bearerToken;

        private Builder() {
        }

        public Builder host(String host) {
            this.host = host;
            return this;
        }

        /** The server port; 0 (the default) means the default port of the security mode. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        public Builder security(Security security) {
            this.security = Objects.requireNonNull(security, "security");
            return this;
        }

        public Builder sslContext(SSLContext sslContext) {
            this.sslContext = sslContext;
            return this;
        }

        public Builder endpointIdentification(boolean endpointIdentification) {
            this.endpointIdentification = endpointIdentification;
            return this;
        }

        /** 0 means no timeout. */
        public Builder connectTimeoutMs(int connectTimeoutMs) {
            this.connectTimeoutMs = connectTimeoutMs;
            return this;
        }

        /** 0 means no timeout. */
        public Builder readTimeoutMs(int readTimeoutMs) {
            this.readTimeoutMs = readTimeoutMs;
            return this;
        }

        /** Defaults to {@code host:port}. */
        public Builder mailboxId(String mailboxId) {
            this.mailboxId = mailboxId;
            return this;
        }

        /** Mechanism names from {@link #SUPPORTED_AUTH_MECHANISMS}, case-insensitive. */
        public Builder authMechanisms(List<String> authMechanisms) {
            List<String> normalized = new ArrayList<>();
            for (String mechanism : Objects.requireNonNull(authMechanisms, "authMechanisms")) {
                String upper = mechanism.trim().toUpperCase(Locale.ROOT);
                if (!SUPPORTED_AUTH_MECHANISMS.contains(upper)) {
                    throw new IllegalArgumentException("Unknown POP3 authentication mechanism '" + mechanism
                            + "'; supported: " + SUPPORTED_AUTH_MECHANISMS);
                }
                if (!normalized.contains(upper)) {
                    normalized.add(upper);
                }
            }
            this.authMechanisms = List.copyOf(normalized);
            return this;
        }

        /** The secret given to {@link Pop3Client#login} is an OAuth 2 access token (default false). */
        public Builder bearerToken(boolean bearerToken) {
            this.bearerToken = bearerToken;
            return this;
        }

        public Pop3ClientSettings build() {
            if (host == null || host.isBlank()) {
                throw new IllegalArgumentException("POP3 host is required");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("POP3 port out of range: " + port);
            }
            if (connectTimeoutMs < 0 || readTimeoutMs < 0) {
                throw new IllegalArgumentException("Timeouts must not be negative");
            }
            return new Pop3ClientSettings(this);
        }
    }
}
