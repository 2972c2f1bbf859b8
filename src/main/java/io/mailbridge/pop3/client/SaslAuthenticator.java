package io.mailbridge.pop3.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The POP3 AUTH exchange of RFC 5034 for client-first mechanisms (PLAIN, XOAUTH2, OAUTHBEARER).
 *
 * <p>The initial response goes on the AUTH line only while that line stays within the 255 octets RFC 5034 allows;
 * a longer one (an OAuth access token is 1-3 KB) waits for the server's {@code +} continuation, which is also the
 * exchange Microsoft documents for Exchange Online. A challenge after the initial response is an error report for
 * the OAuth mechanisms (RFC 7628 section 3.2.2; Gmail and Dovecot send a base64 JSON status): it is acknowledged as
 * the mechanism requires and the server then answers {@code -ERR}. Any other challenge is cancelled with
 * {@code *}.
 */
final class SaslAuthenticator {

    /** RFC 5034 section 4: "the AUTH command ... MUST NOT exceed 255 octets" including CRLF. */
    static final int MAX_AUTH_LINE = 255;
    /** More rounds than any client-first mechanism needs: the server is not making progress. */
    private static final int MAX_CHALLENGES = 4;

    /** Writes one line to the server and reads one status line; {@code shown} is what a wire trace may print. */
    interface Wire {
        void send(String line, String shown) throws IOException;

        Pop3Response read() throws IOException;
    }

    /** A client-first SASL mechanism. */
    record Mechanism(String name, byte[] initialResponse, String errorAcknowledgement) {

        /** RFC 4616. */
        static Mechanism plain(String user, String password) {
            return new Mechanism("PLAIN", utf8("\0" + user + "\0" + password), null);
        }

        /** Google's and Microsoft's XOAUTH2; a failure is reported in a challenge answered with an empty line. */
        static Mechanism xoauth2(String user, String token) {
            return new Mechanism("XOAUTH2", utf8("user=" + user + "\u0001auth=Bearer " + token + "\u0001\u0001"), "");
        }

        /**
         * RFC 7628: GS2 header with the authorization identity, then host, port and the bearer token as key-value
         * pairs separated by ^A. A failure is reported in a challenge answered with a single ^A.
         */
        static Mechanism oauthBearer(String user, String host, int port, String token) {
            String gs2 = "n,a=" + user.replace("=", "=3D").replace(",", "=2C") + ",";
            String message = gs2 + "\u0001host=" + host + "\u0001port=" + port + "\u0001auth=Bearer " + token
                    + "\u0001\u0001";
            return new Mechanism("OAUTHBEARER", utf8(message), base64(new byte[] {1}));
        }

        String encodedInitialResponse() {
            // RFC 5034: an empty initial response is sent as "="
            return initialResponse.length == 0 ? "=" : base64(initialResponse);
        }
    }

    /** The server's final answer and, when it sent one, the decoded error challenge (printable, bounded). */
    record Outcome(Pop3Response response, String challenge) {
    }

    private SaslAuthenticator() {
    }

    static Outcome authenticate(Wire wire, Mechanism mechanism) throws IOException {
        String initial = mechanism.encodedInitialResponse();
        String inline = "AUTH " + mechanism.name() + " " + initial;
        boolean initialSent;
        if (inline.length() + 2 <= MAX_AUTH_LINE) {
            wire.send(inline, "AUTH " + mechanism.name() + " ****");
            initialSent = true;
        } else {
            wire.send("AUTH " + mechanism.name(), "AUTH " + mechanism.name());
            initialSent = false;
        }
        Pop3Response response = wire.read();
        String challenge = null;
        int rounds = 0;
        while (response.continuation()) {
            if (++rounds > MAX_CHALLENGES) {
                wire.send("*", "*");
            } else if (!initialSent) {
                // The first continuation after a bare AUTH asks for the initial response (normally "+ ").
                wire.send(initial, "****");
                initialSent = true;
            } else if (mechanism.errorAcknowledgement() != null) {
                challenge = decode(response.text());
                wire.send(mechanism.errorAcknowledgement(), mechanism.errorAcknowledgement());
            } else {
                challenge = decode(response.text());
                wire.send("*", "*");
            }
            response = wire.read();
        }
        return new Outcome(response, challenge);
    }

    private static String decode(String challenge) {
        try {
            byte[] decoded = Base64.getDecoder().decode(challenge.trim());
            return ResponseReader.printable(decoded, 0, decoded.length, 200);
        } catch (IllegalArgumentException e) {
            byte[] raw = challenge.getBytes(StandardCharsets.UTF_8);
            return ResponseReader.printable(raw, 0, raw.length, 200);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String base64(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }
}
