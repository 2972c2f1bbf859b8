package io.mailbridge.pop3.client;

import java.io.IOException;

/**
 * A POP3 server answered {@code -ERR}, or broke the protocol.
 *
 * <p>Plain transport failures (connection reset, timeouts, TLS handshake) are not
 * {@code Pop3Exception}s but ordinary {@link IOException}s, so a caller can tell "the
 * server said no" from "we could not talk to the server". Every message names the
 * mailbox.
 */
public class Pop3Exception extends IOException {

    private static final long serialVersionUID = 1L;

    /** What a caller should do about the failure. */
    public enum Kind {
        /** The credentials were refused ({@code [AUTH]}, or a failed login without a code): fix the config. */
        AUTHENTICATION,
        /** The server is busy or the mailbox locked ({@code [IN-USE]}, {@code [LOGIN-DELAY]}, {@code [SYS/TEMP]}): back off and retry. */
        TRANSIENT,
        /** The server refused for good ({@code [SYS/PERM]}, or a command refused without a code). */
        PERMANENT,
        /** The server broke the protocol or lacks something the connector needs (UIDL, valid UIDs, STLS). */
        PROTOCOL
    }

    private final Kind kind;
    private final String responseCode;

    public Pop3Exception(String message, Kind kind, String responseCode) {
        super(message);
        this.kind = kind;
        this.responseCode = responseCode;
    }

    public Pop3Exception(String message, Kind kind, String responseCode, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.responseCode = responseCode;
    }

    /** An exception for a {@code -ERR} answer; the response code, when there is one, decides the kind. */
    static Pop3Exception fromResponse(String message, Pop3Response response, Kind fallback) {
        return new Pop3Exception(message, kindFor(response.code(), fallback), response.code());
    }

    /**
     * The kind that an RFC 2449 response code implies. Codes are hierarchical
     * ({@code SYS/TEMP} may be refined as {@code SYS/TEMP/QUOTA}), so a code matches its prefixes.
     */
    static Kind kindFor(String code, Kind fallback) {
        if (code == null) {
            return fallback;
        }
        if (matches(code, "IN-USE") || matches(code, "LOGIN-DELAY") || matches(code, "SYS/TEMP")) {
            return Kind.TRANSIENT;
        }
        if (matches(code, "AUTH")) {
            return Kind.AUTHENTICATION;
        }
        if (matches(code, "SYS/PERM")) {
            return Kind.PERMANENT;
        }
        return fallback;
    }

    private static boolean matches(String code, String prefix) {
        return code.equals(prefix) || (code.startsWith(prefix) && code.charAt(prefix.length()) == '/');
    }

    /** The RFC 2449 response code without brackets, upper-case ({@code IN-USE}, {@code SYS/TEMP}); null if none. */
    public String responseCode() {
        return responseCode;
    }

    public Kind kind() {
        return kind;
    }
}
