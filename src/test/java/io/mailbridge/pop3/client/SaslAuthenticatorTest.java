package io.mailbridge.pop3.client;

import io.mailbridge.pop3.config.Security;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RFC 5034 AUTH exchanges of {@link Pop3Client#login} with XOAUTH2 and OAUTHBEARER, against a scripted server. */
class SaslAuthenticatorTest {

    private static final String MAILBOX = "alice@127.0.0.1:110";
    /** The size of an Entra ID access token: far beyond the 255 octets an AUTH line may have. */
    private static final String LONG_TOKEN = "eyJ0eXAiOiJKV1Qi" + "x".repeat(2400);

    private static Pop3ClientSettings.Builder settings(FakePop3Server server) {
        return Pop3ClientSettings.builder()
                .host("127.0.0.1")
                .port(server.port())
                .security(Security.NONE)
                .mailboxId(MAILBOX)
                .connectTimeoutMs(2_000)
                .readTimeoutMs(2_000);
    }

    private static String base64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** The decoded initial response of an AUTH line, with the port number replaced by '#'. */
    private static String initialResponse(String line, String prefix) {
        assertTrue(line.startsWith(prefix), line);
        String decoded = new String(Base64.getDecoder().decode(line.substring(prefix.length())), StandardCharsets.UTF_8);
        return decoded.replaceFirst("port=[0-9]+", "port=#");
    }

    @Test
    void shortInitialResponseGoesOnTheAuthLine() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL PLAIN XOAUTH2");
            s.expect("AUTH XOAUTH2 " + base64("user=alice\u0001auth=Bearer tok123\u0001\u0001"), "+OK welcome");
            s.capa("SASL PLAIN XOAUTH2");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = Pop3Client.connect(settings(server).authMechanisms(List.of("XOAUTH2")).build())) {
            client.login("alice", "tok123");
            client.quit();
            server.verify();
        }
    }

    @Test
    void longTokenWaitsForTheContinuationAsMicrosoftDocuments() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL XOAUTH2");
            s.expect("AUTH XOAUTH2", "+ ");
            s.expect(base64("user=alice@contoso.com\u0001auth=Bearer " + LONG_TOKEN + "\u0001\u0001"),
                    "+OK User successfully authenticated.");
            s.capa("SASL XOAUTH2");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = Pop3Client.connect(settings(server).bearerToken(true).build())) {
            client.login("alice@contoso.com", LONG_TOKEN);
            client.quit();
            server.verify();
        }
    }

    @Test
    void authLineOfExactly255OctetsStaysInlineAndOneMoreDoesNot() throws Exception {
        // "AUTH XOAUTH2 " is 13 octets, CRLF 2: 240 base64 characters (180 bytes) make 255.
        String user = "u";
        String fits = "t".repeat(180 - ("user=u\u0001auth=Bearer \u0001\u0001").length());
        String initial = base64("user=" + user + "\u0001auth=Bearer " + fits + "\u0001\u0001");
        assertEquals(255, ("AUTH XOAUTH2 " + initial).length() + 2);
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL XOAUTH2");
            s.expect("AUTH XOAUTH2 " + initial, "-ERR [AUTH] no");
            s.expect("AUTH XOAUTH2", "+ ");
            s.expect(base64("user=u\u0001auth=Bearer " + fits + "xyz\u0001\u0001"), "+OK");
            s.capa("SASL XOAUTH2");
        }); Pop3Client client = Pop3Client.connect(settings(server).bearerToken(true).build())) {
            assertThrows(Pop3Exception.class, () -> client.login(user, fits));
            client.login(user, fits + "xyz");
            server.verify();
        }
    }

    @Test
    void gmailErrorChallengeIsAnsweredWithAnEmptyLineAndReportedWithoutTheToken() throws Exception {
        String error = "{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}";
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL PLAIN XOAUTH2 OAUTHBEARER");
            s.expect("AUTH XOAUTH2", "+ ");
            s.expect(base64("user=bob@gmail.com\u0001auth=Bearer " + LONG_TOKEN + "\u0001\u0001"),
                    "+ " + base64(error));
            s.expect("", "-ERR [AUTH] Username and password not accepted.");
        }); Pop3Client client = Pop3Client.connect(settings(server).bearerToken(true).build())) {
            Pop3Exception e = assertThrows(Pop3Exception.class, () -> client.login("bob@gmail.com", LONG_TOKEN));
            assertEquals(Pop3Exception.Kind.AUTHENTICATION, e.kind());
            assertEquals("AUTH", e.responseCode());
            assertTrue(e.getMessage().contains("\"status\":\"400\""), e.getMessage());
            assertFalse(e.getMessage().contains(LONG_TOKEN.substring(0, 40)), e.getMessage());
            assertTrue(client.isOpen(), "an AUTH refusal leaves the session usable");
            server.verify();
        }
    }

    @Test
    void oauthBearerSendsTheGs2HeaderAndAcknowledgesAnErrorWithCtrlA() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL OAUTHBEARER");
            assertEquals("n,a=carol=2Cx=3Dy@example.com,\u0001host=127.0.0.1\u0001port=#\u0001auth=Bearer tok-7f3a\u0001\u0001",
                    initialResponse(s.readLine(), "AUTH OAUTHBEARER "));
            s.send("+ " + base64("{\"status\":\"invalid_token\"}"));
            s.expect("AQ==", "-ERR [AUTH] Authentication failed");
        }); Pop3Client client = Pop3Client.connect(settings(server).bearerToken(true).build())) {
            Pop3Exception e = assertThrows(Pop3Exception.class, () -> client.login("carol,x=y@example.com", "tok-7f3a"));
            assertTrue(e.getMessage().contains("invalid_token"), e.getMessage());
            server.verify();
        }
    }

    @Test
    void bearerTokenPicksXoauth2FromCapabilityElseOauthbearer() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL PLAIN OAUTHBEARER");
            assertEquals("n,a=a,\u0001host=127.0.0.1\u0001port=#\u0001auth=Bearer t0k\u0001\u0001",
                    initialResponse(s.readLine(), "AUTH OAUTHBEARER "));
            s.send("+OK");
            s.capa("SASL PLAIN OAUTHBEARER");
        }); Pop3Client client = Pop3Client.connect(settings(server).bearerToken(true).build())) {
            client.login("a", "t0k");
            server.verify();
        }
    }

    @Test
    void unexpectedChallengeToPlainIsCancelledWithStar() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL PLAIN");
            s.expect("AUTH PLAIN " + base64("\0alice\0secret"), "+ " + base64("more?"));
            s.expect("*", "-ERR AUTH cancelled");
        }); Pop3Client client = Pop3Client.connect(settings(server).authMechanisms(List.of("PLAIN")).build())) {
            Pop3Exception e = assertThrows(Pop3Exception.class, () -> client.login("alice", "secret"));
            assertTrue(e.getMessage().contains("more?"), e.getMessage());
            server.verify();
        }
    }

    @Test
    void endlessChallengesAreCancelled() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL XOAUTH2");
            s.expect("AUTH XOAUTH2", "+ ");
            s.expect(base64("user=a\u0001auth=Bearer " + LONG_TOKEN + "\u0001\u0001"), "+ e30=");
            s.expect("", "+ e30=");
            s.expect("", "+ e30=");
            s.expect("", "+ e30=");
            s.expect("*", "-ERR cancelled");
        }); Pop3Client client = Pop3Client.connect(settings(server).bearerToken(true).build())) {
            assertThrows(Pop3Exception.class, () -> client.login("a", LONG_TOKEN));
            server.verify();
        }
    }
}
