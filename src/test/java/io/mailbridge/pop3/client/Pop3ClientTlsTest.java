package io.mailbridge.pop3.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailbridge.pop3.config.Security;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class Pop3ClientTlsTest {

    private static TestCertificates certificates;
    private static SSLContext serverContext;

    @BeforeAll
    static void generateCertificates() throws Exception {
        certificates = TestCertificates.get();
        serverContext = certificates.serverContext();
    }

    private static Pop3ClientSettings.Builder settings(FakePop3Server server, String host) {
        return Pop3ClientSettings.builder()
                .host(host)
                .port(server.port())
                .security(Security.TLS)
                .mailboxId("secure-box")
                .connectTimeoutMs(2_000)
                .readTimeoutMs(5_000);
    }

    private static FakePop3Server loginServer() throws IOException {
        return FakePop3Server.startTls(serverContext, s -> {
            s.greet();
            s.capa("USER", "UIDL");
            s.login("alice", "secret");
            s.expect("QUIT", "+OK");
        });
    }

    private static void loginOverImplicitTls(Path truststore, String password, String type) throws Exception {
        SSLContext trust = TrustStores.sslContext(truststore.toString(), password, type);
        try (FakePop3Server server = loginServer();
             Pop3Client client = Pop3Client.connect(settings(server, "localhost").sslContext(trust).build())) {
            client.login("alice", "secret");
            client.quit();
            server.verify();
        }
    }

    @Test
    void implicitTlsWithPemTruststore() throws Exception {
        loginOverImplicitTls(certificates.pem, null, null);
    }

    @Test
    void implicitTlsWithPkcs12Truststore() throws Exception {
        loginOverImplicitTls(certificates.pkcs12, TestCertificates.PASSWORD, "pkcs12");
    }

    @Test
    void implicitTlsWithJksTruststore() throws Exception {
        loginOverImplicitTls(certificates.jks, TestCertificates.PASSWORD, null);
    }

    @Test
    void hostnameMismatchFailsUnlessVerificationIsDisabled() throws Exception {
        SSLContext trust = TrustStores.sslContext(certificates.pem.toString(), null, "PEM");
        try (FakePop3Server server = FakePop3Server.startTls(serverContext, s -> s.greet())) {
            // The certificate names localhost only, not the address 127.0.0.1.
            IOException e = assertThrows(IOException.class,
                    () -> Pop3Client.connect(settings(server, "127.0.0.1").sslContext(trust).build()));
            assertFalse(e instanceof Pop3Exception);
            assertTrue(e.getMessage().startsWith("Cannot connect to 127.0.0.1:" + server.port() + " for mailbox secure-box"),
                    e.getMessage());
            assertTrue(e.getCause() instanceof SSLException, String.valueOf(e.getCause()));
        }
        try (FakePop3Server server = loginServer();
             Pop3Client client = Pop3Client.connect(
                     settings(server, "127.0.0.1").sslContext(trust).endpointIdentification(false).build())) {
            client.login("alice", "secret");
            client.quit();
            server.verify();
        }
    }

    @Test
    void untrustedCertificateFailsNamingTheMailbox() throws Exception {
        try (FakePop3Server server = FakePop3Server.startTls(serverContext, s -> s.greet())) {
            // No truststore: the JVM default trust, which does not know the self-signed certificate.
            IOException e = assertThrows(IOException.class, () -> Pop3Client.connect(settings(server, "localhost").build()));
            assertTrue(e.getMessage().startsWith("Cannot connect to localhost:" + server.port()
                    + " for mailbox secure-box: TLS handshake failed"), e.getMessage());
            assertTrue(e.getCause() instanceof SSLException, String.valueOf(e.getCause()));
        }
    }

    @Test
    void startTlsUpgradesAndForgetsCapabilitiesAnnouncedInPlaintext() throws Exception {
        SSLContext trust = TrustStores.sslContext(certificates.pkcs12.toString(), TestCertificates.PASSWORD, null);
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER", "STLS", "PIPELINING");
            s.expect("STLS", "+OK begin TLS negotiation");
            s.startTls(serverContext);
            s.capa("SASL PLAIN", "UIDL");
            s.expect("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "+OK");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = Pop3Client.connect(
                settings(server, "localhost").security(Security.STARTTLS).sslContext(trust).build())) {
            assertFalse(client.capabilities().pipelining());
            assertFalse(client.capabilities().stls());
            assertEquals(List.of("PLAIN"), client.capabilities().saslMechanisms());
            client.login("alice", "secret");
            client.quit();
            server.verify();
            assertEquals(List.of("CAPA", "STLS", "CAPA", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "CAPA", "QUIT"), server.received());
        }
    }
}
