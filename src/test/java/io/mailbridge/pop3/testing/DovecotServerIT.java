package io.mailbridge.pop3.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.mailbridge.pop3.testing.DovecotServer.CertChoice;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateExpiredException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves the Dovecot harness with raw-socket POP3 sessions (no Mailbridge classes).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DovecotServerIT {

    private static final Pattern UIDL_LINE = Pattern.compile("(\\d+) ([0-9a-fA-F]{16})");

    @BeforeAll
    static void dovecotIsInstalled() {
        DovecotServer.requireInstalled(); // fails, never skips
    }

    @Test
    void plainSessionSeesDeliveredMessagesInDeliveryOrderAndDeleteExpunges() throws Exception {
        try (DovecotServer dovecot = DovecotServer.builder().user("alice", "secret").user("bob", "pw2")
                .build().start()) {
            List<byte[]> messages = new ArrayList<>();
            for (int i = 1; i <= 50; i++) {
                messages.add(message(i));
            }
            dovecot.deliver("alice", messages.subList(0, 25));
            for (byte[] message : messages.subList(25, 50)) {
                dovecot.deliver("alice", message);
            }
            assertEquals(50, dovecot.messageCount("alice"));
            assertEquals(0, dovecot.messageCount("bob"));
            long totalSize = messages.stream().mapToLong(m -> m.length).sum();

            List<String> firstUidls;
            try (RawPop3 pop3 = RawPop3.plain(dovecot)) {
                assertTrue(pop3.greeting.startsWith("+OK"), pop3.greeting);
                assertOk(pop3.command("USER alice"));
                assertOk(pop3.command("PASS secret"));
                assertEquals("+OK 50 " + totalSize, pop3.command("STAT"));

                List<String> list = pop3.multiLine("LIST");
                assertEquals(50, list.size());
                for (int i = 1; i <= 50; i++) {
                    // Sizes are the CRLF sizes, taken from ",W=" in the file names.
                    assertEquals(i + " " + messages.get(i - 1).length, list.get(i - 1));
                }

                List<String> uidl = pop3.multiLine("UIDL");
                assertEquals(50, uidl.size());
                firstUidls = new ArrayList<>();
                for (int i = 1; i <= 50; i++) {
                    var m = UIDL_LINE.matcher(uidl.get(i - 1));
                    assertTrue(m.matches(), uidl.get(i - 1));
                    assertEquals(i, Integer.parseInt(m.group(1)));
                    // %08Xu%08Xv: the first 8 hex digits are the IMAP UID, assigned in delivery order.
                    assertEquals(i, Integer.parseInt(m.group(2).substring(0, 8), 16), uidl.get(i - 1));
                    firstUidls.add(m.group(2));
                }
                assertEquals(50, new HashSet<>(firstUidls).size());
                for (int i = 1; i <= 50; i++) {
                    String headers = new String(pop3.multiLineBytes("TOP " + i + " 0"), StandardCharsets.US_ASCII);
                    assertTrue(headers.contains("X-Seq: " + i + "\r\n"), headers);
                }

                assertArrayEquals(messages.get(0), pop3.multiLineBytes("RETR 1"));
                assertOk(pop3.command("DELE 1"));
                assertTrue(pop3.command("QUIT").startsWith("+OK"));
            }
            assertEquals(49, dovecot.messageCount("alice"));

            try (RawPop3 pop3 = RawPop3.plain(dovecot)) {
                pop3.login("alice", "secret");
                List<String> uidl = pop3.multiLine("UIDL");
                assertEquals(49, uidl.size());
                for (int i = 1; i <= 49; i++) {
                    // UIDLs are stable across sessions: old message i+1 is now message i.
                    assertEquals(i + " " + firstUidls.get(i), uidl.get(i - 1));
                }
                assertTrue(pop3.command("QUIT").startsWith("+OK"));
            }
            assertTrue(dovecot.logLines().stream().anyMatch(
                    l -> l.contains("pop3(alice)") && l.contains("Disconnected: Logged out") && l.contains("del=1/50")),
                    dovecot::diagnostics);
            assertEquals(2, dovecot.logLines().stream().filter(l -> l.contains("Login: user=<alice>")).count(),
                    dovecot::diagnostics);
        }
    }

    @Test
    void capaAdvertisesUidlTopPipeliningStlsAndSaslPlain() throws Exception {
        try (DovecotServer dovecot = DovecotServer.builder().user("alice", "secret").build().start();
                RawPop3 pop3 = RawPop3.plain(dovecot)) {
            List<String> capa = pop3.multiLine("CAPA");
            assertTrue(capa.contains("UIDL"), capa.toString());
            assertTrue(capa.contains("TOP"), capa.toString());
            assertTrue(capa.contains("PIPELINING"), capa.toString());
            assertTrue(capa.contains("STLS"), capa.toString());
            assertTrue(capa.stream().anyMatch(l -> l.startsWith("SASL ") && List.of(l.split(" ")).contains("PLAIN")),
                    capa.toString());
        }
    }

    @Test
    void stlsUpgradesThePlainPort() throws Exception {
        try (DovecotServer dovecot = DovecotServer.builder().user("alice", "secret").build().start();
                RawPop3 pop3 = RawPop3.plain(dovecot)) {
            dovecot.deliver("alice", message(1));
            assertOk(pop3.command("STLS"));
            pop3.startTls(TestCertificates.sslContextTrusting(dovecot.caPem()), dovecot);
            pop3.login("alice", "secret");
            assertEquals("+OK 1 " + message(1).length, pop3.command("STAT"));
            assertTrue(pop3.command("QUIT").startsWith("+OK"));
        }
    }

    @Test
    void implicitTlsPortPresentsCertificateTrustedByTestCa() throws Exception {
        try (DovecotServer dovecot = DovecotServer.builder().user("alice", "secret").build().start();
                RawPop3 pop3 = RawPop3.tls(dovecot, TestCertificates.sslContextTrusting(dovecot.caPem()))) {
            assertTrue(pop3.greeting.startsWith("+OK"), pop3.greeting);
            X509Certificate peer = (X509Certificate) ((SSLSocket) pop3.socket).getSession().getPeerCertificates()[0];
            assertTrue(peer.getSubjectX500Principal().getName().contains("CN=localhost"));
            pop3.login("alice", "secret");
            assertTrue(pop3.command("QUIT").startsWith("+OK"));
        }
    }

    @Test
    void truststoresBuiltWithKeytoolHoldTheCa(@TempDir Path tmp) throws Exception {
        TestCertificates certs = TestCertificates.shared();
        for (Path store : List.of(certs.caPkcs12(tmp.resolve("ca.p12"), "changeit"),
                certs.caJks(tmp.resolve("ca.jks"), "changeit"))) {
            KeyStore keyStore = KeyStore.getInstance(store.toString().endsWith(".jks") ? "JKS" : "PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                keyStore.load(in, "changeit".toCharArray());
            }
            assertTrue(keyStore.isCertificateEntry("mailbridge-test-ca"), store.toString());
        }
    }

    @Test
    void wrongPasswordIsRejectedQuicklyAndDoesNotSlowDownLaterLogins() throws Exception {
        try (DovecotServer dovecot = DovecotServer.builder().user("alice", "secret").build().start()) {
            for (int attempt = 1; attempt <= 3; attempt++) {
                try (RawPop3 pop3 = RawPop3.plain(dovecot)) {
                    assertOk(pop3.command("USER alice"));
                    long start = System.nanoTime();
                    String reply = pop3.command("PASS wrong-" + attempt);
                    Duration took = Duration.ofNanos(System.nanoTime() - start);
                    assertTrue(reply.startsWith("-ERR [AUTH]"), reply);
                    assertTrue(took.toMillis() < 1000, "wrong password took " + took);
                }
            }
            try (RawPop3 pop3 = RawPop3.plain(dovecot)) {
                long start = System.nanoTime();
                pop3.login("alice", "secret");
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertTrue(took.toMillis() < 1000, "login after failures took " + took + " (auth penalty?)");
            }
        }
    }

    @Test
    void expiredCertificateFailsPkixValidation() throws Exception {
        try (DovecotServer dovecot = DovecotServer.builder().user("alice", "secret")
                .certificate(CertChoice.EXPIRED).build().start()) {
            SSLHandshakeException e = assertThrows(SSLHandshakeException.class,
                    () -> RawPop3.tls(dovecot, TestCertificates.sslContextTrusting(dovecot.caPem())).close());
            assertNotNull(findCause(e, CertificateExpiredException.class), () -> stackTrace(e));
        }
    }

    @Test
    void untrustedCertificateFailsPkixValidation() throws Exception {
        try (DovecotServer dovecot = DovecotServer.builder().user("alice", "secret")
                .certificate(CertChoice.UNTRUSTED).build().start()) {
            SSLHandshakeException e = assertThrows(SSLHandshakeException.class,
                    () -> RawPop3.tls(dovecot, TestCertificates.sslContextTrusting(dovecot.caPem())).close());
            assertTrue(stackTrace(e).contains("PKIX path building failed"), () -> stackTrace(e));
            // ...while a client that pins the self-signed certificate accepts it.
            try (RawPop3 pop3 = RawPop3.tls(dovecot,
                    TestCertificates.sslContextTrusting(TestCertificates.shared().untrustedCertPem()))) {
                assertTrue(pop3.greeting.startsWith("+OK"));
            }
        }
    }

    @Test
    void startAndStopThreeTimesLeavesNoProcessesOrFiles() throws Exception {
        for (int round = 1; round <= 3; round++) {
            DovecotServer dovecot = DovecotServer.builder().user("alice", "secret").build().start();
            Path dir = dovecot.directory();
            ProcessHandle master = dovecot.processHandle();
            List<ProcessHandle> children;
            try (RawPop3 pop3 = RawPop3.plain(dovecot)) {
                pop3.login("alice", "secret"); // spawns auth and pop3 processes too
                children = master.descendants().toList();
                assertFalse(children.isEmpty(), "dovecot should have child processes");
                assertFalse(processesMentioning(dir).isEmpty(), "pgrep -f " + dir + " should find the master");
                assertTrue(pop3.command("QUIT").startsWith("+OK"));
            }
            dovecot.close();
            assertFalse(master.isAlive(), "master still alive after close()");
            for (ProcessHandle child : children) {
                // Killed children may linger as zombies for a second until init reaps them: not running.
                assertFalse(DovecotServer.isRunning(child), "child " + child.pid() + " " + child.info()
                        + " still running");
            }
            assertEquals(List.of(), processesMentioning(dir));
            assertFalse(Files.exists(dir), dir + " not deleted");
            dovecot.close(); // idempotent
        }
    }

    @Test
    void requireInstalledPassesAndVersionIsReported() {
        DovecotServer.requireInstalled();
        assertTrue(DovecotServer.installedVersion().matches("\\d+\\.\\d+.*"));
    }

    // ------------------------------------------------------------------------------------------ helpers

    private static byte[] message(int i) {
        String body = i == 1
                // dot-stuffing cases: a lone "." line, a line starting with "." and one starting with ".."
                ? "First message.\r\n.\r\n.leading dot\r\n..two dots\r\nend\r\n"
                : "Body of message " + i + "\r\n";
        return ("From: sender@example.com\r\n"
                + "To: alice@example.com\r\n"
                + "Subject: message " + i + "\r\n"
                + "Message-ID: <m" + i + "@mailbridge.test>\r\n"
                + "X-Seq: " + i + "\r\n"
                + "\r\n"
                + body).getBytes(StandardCharsets.US_ASCII);
    }

    private static void assertOk(String reply) {
        assertTrue(reply.startsWith("+OK"), reply);
    }

    private static List<ProcessHandle> processesMentioning(Path dir) {
        String needle = dir.toString();
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains(needle)).orElse(false))
                .toList();
    }

    private static <T extends Throwable> T findCause(Throwable e, Class<T> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    private static String stackTrace(Throwable e) {
        var out = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(out));
        return out.toString();
    }

    /** Minimal raw POP3 client over a (possibly TLS) socket. */
    private static final class RawPop3 implements Closeable {
        private Socket socket;
        private InputStream in;
        private OutputStream out;
        final String greeting;

        private RawPop3(Socket socket, boolean readGreeting) throws IOException {
            attach(socket);
            this.greeting = readGreeting ? readLine() : null;
        }

        static RawPop3 plain(DovecotServer dovecot) throws IOException {
            Socket socket = new Socket();
            socket.connect(new InetSocketAddress(dovecot.host(), dovecot.plainPort()), 5000);
            socket.setSoTimeout(10_000);
            return new RawPop3(socket, true);
        }

        static RawPop3 tls(DovecotServer dovecot, SSLContext context) throws IOException {
            Socket raw = new Socket();
            raw.connect(new InetSocketAddress(dovecot.host(), dovecot.tlsPort()), 5000);
            raw.setSoTimeout(10_000);
            SSLSocket socket = (SSLSocket) context.getSocketFactory()
                    .createSocket(raw, dovecot.host(), dovecot.tlsPort(), true);
            try {
                verifyHostname(socket);
                socket.startHandshake();
                return new RawPop3(socket, true);
            } catch (IOException | RuntimeException e) {
                socket.close();
                throw e;
            }
        }

        void startTls(SSLContext context, DovecotServer dovecot) throws IOException {
            SSLSocket tls = (SSLSocket) context.getSocketFactory()
                    .createSocket(socket, dovecot.host(), dovecot.plainPort(), true);
            verifyHostname(tls);
            tls.startHandshake();
            attach(tls);
        }

        private static void verifyHostname(SSLSocket socket) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS"); // 127.0.0.1 must match the IP SAN
            socket.setSSLParameters(parameters);
        }

        private void attach(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        void login(String user, String password) throws IOException {
            assertOk(command("USER " + user));
            assertOk(command("PASS " + password));
        }

        String command(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return readLine();
        }

        /** Sends a multi-line command; returns the body lines (dot-unstuffed) without the status line. */
        List<String> multiLine(String line) throws IOException {
            String body = new String(multiLineBytes(line), StandardCharsets.ISO_8859_1);
            List<String> lines = new ArrayList<>(List.of(body.split("\r\n", -1)));
            lines.remove(lines.size() - 1); // after the last CRLF
            return lines;
        }

        /** Sends a multi-line command; returns the body bytes exactly, CRLFs included, dot-unstuffed. */
        byte[] multiLineBytes(String line) throws IOException {
            String status = command(line);
            if (!status.startsWith("+OK")) {
                fail(line + " -> " + status);
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                byte[] raw = readRawLine();
                if (raw.length == 3 && raw[0] == '.') {
                    return body.toByteArray();
                }
                int offset = raw[0] == '.' ? 1 : 0;
                body.write(raw, offset, raw.length - offset);
            }
        }

        private String readLine() throws IOException {
            byte[] raw = readRawLine();
            return new String(raw, 0, raw.length - 2, StandardCharsets.ISO_8859_1);
        }

        /** One line including its CRLF. */
        private byte[] readRawLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int previous = -1;
            while (true) {
                int b = in.read();
                if (b < 0) {
                    throw new EOFException("connection closed after " + line);
                }
                line.write(b);
                if (previous == '\r' && b == '\n') {
                    return line.toByteArray();
                }
                previous = b;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
