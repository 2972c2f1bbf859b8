package io.mailbridge.pop3.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mailbridge.pop3.config.Security;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Pop3ClientTest {

    private static final String MAILBOX = "box-1";

    private static Pop3ClientSettings.Builder settings(FakePop3Server server) {
        return Pop3ClientSettings.builder()
                .host("127.0.0.1")
                .port(server.port())
                .security(Security.NONE)
                .mailboxId(MAILBOX)
                .connectTimeoutMs(2_000)
                .readTimeoutMs(5_000);
    }

    private static Pop3Client connect(FakePop3Server server) throws IOException {
        return Pop3Client.connect(settings(server).build());
    }

    /** Collects bodies as strings, in delivery order. */
    private static final class Collector implements MessageConsumer {
        final List<Integer> numbers = new ArrayList<>();
        final List<String> bodies = new ArrayList<>();
        final List<Pop3Exception> failures = new ArrayList<>();

        @Override
        public void accept(int number, InputStream body) throws IOException {
            numbers.add(number);
            bodies.add(new String(body.readAllBytes(), StandardCharsets.ISO_8859_1));
        }

        @Override
        public void failed(int number, Pop3Exception error) {
            numbers.add(-number);
            failures.add(error);
        }
    }

    @Test
    void parsesGreetingAndCapabilities() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("TOP", "USER", "UIDL", "PIPELINING", "RESP-CODES", "SASL PLAIN xoauth2", "EXPIRE NEVER",
                    "LOGIN-DELAY 900", "IMPLEMENTATION Fake POP3 1.0");
            s.expect("QUIT", "+OK bye");
        }); Pop3Client client = connect(server)) {
            Capabilities caps = client.capabilities();
            assertTrue(caps.top());
            assertTrue(caps.uidl());
            assertTrue(caps.pipelining());
            assertTrue(caps.user());
            assertTrue(caps.respCodes());
            assertTrue(caps.has("resp-codes"));
            assertFalse(caps.stls());
            assertEquals(List.of("PLAIN", "XOAUTH2"), caps.saslMechanisms());
            assertEquals("NEVER", caps.expire());
            assertEquals(900, caps.loginDelay());
            assertEquals("Fake POP3 1.0", caps.implementation());
            client.quit();
            assertFalse(client.isOpen());
            server.verify();
        }
    }

    @Test
    void capaErrorMeansNoCapabilities() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.expect("CAPA", "-ERR unknown command");
            s.login("alice", "secret");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            assertTrue(client.capabilities().isEmpty());
            assertNull(client.capabilities().expire());
            assertNull(client.capabilities().loginDelay());
            client.login("alice", "secret");
            client.quit();
            server.verify();
        }
    }

    @Test
    void retrieveUndoesDotStuffingAndKeepsLineEnds() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("UIDL");
            s.expect("RETR 1");
            s.sendRaw("+OK 60 octets\r\nSubject: dots\r\n\r\n..leading dot\r\n..\r\n...\r\nmiddle . dot\r\n.\r\n");
            // The message lacks a final line end, so the server added CRLF before the terminator.
            s.expect("RETR 2");
            s.sendRaw("+OK\r\nno final newline\r\n.\r\n");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            Collector collector = new Collector();
            client.retrieve(new int[] {1}, 1, collector);
            client.retrieve(new int[] {2}, 1, collector);
            assertEquals(List.of("Subject: dots\r\n\r\n.leading dot\r\n.\r\n..\r\nmiddle . dot\r\n", "no final newline\r\n"),
                    collector.bodies);
            client.quit();
            server.verify();
        }
    }

    @Test
    void toleratesServerWithBareLfLineEnds() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.sendRaw("+OK ready\n");
            s.readLine();
            s.sendRaw("+OK\nUIDL\nPIPELINING\n.\n");
            s.readLine();
            s.sendRaw("+OK\n1 uid-a\n2 uid-b\n.\n");
            s.readLine();
            s.sendRaw("+OK\nline one\n..dot\n.\n");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            assertTrue(client.capabilities().pipelining());
            assertEquals(List.of(new UidlEntry(1, "uid-a"), new UidlEntry(2, "uid-b")), client.uidl());
            Collector collector = new Collector();
            client.retrieve(new int[] {1}, 1, collector);
            assertEquals(List.of("line one\n.dot\n"), collector.bodies);
            client.quit();
            server.verify();
        }
    }

    @ParameterizedTest
    @CsvSource({
        "'-ERR [IN-USE] mailbox locked by another session', IN-USE, TRANSIENT",
        "'-ERR [LOGIN-DELAY] wait 900 seconds', LOGIN-DELAY, TRANSIENT",
        "'-ERR [SYS/TEMP] try again later', SYS/TEMP, TRANSIENT",
        "'-ERR [SYS/TEMP/QUOTA] over quota', SYS/TEMP/QUOTA, TRANSIENT",
        "'-ERR [AUTH] invalid credentials', AUTH, AUTHENTICATION",
        "'-ERR [SYS/PERM] account disabled', SYS/PERM, PERMANENT",
        "'-ERR invalid password', , AUTHENTICATION",
    })
    void failedLoginReportsResponseCodeAndKind(String answer, String code, Pop3Exception.Kind kind) throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER");
            s.expect("USER alice", "+OK");
            s.expect("PASS hunter22", answer);
        }); Pop3Client client = connect(server)) {
            Pop3Exception e = assertThrows(Pop3Exception.class, () -> client.login("alice", "hunter22"));
            assertEquals(code, e.responseCode());
            assertEquals(kind, e.kind());
            assertEquals("Authentication failed for mailbox box-1: " + answer.substring(5), e.getMessage());
            server.verify();
        }
    }

    @Test
    void failedLoginNeverRevealsThePasswordEvenIfTheServerEchoesIt() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL PLAIN");
            s.expect("AUTH PLAIN AGFsaWNlAGh1bnRlcjIy", "-ERR [AUTH] bad AGFsaWNlAGh1bnRlcjIy hunter22");
        }); Pop3Client client = connect(server)) {
            Pop3Exception e = assertThrows(Pop3Exception.class, () -> client.login("alice", "hunter22"));
            assertFalse(e.getMessage().contains("hunter22"), e.getMessage());
            assertFalse(e.getMessage().contains("AGFsaWNlAGh1bnRlcjIy"), e.getMessage());
            assertTrue(e.getMessage().startsWith("Authentication failed for mailbox box-1: [AUTH] bad"), e.getMessage());
            server.verify();
        }
    }

    @Test
    void logsInWithUserAndPass() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER", "SASL LOGIN");
            s.expect("USER alice", "+OK");
            s.expect("PASS secret", "+OK maildrop locked");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            client.login("alice", "secret");
            client.quit();
            server.verify();
        }
    }

    @Test
    void prefersAuthPlainWithInitialResponseWhenAdvertised() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER", "SASL PLAIN LOGIN");
            s.expect("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "+OK authenticated");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            client.login("alice", "secret");
            client.quit();
            server.verify();
        }
    }

    @Test
    void sendsXoauth2WithTheTokenAsPassword() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL PLAIN XOAUTH2");
            s.expect("AUTH XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2sxMjMBAQ==", "+OK welcome");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = Pop3Client.connect(settings(server).authMechanisms(List.of("xoauth2")).build())) {
            client.login("alice", "tok123");
            client.quit();
            server.verify();
        }
    }

    @Test
    void xoauth2FailureAnswersTheErrorChallengeAndReportsIt() throws Exception {
        String challenge = java.util.Base64.getEncoder().encodeToString("{\"status\":\"401\"}".getBytes(StandardCharsets.UTF_8));
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL XOAUTH2");
            s.expect("AUTH XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2sxMjMBAQ==", "+ " + challenge);
            s.expect("", "-ERR [AUTH] invalid token");
        }); Pop3Client client = Pop3Client.connect(settings(server).authMechanisms(List.of("XOAUTH2")).build())) {
            Pop3Exception e = assertThrows(Pop3Exception.class, () -> client.login("alice", "tok123"));
            assertEquals(Pop3Exception.Kind.AUTHENTICATION, e.kind());
            assertTrue(e.getMessage().contains("{\"status\":\"401\"}"), e.getMessage());
            assertTrue(client.isOpen());
            server.verify();
        }
    }

    @Test
    void apopSendsTheMd5DigestOfTimestampAndPassword() throws Exception {
        // The example of RFC 1939, section 7.
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.send("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
            s.capa("USER");
            s.expect("APOP mrose c4c9334bac560ecc979e58001b3e22fb", "+OK mrose's maildrop has 2 messages");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = Pop3Client.connect(settings(server).authMechanisms(List.of("APOP", "USER")).build())) {
            client.login("mrose", "tanstaaf");
            client.quit();
            server.verify();
        }
    }

    @Test
    void skipsApopWithoutGreetingTimestampAndFallsBackAfterRefusalWithoutCode() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER", "SASL PLAIN");
            s.expect("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "-ERR mechanism disabled");
            s.login("alice", "secret");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = Pop3Client.connect(settings(server).authMechanisms(List.of("APOP", "PLAIN", "USER")).build())) {
            client.login("alice", "secret");
            client.quit();
            server.verify();
        }
    }

    @Test
    void refusesWhenNoConfiguredMechanismIsOffered() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("SASL PLAIN");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = Pop3Client.connect(settings(server).authMechanisms(List.of("APOP", "XOAUTH2")).build())) {
            Pop3Exception e = assertThrows(Pop3Exception.class, () -> client.login("alice", "secret"));
            assertEquals(Pop3Exception.Kind.AUTHENTICATION, e.kind());
            assertTrue(e.getMessage().contains("APOP (the greeting has no APOP timestamp)"), e.getMessage());
            client.quit();
            server.verify();
            assertEquals(List.of("CAPA", "QUIT"), server.received());
        }
    }

    @Test
    void rejectsCredentialsWithLineBreaksBeforeSendingThem() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            Pop3Exception e = assertThrows(Pop3Exception.class, () -> client.login("alice", "pw\r\nDELE 1"));
            assertFalse(e.getMessage().contains("DELE"), e.getMessage());
            client.quit();
            server.verify();
        }
    }

    @Test
    void statUidlAndListParseTheListings() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("UIDL");
            s.expect("STAT", "+OK 3 4200");
            s.expect("UIDL", "+OK", "1 whqtswO00WBw418f9t5JxYwZ", "2 QhdPYR:00WBw1Ph7x7", "5 ~!\"#$%&'()*+,-./[]", ".");
            s.expect("LIST", "+OK 3 messages", "5 3000", "1 1000 extra info", "2 200", ".");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            assertEquals(new StatResult(3, 4200), client.stat());
            assertEquals(List.of(new UidlEntry(1, "whqtswO00WBw418f9t5JxYwZ"), new UidlEntry(2, "QhdPYR:00WBw1Ph7x7"),
                    new UidlEntry(5, "~!\"#$%&'()*+,-./[]")), client.uidl());
            MessageSizes sizes = client.list();
            assertEquals(3, sizes.count());
            assertEquals(1000, sizes.size(1));
            assertEquals(200, sizes.size(2));
            assertEquals(3000, sizes.size(5));
            assertEquals(-1, sizes.size(3));
            assertEquals(1, sizes.numberAt(0));
            assertEquals(5, sizes.numberAt(2));
            client.quit();
            server.verify();
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "2 12345678901234567890123456789012345678901234567890123456789012345678901 | Invalid UID for message 2 in mailbox box-1",
        "2 has space | Invalid UID for message 2 in mailbox box-1",
        "2 | Malformed UIDL line",
        "2 uid-a | Duplicate UID 'uid-a' for messages 1 and 2 in mailbox box-1",
        "1 uid-b | lists message number 1 twice in mailbox box-1",
        "x uid-x | Malformed UIDL line",
    })
    void uidlRejectsInvalidListingsAndStaysInSync(String badLine, String message) throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("UIDL");
            s.expect("UIDL", "+OK", "1 uid-a", badLine, "3 uid-c", ".");
            s.expect("STAT", "+OK 3 300");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            Pop3Exception e = assertThrows(Pop3Exception.class, client::uidl);
            assertEquals(Pop3Exception.Kind.PROTOCOL, e.kind());
            assertTrue(e.getMessage().contains(message), e.getMessage());
            assertEquals(new StatResult(3, 300), client.stat());
            client.quit();
            server.verify();
        }
    }

    @Test
    void uidlRejectsControlAndEightBitBytes() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("UIDL");
            s.expect("UIDL");
            s.sendRaw("+OK\r\n1 ok\r\n7 caf\u00e9\r\n.\r\n");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            Pop3Exception e = assertThrows(Pop3Exception.class, client::uidl);
            assertTrue(e.getMessage().startsWith("Invalid UID for message 7 in mailbox box-1"), e.getMessage());
            client.quit();
            server.verify();
        }
    }

    @Test
    void uidlErrorMeansTheServerLacksUidl() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER");
            s.expect("UIDL", "-ERR unknown command");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            Pop3Exception e = assertThrows(Pop3Exception.class, client::uidl);
            assertEquals(Pop3Exception.Kind.PROTOCOL, e.kind());
            assertTrue(e.getMessage().contains("does not support UIDL for mailbox box-1"), e.getMessage());
            client.quit();
            server.verify();
        }
    }

    /**
     * The fake server counts commands received but not yet answered; it waits for the window
     * to fill before answering the first, so the maximum shows how far the client writes ahead.
     */
    private static int maxOutstandingDuringRetrieve(String[] capabilities, int total, int window, Collector collector)
            throws Exception {
        AtomicInteger received = new AtomicInteger();
        AtomicInteger answered = new AtomicInteger();
        AtomicInteger maxOutstanding = new AtomicInteger();
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa(capabilities);
            BlockingQueue<String> commands = new LinkedBlockingQueue<>();
            Thread reader = new Thread(() -> {
                try {
                    for (int i = 0; i < total; i++) {
                        String command = s.readLine();
                        maxOutstanding.accumulateAndGet(received.incrementAndGet() - answered.get(), Math::max);
                        commands.add(command);
                    }
                } catch (IOException e) {
                    commands.add("failed: " + e);
                }
            });
            reader.start();
            for (int i = 1; i <= total; i++) {
                assertEquals("RETR " + i, commands.poll(5, TimeUnit.SECONDS));
                if (i == 1) {
                    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
                    while (received.get() < window && System.nanoTime() < deadline) {
                        Thread.sleep(1);
                    }
                }
                // Counted before the answer leaves, so the count can only be too low, never too high.
                answered.incrementAndGet();
                s.message("Message-Number: " + i + "\r\n\r\nbody " + i);
            }
            reader.join();
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            int[] numbers = new int[total];
            for (int i = 0; i < total; i++) {
                numbers[i] = i + 1;
            }
            client.retrieve(numbers, window, collector);
            client.quit();
            server.verify();
        }
        return maxOutstanding.get();
    }

    @Test
    void pipelinedRetrieveKeepsAtMostWindowCommandsOutstandingAndDeliversInOrder() throws Exception {
        Collector collector = new Collector();
        int max = maxOutstandingDuringRetrieve(new String[] {"UIDL", "PIPELINING"}, 40, 5, collector);
        assertEquals(5, max);
        assertEquals(40, collector.bodies.size());
        for (int i = 1; i <= 40; i++) {
            assertEquals(i, collector.numbers.get(i - 1));
            assertEquals("Message-Number: " + i + "\r\n\r\nbody " + i + "\r\n", collector.bodies.get(i - 1));
        }
    }

    @Test
    void retrieveSendsOneCommandAtATimeWithoutPipeliningCapability() throws Exception {
        Collector collector = new Collector();
        assertEquals(1, maxOutstandingDuringRetrieve(new String[] {"UIDL"}, 6, 10, collector));
        assertEquals(List.of(1, 2, 3, 4, 5, 6), collector.numbers);
    }

    @Test
    void unreadBodiesAreSkippedSoTheSessionStaysInSync() throws Exception {
        String big = "x".repeat(200_000) + "\r\n.starts with dot\r\n";
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("PIPELINING");
            for (int i = 1; i <= 3; i++) {
                s.readLine();
            }
            s.message(big);
            s.message("second");
            s.message("third");
            s.expect("STAT", "+OK 3 600000");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            List<String> seen = new ArrayList<>();
            client.retrieve(new int[] {1, 2, 3}, 10, (number, body) -> {
                if (number == 1) {
                    seen.add(new String(body.readNBytes(3), StandardCharsets.US_ASCII));
                } else if (number == 3) {
                    seen.add(new String(body.readAllBytes(), StandardCharsets.US_ASCII));
                }
            });
            assertEquals(List.of("xxx", "third\r\n"), seen);
            assertEquals(new StatResult(3, 600_000), client.stat());
            client.quit();
            server.verify();
        }
    }

    @Test
    void bodyCannotBeReadAfterTheConsumerReturned() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa();
            s.readLine();
            s.message("hello");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            InputStream[] kept = new InputStream[1];
            client.retrieve(new int[] {1}, 1, (number, body) -> kept[0] = body);
            assertThrows(IOException.class, () -> kept[0].read());
            client.quit();
            server.verify();
        }
    }

    @Test
    void retrErrorGoesToTheConsumerAndRetrievalContinues() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("PIPELINING");
            for (int i = 1; i <= 3; i++) {
                s.readLine();
            }
            s.message("one");
            s.send("-ERR [SYS/TEMP] message 2 is being moved");
            s.message("three");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            Collector collector = new Collector();
            client.retrieve(new int[] {1, 2, 3}, 3, collector);
            assertEquals(List.of(1, -2, 3), collector.numbers);
            Pop3Exception e = collector.failures.get(0);
            assertEquals(Pop3Exception.Kind.TRANSIENT, e.kind());
            assertEquals("RETR 2 failed for mailbox box-1: [SYS/TEMP] message 2 is being moved", e.getMessage());
            client.quit();
            server.verify();
        }
    }

    @Test
    void consumerFailureMidPipelineDrainsOutstandingAnswersAndPropagates() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("PIPELINING");
            for (int i = 1; i <= 4; i++) {
                s.readLine();
            }
            s.message("one");
            s.message("two");
            s.send("-ERR no such message");
            s.message("four");
            s.expect("STAT", "+OK 4 400");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            List<Integer> delivered = new ArrayList<>();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> client.retrieve(new int[] {1, 2, 3, 4}, 4, (number, body) -> {
                        delivered.add(number);
                        if (number == 2) {
                            throw new IllegalStateException("consumer gave up");
                        }
                    }));
            assertEquals("consumer gave up", e.getMessage());
            assertEquals(List.of(1, 2), delivered);
            assertTrue(client.isOpen());
            assertEquals(new StatResult(4, 400), client.stat());
            client.quit();
            server.verify();
        }
    }

    @Test
    void retrErrorRethrownByDefaultEndsRetrieval() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa();
            s.expect("RETR 9", "-ERR no such message");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            Pop3Exception e = assertThrows(Pop3Exception.class,
                    () -> client.retrieve(new int[] {9, 10}, 1, (number, body) -> body.readAllBytes()));
            assertEquals(Pop3Exception.Kind.PERMANENT, e.kind());
            client.quit();
            server.verify();
            assertEquals(List.of("CAPA", "RETR 9", "QUIT"), server.received());
        }
    }

    @Test
    void connectionLostMidBodyClosesTheClient() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa();
            s.readLine();
            s.sendRaw("+OK\r\npartial line\r\nand more");
        }); Pop3Client client = connect(server)) {
            IOException e = assertThrows(IOException.class,
                    () -> client.retrieve(new int[] {1}, 1, (number, body) -> body.readAllBytes()));
            server.verify();
            assertFalse(e instanceof Pop3Exception);
            assertTrue(e.getMessage().contains("for mailbox box-1"), e.getMessage());
            assertTrue(e.getMessage().contains("127.0.0.1:" + server.port()), e.getMessage());
            assertFalse(client.isOpen());
            assertThrows(IOException.class, client::stat);
        }
    }

    @Test
    void swallowedReadFailureInsideTheConsumerStillEndsTheSession() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa();
            s.readLine();
            s.sendRaw("+OK\r\npartial line\r\n");
            s.awaitClose();
        }); Pop3Client client = Pop3Client.connect(settings(server).readTimeoutMs(300).build())) {
            List<IOException> swallowed = new ArrayList<>();
            IOException e = assertThrows(IOException.class, () -> client.retrieve(new int[] {1}, 1, (number, body) -> {
                try {
                    body.readAllBytes();
                } catch (IOException failure) {
                    swallowed.add(failure);
                }
            }));
            assertEquals(1, swallowed.size());
            assertInstanceOf(java.net.SocketTimeoutException.class, swallowed.get(0).getCause());
            assertTrue(e.getMessage().contains("out of step"), e.getMessage());
            assertFalse(client.isOpen());
            server.verify();
        }
    }

    @Test
    void topStreamsHeadersLikeRetr() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("TOP");
            s.expect("TOP 4 0");
            s.message("Subject: hi\r\n\r\n");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            Collector collector = new Collector();
            client.top(4, 0, collector);
            assertEquals(List.of("Subject: hi\r\n\r\n"), collector.bodies);
            client.quit();
            server.verify();
        }
    }

    @Test
    void asksCapaAgainAfterLoginAndActsOnThePerUserExpirePolicy() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER", "UIDL", "EXPIRE 30 USER", "LOGIN-DELAY 0 USER");
            s.login("alice", "secret");
            s.capa("USER", "UIDL", "EXPIRE 0", "LOGIN-DELAY 90");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            assertTrue(client.expiresOnRetrieval(), "a per-user policy is unknown until after login");
            client.login("alice", "secret");
            assertTrue(client.expiresOnRetrieval(), "EXPIRE 0 for this user");
            assertEquals(90, client.capabilities().loginDelay());
            client.quit();
            server.verify();
        }
    }

    @Test
    void perUserExpirePolicyUnrevealedAfterLoginIsTreatedAsExpiring() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER", "UIDL", "EXPIRE 30 USER");
            s.login("alice", "secret");
            s.expect("CAPA", "-ERR not now");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            client.login("alice", "secret");
            assertTrue(client.expiresOnRetrieval());
            client.quit();
            server.verify();
        }
    }

    @Test
    void expirePolicyThatIsNotZeroForTheUserDoesNotExpire() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER", "UIDL", "EXPIRE 0 USER");
            s.login("alice", "secret");
            s.capa("USER", "UIDL", "EXPIRE NEVER");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            client.login("alice", "secret");
            assertFalse(client.expiresOnRetrieval());
            client.quit();
            server.verify();
        }
    }

    @Test
    void deleAndPipelinedDeleAllReportRefusals() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("PIPELINING");
            s.expect("DELE 1", "+OK message 1 deleted");
            s.expect("DELE 2", "-ERR message 2 already deleted");
            for (int i = 3; i <= 6; i++) {
                s.readLine();
            }
            s.send("+OK", "-ERR [SYS/PERM] no", "+OK", "+OK");
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            client.dele(1);
            Pop3Exception single = assertThrows(Pop3Exception.class, () -> client.dele(2));
            assertEquals("DELE 2 failed for mailbox box-1: message 2 already deleted", single.getMessage());
            List<Pop3Client.Refusal> refused = client.deleAll(new int[] {3, 4, 5, 6});
            assertEquals(1, refused.size(), "one refusal does not cancel the other deletes");
            assertEquals(4, refused.get(0).number());
            assertEquals(Pop3Exception.Kind.PERMANENT, refused.get(0).error().kind());
            assertEquals("SYS/PERM", refused.get(0).error().responseCode());
            client.quit();
            server.verify();
        }
    }

    @Test
    void quitErrorIsReportedAndClosesTheClient() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa();
            s.expect("DELE 1", "+OK");
            s.expect("QUIT", "-ERR some deleted messages not removed");
            s.awaitClose();
        }); Pop3Client client = connect(server)) {
            client.dele(1);
            Pop3Exception e = assertThrows(Pop3Exception.class, client::quit);
            assertTrue(e.getMessage().startsWith("QUIT failed for mailbox box-1"), e.getMessage());
            assertFalse(client.isOpen());
            server.verify();
        }
    }

    @Test
    void closeWithoutQuitSendsNothingAndIsIdempotent() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa();
            s.expect("DELE 1", "+OK");
            s.awaitClose();
        })) {
            Pop3Client client = connect(server);
            client.dele(1);
            client.close();
            client.close();
            server.verify();
            assertTrue(server.clientClosed());
            assertEquals(List.of("CAPA", "DELE 1"), server.received());
            assertThrows(IOException.class, client::quit);
        }
    }

    @Test
    void overlongResponseLineIsAProtocolError() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa();
            s.readLine();
            s.send("+OK", "1 " + "u".repeat(10_000), ".");
        }); Pop3Client client = connect(server)) {
            Pop3Exception e = assertThrows(Pop3Exception.class, client::uidl);
            assertEquals(Pop3Exception.Kind.PROTOCOL, e.kind());
            assertTrue(e.getMessage().contains("longer than 8192 bytes"), e.getMessage());
            assertFalse(client.isOpen());
            server.verify();
        }
    }

    @Test
    void malformedGreetingIsAProtocolError() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> s.send("HTTP/1.1 400 Bad Request"))) {
            Pop3Exception e = assertThrows(Pop3Exception.class, () -> connect(server));
            assertEquals(Pop3Exception.Kind.PROTOCOL, e.kind());
            assertTrue(e.getMessage().contains("for mailbox box-1"), e.getMessage());
            server.verify();
        }
    }

    @Test
    void greetingErrorIsTransientWithoutCode() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> s.send("-ERR [IN-USE] too many connections"))) {
            Pop3Exception e = assertThrows(Pop3Exception.class, () -> connect(server));
            assertEquals(Pop3Exception.Kind.TRANSIENT, e.kind());
            assertEquals("IN-USE", e.responseCode());
            server.verify();
        }
    }

    @Test
    void startTlsWithoutStlsCapabilityFailsWithoutSendingAnythingElse() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("USER", "UIDL");
            s.awaitClose();
        })) {
            Pop3Exception e = assertThrows(Pop3Exception.class,
                    () -> Pop3Client.connect(settings(server).security(Security.STARTTLS).build()));
            assertEquals(Pop3Exception.Kind.PROTOCOL, e.kind());
            assertTrue(e.getMessage().contains("does not offer STLS for mailbox box-1"), e.getMessage());
            server.verify();
            assertEquals(List.of("CAPA"), server.received());
        }
    }

    @Test
    void dataInjectedAfterStlsOkIsRejected() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("STLS");
            s.expect("STLS", "+OK begin TLS", "+OK injected");
            s.awaitClose();
        })) {
            Pop3Exception e = assertThrows(Pop3Exception.class,
                    () -> Pop3Client.connect(settings(server).security(Security.STARTTLS).build()));
            assertEquals(Pop3Exception.Kind.PROTOCOL, e.kind());
            server.verify();
            assertEquals(List.of("CAPA", "STLS"), server.received());
        }
    }

    @Test
    void silentServerTimesOutWithinTheReadTimeout() throws Exception {
        try (FakePop3Server server = FakePop3Server.start(FakePop3Server.Session::awaitClose)) {
            long start = System.nanoTime();
            IOException e = assertThrows(IOException.class,
                    () -> Pop3Client.connect(settings(server).readTimeoutMs(300).build()));
            long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertFalse(e instanceof Pop3Exception);
            assertInstanceOf(java.net.SocketTimeoutException.class, e.getCause());
            assertTrue(elapsedMs >= 250 && elapsedMs < 2_000, "timed out after " + elapsedMs + " ms");
            assertTrue(e.getMessage().contains("127.0.0.1:" + server.port()) && e.getMessage().contains("box-1"),
                    e.getMessage());
            server.verify();
        }
    }

    @Test
    void refusedConnectionNamesHostPortAndMailbox() throws Exception {
        int port;
        try (ServerSocket unused = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = unused.getLocalPort();
        }
        Pop3ClientSettings s = Pop3ClientSettings.builder().host("127.0.0.1").port(port).security(Security.NONE)
                .mailboxId("box-1").connectTimeoutMs(1_000).build();
        IOException e = assertThrows(IOException.class, () -> Pop3Client.connect(s));
        assertTrue(e.getMessage().startsWith("Cannot connect to 127.0.0.1:" + port + " for mailbox box-1: "), e.getMessage());
        assertInstanceOf(java.net.ConnectException.class, e.getCause());
    }

    @Test
    void unknownHostNamesTheHost() {
        Pop3ClientSettings s = Pop3ClientSettings.builder().host("no-such-host.invalid").security(Security.TLS)
                .mailboxId("box-1").connectTimeoutMs(1_000).build();
        IOException e = assertThrows(IOException.class, () -> Pop3Client.connect(s));
        assertEquals("Cannot connect to no-such-host.invalid:995 for mailbox box-1: unknown host no-such-host.invalid",
                e.getMessage());
    }

    @Test
    void retrieveStreamsLargeBodiesExactly() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 20_000; i++) {
            sb.append(i % 7 == 0 ? "." : "").append("line ").append(i).append("\r\n");
        }
        String content = sb.toString();
        try (FakePop3Server server = FakePop3Server.start(s -> {
            s.greet();
            s.capa("PIPELINING");
            s.readLine();
            s.readLine();
            s.message(content);
            s.message(content);
            s.expect("QUIT", "+OK");
        }); Pop3Client client = connect(server)) {
            List<byte[]> bodies = new ArrayList<>();
            client.retrieve(new int[] {1, 2}, 2, (number, body) -> {
                if (number == 1) {
                    bodies.add(body.readAllBytes());
                } else {
                    // Byte by byte, as some parsers read.
                    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                    int b;
                    while ((b = body.read()) >= 0) {
                        out.write(b);
                    }
                    bodies.add(out.toByteArray());
                }
            });
            assertArrayEquals(content.getBytes(StandardCharsets.US_ASCII), bodies.get(0));
            assertArrayEquals(content.getBytes(StandardCharsets.US_ASCII), bodies.get(1));
            client.quit();
            server.verify();
        }
    }

    @Test
    void closeFromAnotherThreadAbortsAConnectWhoseGreetingNeverComes() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Pop3ClientSettings settings = Pop3ClientSettings.builder()
                    .host("127.0.0.1").port(silent.getLocalPort()).security(Security.NONE)
                    .mailboxId("box-1").readTimeoutMs(30_000).build();
            BlockingQueue<Pop3Client> opening = new LinkedBlockingQueue<>();
            Thread closer = new Thread(() -> {
                try {
                    Pop3Client client = opening.take();
                    Thread.sleep(200); // connected by now, waiting for the greeting
                    client.close();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            closer.start();
            long start = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> Pop3Client.connect(settings, opening::add));
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            closer.join();
            assertTrue(tookMs < 5_000, "aborted long before the 30 s read timeout: " + tookMs + " ms; " + e);
            assertTrue(e.getMessage().contains("box-1"), e.getMessage());
        }
    }
}
