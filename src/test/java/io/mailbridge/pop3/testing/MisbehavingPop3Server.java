package io.mailbridge.pop3.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiPredicate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A real POP3 server (RFC 1939, with CAPA/RESP-CODES/PIPELINING/EXPIRE/LOGIN-DELAY of RFC 2449, STLS of RFC 2595
 * and AUTH PLAIN of RFC 5034) on {@code 127.0.0.1}, serving one in-memory mailbox, with fault switches a test can
 * flip at any time, and counters of what it saw on the wire.
 *
 * <p>Honest behaviour: each session sees the mailbox as it was at login (a maildrop snapshot); {@code DELE} only
 * marks; {@code QUIT} in the TRANSACTION state applies the marks (UPDATE state), a session that ends any other way
 * changes nothing; multi-line answers are dot-stuffed; pipelined commands are answered in order; LIST reports the
 * size of the message with CRLF line ends before dot-stuffing.
 *
 * <p>Faults apply only to sessions numbered {@link #faultsFromSession(int) from N on} (sessions count from 1, in
 * accept order), so a connector's live check in {@code validate()} can pass on session 1 before the server starts
 * to misbehave. Most faults take a {@code times} budget ({@link #ALWAYS} for no limit); each firing is recorded in
 * {@link #firedFaults()}.
 *
 * <pre>{@code
 * try (MisbehavingPop3Server pop3 = MisbehavingPop3Server.builder().user("alice", "secret").build().start()) {
 *     pop3.deliver(Mails.numbered(1));
 *     pop3.faultsFromSession(2);
 *     pop3.failAt(Stage.LOGIN, Code.IN_USE, 2);
 *     // connect to pop3.host():pop3.port() with pop3.security=none
 * }
 * }</pre>
 */
public final class MisbehavingPop3Server implements AutoCloseable {

    /** No limit on how often a fault fires. */
    public static final int ALWAYS = -1;

    /** How long a reset/down fault waits after flushing, so the client has read everything sent before it. */
    private static final long SETTLE_MS = 300;
    /** Bytes a hostile response writes at most before it goes silent (keeps a broken client from spinning forever). */
    private static final long HOSTILE_HARD_CAP = 1L << 30;
    private static final int MAX_COMMAND_LINE = 64 * 1024;
    private static final int PLAINTEXT_CAPTURE_MAX = 4 * 1024 * 1024;

    /** RFC 2449 response codes the server can answer with. */
    public enum Code {
        IN_USE("IN-USE", "maildrop already locked by another session (test server)"),
        LOGIN_DELAY("LOGIN-DELAY", "too soon since the last login (test server)"),
        SYS_TEMP("SYS/TEMP", "temporary system problem, try later (test server)"),
        SYS_PERM("SYS/PERM", "mailbox disabled by the administrator (test server)"),
        AUTH("AUTH", "invalid credentials (test server)");

        private final String code;
        private final String text;

        Code(String code, String text) {
            this.code = code;
            this.text = text;
        }

        /** The code as sent, without brackets ({@code SYS/PERM}). */
        public String code() {
            return code;
        }

        /** The human text sent after the code. */
        public String text() {
            return text;
        }

        String line() {
            return "-ERR [" + code + "] " + text;
        }
    }

    /** Where a refusal is sent. */
    public enum Stage {
        /** Instead of the {@code +OK} greeting; the server then closes the connection. */
        GREETING,
        /** In answer to PASS, APOP or AUTH (the credentials are not even looked at). */
        LOGIN
    }

    /** How the UIDL listing breaks RFC 1939. */
    public enum UidlFault {
        NONE,
        /** Message 2 gets the unique-id of message 1 (needs 2 messages). */
        DUPLICATE,
        /** Message 1 gets an empty unique-id ({@code "1 "}). */
        EMPTY,
        /** Message 1 gets an 80-character unique-id (the limit is 70). */
        TOO_LONG,
        /** Message 1 gets a unique-id with bytes outside 0x21-0x7E (DEL and 0xE9). */
        BAD_BYTES,
        /** Message 2 is listed under message number 1 (needs 2 messages): two UIDLs for one number. */
        DUPLICATE_NUMBER,
        /** LIST leaves out message 1, which UIDL lists. */
        MISSING_FROM_LIST
    }

    /** STLS downgrade faults (for a server built with {@link Builder#starttls()}). */
    public enum StlsFault {
        NONE,
        /** CAPA does not list STLS (and STLS is answered with -ERR). */
        NOT_ADVERTISED,
        /** CAPA lists STLS, but STLS is answered with -ERR. */
        REFUSED
    }

    /** Where the server stops talking (without closing) until the client gives up. */
    public enum Silence {
        /** Never sends the greeting. */
        GREETING,
        /** Never answers UIDL. */
        UIDL,
        /** Sends half of the first RETR answer of the session, then nothing. */
        RETR_BODY,
        /**
         * Sends the first RETR answer of the session one byte at a time, {@link #trickle} apart, so that no single
         * read waits long, until the client closes the connection.
         */
        RETR_TRICKLE
    }

    /** What happens to QUIT in a session that sent DELE. */
    public enum QuitFault {
        NONE,
        /** The UPDATE is applied (marked messages are deleted), then the connection closes without {@code +OK}. */
        REPLY_LOST,
        /** The connection closes before the UPDATE: nothing is deleted and no reply is sent. */
        QUIT_LOST
    }

    /** Which certificate TLS presents (both from {@link TestCertificates#shared()}). */
    public enum Cert {
        /** Signed by the test CA for localhost / 127.0.0.1. */
        VALID,
        /** Self-signed, not trusted by the test CA. */
        UNTRUSTED
    }

    private enum TlsMode { NONE, STARTTLS, IMPLICIT }

    /** How the server speaks XOAUTH2, as the two big providers do. */
    public enum OAuthStyle {
        /**
         * Exchange Online as Microsoft documents it: {@code AUTH XOAUTH2}, {@code + }, then the token on its own
         * line; an initial response on the AUTH line is refused; a bad token gets a plain {@code -ERR}.
         */
        MICROSOFT,
        /**
         * Gmail: the initial response inline or after {@code + }; a bad token gets a base64 JSON error challenge,
         * which the client must answer with an empty line before the {@code -ERR [AUTH]}.
         */
        GOOGLE
    }

    // ------------------------------------------------------------------------------------------ configuration

    private final String user;
    private final String password;
    private final TlsMode tlsMode;
    private final boolean pipelining;
    private final boolean saslPlain;
    private final int port;
    private final OAuthStyle oauthStyle;
    private final BiPredicate<String, String> tokenCheck;

    // ------------------------------------------------------------------------------------------ mailbox

    private final Object mailboxLock = new Object();
    private final List<StoredMessage> mailbox = new ArrayList<>();
    private final List<StoredMessage> everDelivered = new ArrayList<>();
    private long nextSeq = 1;
    private int indexGeneration = 0;

    // ------------------------------------------------------------------------------------------ faults

    private volatile int faultsFromSession = 1;
    private volatile Armed<Code> greetingFault;
    private volatile Armed<Code> loginFault;
    private volatile int loginDelaySeconds;
    private volatile Armed<Void> noUidl;
    private volatile UidlFault uidlFault = UidlFault.NONE;
    private volatile boolean expireZero;
    private volatile boolean expirePerUser;
    private volatile Armed<String> refuseRetr;           // uid whose RETR and TOP are answered -ERR
    private volatile String refuseDele;                  // uid whose DELE is answered -ERR
    private volatile Armed<long[]> resetDuringRetr;      // {nth RETR of the session, after bytes}
    private volatile Armed<Integer> resetAfterResponses; // after k complete RETR answers
    private volatile Armed<long[]> downDuringRetr;       // {after bytes, down for ms}
    private volatile Armed<Silence> silence;
    private volatile Armed<QuitFault> quitFault;
    private volatile Armed<Long> overlongUidlLine;       // bytes of the line (no CRLF ever)
    private volatile Armed<Integer> endlessBody;         // message number whose RETR never ends
    private volatile Integer listSizeOverride;           // LIST size reported for the endless message
    private volatile Long listedSizeOfAll;               // LIST size reported for every message (a lie)
    private volatile StlsFault stlsFault = StlsFault.NONE;
    private volatile Cert cert = Cert.VALID;

    // ------------------------------------------------------------------------------------------ observations

    private final AtomicInteger sessionCounter = new AtomicInteger();
    private final List<SessionState> sessions = new CopyOnWriteArrayList<>();
    private final Set<SessionState> active = ConcurrentHashMap.newKeySet();
    private final AtomicInteger maxConcurrent = new AtomicInteger();
    private final List<Command> commands = new CopyOnWriteArrayList<>();
    private final List<Long> loginAttemptTimes = new CopyOnWriteArrayList<>();
    private final List<Long> rejectedLoginTimes = new CopyOnWriteArrayList<>();
    private final List<Long> successfulLoginTimes = new CopyOnWriteArrayList<>();
    private final List<String> firedFaults = new CopyOnWriteArrayList<>();
    private final List<HostileResponse> hostileResponses = new CopyOnWriteArrayList<>();
    private final AtomicInteger quitsAfterRetr = new AtomicInteger();
    private final AtomicInteger updates = new AtomicInteger();
    private final AtomicInteger expiredWithoutDele = new AtomicInteger();
    private final AtomicInteger tlsHandshakeFailures = new AtomicInteger();
    private final AtomicInteger longestAuthLine = new AtomicInteger();
    private final AtomicInteger errorChallenges = new AtomicInteger();
    private final ByteArrayOutputStream plaintextReceived = new ByteArrayOutputStream();
    private volatile long lastSuccessfulLoginMillis = Long.MIN_VALUE / 2;

    // ------------------------------------------------------------------------------------------ sockets

    private final Object lifecycle = new Object();
    private ServerSocket listener;
    private Thread acceptor;
    private volatile boolean closed;
    private volatile SSLContext validContext;
    private volatile SSLContext untrustedContext;

    static {
        // Load the nested classes now rather than mid-session: a test tree recompiled by a concurrent build must
        // not turn a lazily loaded class into a NoClassDefFoundError inside a session thread.
        for (Class<?> c : List.of(SessionState.class, Armed.class, EndSession.class, StoredMessage.class,
                Command.class, HostileResponse.class, SessionInfo.class, Code.class, Stage.class, UidlFault.class,
                StlsFault.class, Silence.class, QuitFault.class, Cert.class, TlsMode.class, OAuthStyle.class)) {
            c.getName();
        }
    }

    private MisbehavingPop3Server(Builder builder) {
        this.user = builder.user;
        this.password = builder.password;
        this.tlsMode = builder.tlsMode;
        this.pipelining = builder.pipelining;
        this.saslPlain = builder.saslPlain;
        this.oauthStyle = builder.oauthStyle;
        this.tokenCheck = builder.tokenCheck;
        this.port = builder.port != 0 ? builder.port : reservePort();
    }

    public static Builder builder() {
        return new Builder();
    }

    // ========================================================================================== lifecycle

    /** Starts listening on the port chosen at build time (again, after {@link #stop()}). */
    public MisbehavingPop3Server start() {
        synchronized (lifecycle) {
            if (closed) {
                throw new IllegalStateException("server closed");
            }
            if (listener != null) {
                return this;
            }
            if (tlsMode != TlsMode.NONE && validContext == null) {
                validContext = serverContext(TestCertificates.shared().serverCertPem(),
                        TestCertificates.shared().serverKeyPem());
                untrustedContext = serverContext(TestCertificates.shared().untrustedCertPem(),
                        TestCertificates.shared().untrustedKeyPem());
            }
            IOException last = null;
            for (int attempt = 0; attempt < 50; attempt++) {
                try {
                    ServerSocket socket = new ServerSocket();
                    socket.setReuseAddress(true);
                    socket.bind(new InetSocketAddress(InetAddress.getByName(host()), port), 50);
                    listener = socket;
                    break;
                } catch (IOException e) {
                    last = e;
                    sleep(100);
                }
            }
            if (listener == null) {
                throw new UncheckedIOException("cannot listen on " + host() + ":" + port, last);
            }
            ServerSocket current = listener;
            acceptor = new Thread(() -> acceptLoop(current), "misbehaving-pop3-accept-" + port);
            acceptor.setDaemon(true);
            acceptor.start();
            return this;
        }
    }

    /**
     * The server goes down: the port closes (connections are refused) and every open session is reset. Mail and
     * counters stay; {@link #start()} brings it back on the same port.
     */
    public void stop() {
        synchronized (lifecycle) {
            if (listener != null) {
                closeQuietly(listener);
                listener = null;
            }
            for (SessionState s : active) {
                s.reset();
            }
        }
    }

    public boolean isRunning() {
        synchronized (lifecycle) {
            return listener != null;
        }
    }

    @Override
    public void close() {
        closed = true;
        stop();
    }

    public String host() {
        return "127.0.0.1";
    }

    public int port() {
        return port;
    }

    /** The CA that signs the {@link Cert#VALID} certificate: the trust store a connector needs. */
    public Path caPem() {
        return TestCertificates.shared().caPem();
    }

    public String user() {
        return user;
    }

    /** The id a single-mailbox connector gives this mailbox when configured with host {@code 127.0.0.1}. */
    public String mailboxId() {
        return user + "@" + host() + ":" + port;
    }

    /**
     * The config of a single-mailbox connector that polls this server every 300 ms over plain POP3, with short
     * timeouts (connect 2 s, read 5 s), the password being {@code pw-<user>}; callers change what a test needs.
     */
    public Map<String, String> connectorConfig(String topic) {
        Map<String, String> config = new java.util.HashMap<>();
        config.put("connector.class", "io.mailbridge.pop3.Pop3SourceConnector");
        config.put("tasks.max", "1");
        config.put("topic", topic);
        config.put("pop3.host", host());
        config.put("pop3.port", String.valueOf(port));
        config.put("pop3.security", "none");
        config.put("pop3.username", user);
        config.put("pop3.password", "pw-" + user);
        config.put("pop3.connect.timeout.ms", "2000");
        config.put("pop3.read.timeout.ms", "5000");
        config.put("poll.interval.ms", "300");
        return config;
    }

    // ========================================================================================== mailbox

    /** Appends a message (CRLF line ends expected, as on the wire); returns its unique-id. */
    public String deliver(byte[] rfc822) {
        synchronized (mailboxLock) {
            StoredMessage m = new StoredMessage(nextSeq++, rfc822);
            m.uid = uidFor(m.seq, indexGeneration);
            m.uidHistory.add(m.uid);
            mailbox.add(m);
            everDelivered.add(m);
            return m.uid;
        }
    }

    /** Unique-ids of the messages in the mailbox, in order. */
    public List<String> uids() {
        synchronized (mailboxLock) {
            List<String> out = new ArrayList<>();
            for (StoredMessage m : mailbox) {
                out.add(m.uid);
            }
            return out;
        }
    }

    public int messageCount() {
        synchronized (mailboxLock) {
            return mailbox.size();
        }
    }

    /** Another client emptied the mailbox. */
    public void removeAll() {
        synchronized (mailboxLock) {
            mailbox.clear();
        }
    }

    /** The server rebuilt its UIDL index: every message in the mailbox gets a new unique-id. */
    public void rebuildIndex() {
        synchronized (mailboxLock) {
            indexGeneration++;
            for (StoredMessage m : mailbox) {
                m.uid = uidFor(m.seq, indexGeneration);
                m.uidHistory.add(m.uid);
            }
        }
    }

    /** How many RETR answers for the message (by any unique-id it ever had) were written completely. */
    public int retrCompleted(String uid) {
        return find(uid).retrCompleted.get();
    }

    /** How many RETR commands for the message were received. */
    public int retrReceived(String uid) {
        return find(uid).retrReceived.get();
    }

    /** How many times DELE marked the message. */
    public int deleReceived(String uid) {
        return find(uid).deleReceived.get();
    }

    private StoredMessage find(String uid) {
        synchronized (mailboxLock) {
            for (StoredMessage m : everDelivered) {
                if (m.uidHistory.contains(uid)) {
                    return m;
                }
            }
        }
        throw new IllegalArgumentException("no message ever had the unique-id " + uid);
    }

    private static String uidFor(long seq, int generation) {
        return generation == 0 ? String.format("uid-%08d", seq) : String.format("g%d-%08x", generation, seq * 7919);
    }

    // ========================================================================================== fault switches

    /** Faults apply to sessions numbered {@code n} and later (sessions count from 1). Default 1: all sessions. */
    public void faultsFromSession(int n) {
        faultsFromSession = n;
    }

    /** The next session's number (faults from it on: {@code faultsFromSession(nextSessionNumber())}). */
    public int nextSessionNumber() {
        return sessionCounter.get() + 1;
    }

    /** Refuses the greeting or the login with {@code -ERR [code] text}, {@code times} times. */
    public void failAt(Stage stage, Code code, int times) {
        Armed<Code> armed = new Armed<>(code, times);
        if (stage == Stage.GREETING) {
            greetingFault = armed;
        } else {
            loginFault = armed;
        }
    }

    /**
     * Advertises {@code LOGIN-DELAY seconds} in CAPA and enforces it: a login sooner than that after the previous
     * successful login is refused with {@code -ERR [LOGIN-DELAY]}. 0 turns it off.
     */
    public void loginDelay(int seconds) {
        loginDelaySeconds = seconds;
    }

    /** No UIDL: not in CAPA, and the command is answered with {@code -ERR}. */
    public void noUidl(boolean on) {
        noUidl = on ? new Armed<>(null, ALWAYS) : null;
    }

    public void uidlFault(UidlFault fault) {
        uidlFault = Objects.requireNonNull(fault);
    }

    /**
     * Advertises {@code EXPIRE 0}: messages retrieved with RETR in a session are deleted when that session ends
     * with QUIT (whether or not the client sent DELE).
     */
    public void expireZero(boolean on) {
        expireZero = on;
    }

    /**
     * Like {@link #expireZero}, but announced as RFC 2449 allows: {@code EXPIRE 30 USER} before login (the policy
     * varies per user) and {@code EXPIRE 0} only in the CAPA answer after login.
     */
    public void expireZeroAfterLogin(boolean on) {
        expireZero = on;
        expirePerUser = on;
    }

    /** RETR and TOP of the message with this UIDL are answered {@code -ERR}, {@code times} times. */
    public void refuseRetr(String uid, int times) {
        refuseRetr = new Armed<>(uid, times);
    }

    /** DELE of the message with this UIDL is always answered {@code -ERR}; null stops it. */
    public void refuseDele(String uid) {
        refuseDele = uid;
    }

    /**
     * Resets the connection (TCP RST) while answering the {@code nthRetr}-th RETR of a session, after
     * {@code afterBytes} bytes of its answer; everything before it is flushed and left to the client to read.
     */
    public void resetDuringRetr(int nthRetr, long afterBytes, int times) {
        resetDuringRetr = new Armed<>(new long[] {nthRetr, afterBytes}, times);
    }

    /**
     * Resets the connection right after the {@code responses}-th complete RETR answer of a session, while the
     * client's further pipelined commands are still unanswered (see {@link SessionInfo#pendingInputAtReset()}).
     */
    public void resetAfterRetrResponses(int responses, int times) {
        resetAfterResponses = new Armed<>(responses, times);
    }

    /**
     * The server goes down in the middle of a RETR answer (after {@code afterBytes} bytes of the session's RETR
     * answers): port closed, sessions reset; it comes back after {@code downMillis}.
     */
    public void goDownDuringRetr(long afterBytes, long downMillis, int times) {
        downDuringRetr = new Armed<>(new long[] {afterBytes, downMillis}, times);
    }

    /** Stops talking at the given point until the client closes the connection. */
    public void silence(Silence where, int times) {
        silence = new Armed<>(where, times);
    }

    private volatile long trickleGapMs = 1_000;

    /** Sends the first RETR answer of the session a byte every {@code gapMs}, until the client closes. */
    public void trickle(long gapMs, int times) {
        trickleGapMs = gapMs;
        silence = new Armed<>(Silence.RETR_TRICKLE, times);
    }

    /** Loses QUIT (or its reply) in sessions that sent DELE. */
    public void quitFault(QuitFault fault, int times) {
        quitFault = fault == QuitFault.NONE ? null : new Armed<>(fault, times);
    }

    /** Answers UIDL with {@code +OK} and then a line of {@code bytes} bytes that never ends (no CRLF). */
    public void overlongUidlLine(long bytes, int times) {
        overlongUidlLine = new Armed<>(bytes, times);
    }

    /**
     * RETR of message {@code number} streams body lines without end (never the terminating dot line); LIST reports
     * it as {@code listedSize} octets.
     */
    public void endlessBody(int number, int listedSize, int times) {
        listSizeOverride = listedSize;
        endlessBody = new Armed<>(number, times);
    }

    /** LIST (and the RETR +OK line) report {@code octets} for every message, whatever it really holds; null: honest. */
    public void listedSizeOfAll(Long octets) {
        listedSizeOfAll = octets;
    }

    public void stlsFault(StlsFault fault) {
        stlsFault = Objects.requireNonNull(fault);
    }

    /** The certificate presented by later TLS handshakes. Applies regardless of {@link #faultsFromSession}. */
    public void certificate(Cert choice) {
        cert = Objects.requireNonNull(choice);
    }

    /** Back to an honest server (the certificate and LOGIN-DELAY stay as set). */
    public void clearFaults() {
        greetingFault = null;
        loginFault = null;
        noUidl = null;
        uidlFault = UidlFault.NONE;
        expireZero = false;
        expirePerUser = false;
        refuseRetr = null;
        refuseDele = null;
        resetDuringRetr = null;
        resetAfterResponses = null;
        downDuringRetr = null;
        silence = null;
        quitFault = null;
        overlongUidlLine = null;
        endlessBody = null;
        listSizeOverride = null;
        stlsFault = StlsFault.NONE;
    }

    // ========================================================================================== observations

    /** Sessions accepted so far (connections, including those refused at the greeting). */
    public int sessions() {
        return sessionCounter.get();
    }

    public List<SessionInfo> sessionInfos() {
        List<SessionInfo> out = new ArrayList<>();
        for (SessionState s : sessions) {
            out.add(s.info());
        }
        return out;
    }

    /** Sessions open right now. */
    public int concurrentSessions() {
        return active.size();
    }

    public int maxConcurrentSessions() {
        return maxConcurrent.get();
    }

    /** When each PASS, APOP or AUTH command arrived (epoch ms), whatever the outcome. */
    public List<Long> loginAttemptTimes() {
        return List.copyOf(loginAttemptTimes);
    }

    /** Login attempts in sessions numbered {@code fromSession} or later. */
    public List<Long> loginAttemptTimes(int fromSession) {
        List<Long> out = new ArrayList<>();
        for (SessionState s : sessions) {
            if (s.number >= fromSession) {
                out.addAll(s.loginAttempts);
            }
        }
        out.sort(null);
        return out;
    }

    /** The most login attempts (in sessions from {@code fromSession} on) that fell into any window this long. */
    public int maxLoginAttemptsWithin(java.time.Duration window, int fromSession) {
        List<Long> times = loginAttemptTimes(fromSession);
        int max = 0;
        int first = 0;
        for (int last = 0; last < times.size(); last++) {
            while (times.get(last) - times.get(first) >= window.toMillis()) {
                first++;
            }
            max = Math.max(max, last - first + 1);
        }
        return max;
    }

    /** Times of login attempts refused for any reason. */
    public List<Long> rejectedLoginTimes() {
        return List.copyOf(rejectedLoginTimes);
    }

    /** Times of successful logins. */
    public List<Long> successfulLoginTimes() {
        return List.copyOf(successfulLoginTimes);
    }

    public int logins() {
        return successfulLoginTimes.size();
    }

    /** Every command line received, credentials masked, in arrival order. */
    public List<Command> commands() {
        return List.copyOf(commands);
    }

    /** USER, PASS, APOP, AUTH (and SASL continuation lines) that arrived outside TLS. */
    public List<Command> plaintextCredentialCommands() {
        List<Command> out = new ArrayList<>();
        for (Command c : commands) {
            if (!c.tls() && c.credential()) {
                out.add(c);
            }
        }
        return out;
    }

    /** Whether the bytes of {@code text} (UTF-8) ever arrived outside TLS (first 4 MB of plaintext input). */
    public boolean plaintextContains(String text) {
        byte[] needle = text.getBytes(StandardCharsets.UTF_8);
        byte[] hay;
        synchronized (plaintextReceived) {
            hay = plaintextReceived.toByteArray();
        }
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** Faults that fired, as {@code "session <n>: <description>"}, in order. */
    public List<String> firedFaults() {
        return List.copyOf(firedFaults);
    }

    /** How many fired fault descriptions start with {@code prefix}. */
    public int fired(String prefix) {
        int n = 0;
        for (String f : firedFaults) {
            if (f.substring(f.indexOf(": ") + 2).startsWith(prefix)) {
                n++;
            }
        }
        return n;
    }

    /** Endless bodies and overlong lines written so far. */
    public List<HostileResponse> hostileResponses() {
        return List.copyOf(hostileResponses);
    }

    /** Sessions that received QUIT (and so entered UPDATE) after they had sent RETR. */
    public int quitsAfterRetr() {
        return quitsAfterRetr.get();
    }

    /** UPDATE states entered (QUIT in TRANSACTION, applied). */
    public int updates() {
        return updates.get();
    }

    /** Messages deleted by the {@code EXPIRE 0} policy at QUIT without DELE. */
    public int expiredWithoutDele() {
        return expiredWithoutDele.get();
    }

    /** The longest AUTH command line received, in octets with CRLF (RFC 5034 allows 255). */
    public int longestAuthLine() {
        return longestAuthLine.get();
    }

    /** XOAUTH2 error challenges sent (GOOGLE style) and answered by the client. */
    public int errorChallenges() {
        return errorChallenges.get();
    }

    public int tlsHandshakeFailures() {
        return tlsHandshakeFailures.get();
    }

    /** A short summary for assertion messages. */
    public String describe() {
        StringBuilder sb = new StringBuilder("MisbehavingPop3Server ").append(host()).append(':').append(port)
                .append(" messages=").append(messageCount()).append(" sessions=").append(sessions())
                .append(" logins=").append(logins()).append(" fired=").append(firedFaults).append('\n');
        for (SessionInfo s : sessionInfos()) {
            sb.append("  ").append(s).append('\n');
        }
        return sb.toString();
    }

    // ========================================================================================== records

    /** One command line as received; PASS/AUTH/APOP arguments masked. */
    public record Command(int session, long timeMillis, String verb, String line, boolean tls) {
        /** Carries credentials (or a SASL response). */
        public boolean credential() {
            return verb.equals("USER") || verb.equals("PASS") || verb.equals("APOP") || verb.equals("AUTH")
                    || verb.equals("SASL-RESPONSE");
        }
    }

    /** An endless body or overlong line: when it started, how many bytes went out, when the client gave up. */
    public record HostileResponse(int session, String kind, long startMillis, long endMillis, long bytes,
                                  boolean clientClosed) {
        public long millis() {
            return endMillis - startMillis;
        }
    }

    /** What one session did. */
    public record SessionInfo(int number, long startMillis, long endMillis, boolean faulty, boolean tls,
                              int loginAttempts, boolean loggedIn, boolean sentRetr, boolean sentDele,
                              boolean quitReceived, String endReason, long silentSinceMillis,
                              int pendingInputAtReset, List<String> verbs) {
        @Override
        public String toString() {
            return "#" + number + " start=" + startMillis + " +" + (endMillis == 0 ? "open" : (endMillis - startMillis)
                    + "ms") + (faulty ? " faulty" : "") + (tls ? " tls" : "") + " logins=" + loginAttempts
                    + (loggedIn ? " in" : "") + " end=" + endReason + " verbs=" + verbs;
        }
    }

    // ========================================================================================== internals

    private static final class StoredMessage {
        final long seq;
        final byte[] content;
        final byte[] stuffed;
        volatile String uid;
        final List<String> uidHistory = new CopyOnWriteArrayList<>();
        final AtomicInteger retrReceived = new AtomicInteger();
        final AtomicInteger retrCompleted = new AtomicInteger();
        final AtomicInteger deleReceived = new AtomicInteger();

        StoredMessage(long seq, byte[] content) {
            this.seq = seq;
            this.content = content.clone();
            this.stuffed = dotStuff(content);
        }
    }

    /** A fault value with a firing budget. */
    private static final class Armed<T> {
        final T value;
        final AtomicInteger remaining;

        Armed(T value, int times) {
            this.value = value;
            this.remaining = new AtomicInteger(times);
        }

        boolean fire() {
            while (true) {
                int r = remaining.get();
                if (r == 0) {
                    return false;
                }
                if (r < 0 || remaining.compareAndSet(r, r - 1)) {
                    return true;
                }
            }
        }
    }

    /** Thrown to end a session on purpose (the socket is already dealt with). */
    private static final class EndSession extends RuntimeException {
        EndSession(String reason) {
            super(reason, null, false, false);
        }
    }

    private void acceptLoop(ServerSocket server) {
        while (!server.isClosed()) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                return;
            }
            SessionState state = new SessionState(sessionCounter.incrementAndGet(), socket);
            sessions.add(state);
            active.add(state);
            maxConcurrent.accumulateAndGet(active.size(), Math::max);
            Thread t = new Thread(state::run, "misbehaving-pop3-" + port + "-session-" + state.number);
            t.setDaemon(true);
            t.start();
        }
    }

    private final class SessionState {
        final int number;
        final long startMillis = System.currentTimeMillis();
        volatile long endMillis;
        volatile String endReason = "open";
        volatile Socket socket;
        final Socket plainSocket;
        InputStream in;
        OutputStream out;
        volatile boolean tls;
        boolean authenticated;
        String pendingUser;
        List<StoredMessage> view;
        boolean[] deleted;
        final Set<StoredMessage> retrieved = new HashSet<>();
        int retrCount;
        int completedRetrs;
        long retrBytes;
        final List<Long> loginAttempts = new CopyOnWriteArrayList<>();
        volatile boolean loggedIn;
        volatile boolean sentRetr;
        volatile boolean sentDele;
        volatile boolean quitReceived;
        volatile long silentSinceMillis;
        volatile int pendingInputAtReset = -1;
        final List<String> verbs = new CopyOnWriteArrayList<>();

        SessionState(int number, Socket socket) {
            this.number = number;
            this.socket = socket;
            this.plainSocket = socket;
        }

        boolean faulty() {
            return number >= faultsFromSession;
        }

        <T> boolean fires(Armed<T> armed, String description) {
            if (armed != null && faulty() && armed.fire()) {
                firedFaults.add("session " + number + ": " + description);
                return true;
            }
            return false;
        }

        SessionInfo info() {
            return new SessionInfo(number, startMillis, endMillis, faulty(), tls, loginAttempts.size(), loggedIn,
                    sentRetr, sentDele, quitReceived, endReason, silentSinceMillis, pendingInputAtReset,
                    List.copyOf(verbs));
        }

        void run() {
            try {
                socket.setSoTimeout(300_000);
                socket.setTcpNoDelay(true);
                attach(socket);
                if (tlsMode == TlsMode.IMPLICIT) {
                    handshake();
                }
                greet();
                while (true) {
                    String line = readCommand();
                    if (line == null) {
                        end("client closed");
                        return;
                    }
                    handle(line);
                    if (in.available() == 0) {
                        out.flush();
                    }
                }
            } catch (EndSession e) {
                end(e.getMessage());
            } catch (Throwable e) {
                end("error: " + e);
            } finally {
                closeQuietly(socket);
                closeQuietly(plainSocket);
                active.remove(this);
            }
        }

        private void end(String reason) {
            if (endMillis == 0) {
                endMillis = System.currentTimeMillis();
                endReason = reason;
            }
        }

        void attach(Socket s) throws IOException {
            socket = s;
            in = new BufferedInputStream(s.getInputStream(), 16 * 1024);
            out = new BufferedOutputStream(s.getOutputStream(), 64 * 1024);
        }

        void handshake() throws IOException {
            SSLContext context = cert == Cert.VALID ? validContext : untrustedContext;
            SSLSocket ssl = (SSLSocket) context.getSocketFactory().createSocket(socket, host(), port, true);
            ssl.setUseClientMode(false);
            try {
                ssl.startHandshake();
            } catch (IOException e) {
                tlsHandshakeFailures.incrementAndGet();
                throw new EndSession("TLS handshake failed: " + e.getMessage());
            }
            tls = true;
            attach(ssl);
        }

        /** Resets the connection: RST, not FIN. */
        void reset() {
            try {
                Socket s = plainSocket;
                s.setSoLinger(true, 0);
                s.close();
            } catch (IOException e) {
                // already gone
            }
        }

        void resetNow(String reason) {
            try {
                pendingInputAtReset = in.available();
            } catch (IOException e) {
                pendingInputAtReset = 0;
            }
            end(reason);
            reset();
            throw new EndSession(reason);
        }

        void send(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        }

        void sendNow(String line) throws IOException {
            send(line);
            out.flush();
        }

        void greet() throws IOException {
            if (fires(silence != null && silence.value == Silence.GREETING ? silence : null, "silence at greeting")) {
                silentUntilClientCloses();
            }
            Armed<Code> g = greetingFault;
            if (fires(g, "greeting " + (g == null ? "" : g.value.code()))) {
                sendNow(g.value.line());
                throw new EndSession("refused at greeting with " + g.value.code());
            }
            sendNow("+OK Mailbridge misbehaving POP3 server ready");
        }

        void silentUntilClientCloses() {
            silentSinceMillis = System.currentTimeMillis();
            try {
                out.flush();
                byte[] sink = new byte[4096];
                while (in.read(sink) >= 0) {
                    // the client may still send; nothing is answered
                }
            } catch (IOException e) {
                // reset by the client
            }
            end("client gave up on silence after " + (System.currentTimeMillis() - silentSinceMillis) + " ms");
            throw new EndSession(endReason);
        }

        void trickleUntilClientCloses(byte[] answer) {
            silentSinceMillis = System.currentTimeMillis();
            try {
                for (int i = 0; i < answer.length - 1; i++) {
                    out.write(answer[i]);
                    out.flush();
                    sleep(trickleGapMs);
                }
                silentUntilClientCloses();
            } catch (IOException e) {
                // closed by the client
            }
            end("client gave up on a trickled reply after " + (System.currentTimeMillis() - silentSinceMillis) + " ms");
            throw new EndSession(endReason);
        }

        String readCommand() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream(64);
            while (true) {
                int b;
                try {
                    b = in.read();
                } catch (SocketException e) {
                    return null;
                }
                if (b < 0) {
                    return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
                }
                if (!tls) {
                    synchronized (plaintextReceived) {
                        if (plaintextReceived.size() < PLAINTEXT_CAPTURE_MAX) {
                            plaintextReceived.write(b);
                        }
                    }
                }
                if (b == '\n') {
                    String text = line.toString(StandardCharsets.ISO_8859_1);
                    return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
                }
                if (line.size() >= MAX_COMMAND_LINE) {
                    sendNow("-ERR command line too long");
                    throw new EndSession("client sent an overlong command line");
                }
                line.write(b);
            }
        }

        void record(String verb, String shown) {
            verbs.add(verb);
            commands.add(new Command(number, System.currentTimeMillis(), verb, shown, tls));
        }

        void handle(String line) throws IOException {
            String[] words = line.trim().split(" +");
            String verb = words[0].toUpperCase(Locale.ROOT);
            String arg1 = words.length > 1 ? words[1] : null;
            switch (verb) {
                case "PASS", "APOP" -> record(verb, verb + " ****");
                case "AUTH" -> record(verb, "AUTH " + (arg1 == null ? "" : arg1) + (words.length > 2 ? " ****" : ""));
                default -> record(verb, line);
            }
            switch (verb) {
                case "CAPA" -> capa();
                case "QUIT" -> quit();
                case "NOOP" -> send(authenticated ? "+OK" : "-ERR not logged in");
                case "STLS" -> stls();
                case "USER" -> user(arg1);
                case "PASS" -> pass(line.length() > 5 ? line.substring(5) : "");
                case "APOP" -> {
                    loginAttempt();
                    reject("-ERR APOP not supported");
                }
                case "AUTH" -> {
                    longestAuthLine.accumulateAndGet(line.length() + 2, Math::max);
                    if (oauthStyle != null && words.length > 1 && words[1].equalsIgnoreCase("XOAUTH2")) {
                        xoauth2(words);
                    } else {
                        auth(words);
                    }
                }
                default -> {
                    if (!authenticated) {
                        send("-ERR log in first");
                        return;
                    }
                    transaction(verb, words);
                }
            }
        }

        void capa() throws IOException {
            List<String> caps = new ArrayList<>();
            caps.add("USER");
            if (oauthStyle != null) {
                caps.add(saslPlain ? "SASL PLAIN XOAUTH2" : "SASL XOAUTH2");
            } else if (saslPlain) {
                caps.add("SASL PLAIN");
            }
            caps.add("TOP");
            Armed<Void> nu = noUidl;
            if (!(nu != null && faulty())) {
                caps.add("UIDL");
            }
            caps.add("RESP-CODES");
            caps.add("AUTH-RESP-CODE");
            if (pipelining) {
                caps.add("PIPELINING");
            }
            if (tlsMode == TlsMode.STARTTLS && !tls && !(faulty() && stlsFault == StlsFault.NOT_ADVERTISED)) {
                caps.add("STLS");
            }
            if (expireZero) {
                caps.add(expirePerUser && !authenticated ? "EXPIRE 30 USER" : "EXPIRE 0");
            }
            int delay = loginDelaySeconds;
            if (delay > 0) {
                caps.add("LOGIN-DELAY " + delay);
            }
            caps.add("IMPLEMENTATION Mailbridge-Misbehaving-Test-Server");
            send("+OK capability list follows");
            for (String c : caps) {
                send(c);
            }
            send(".");
        }

        void stls() throws IOException {
            if (tlsMode != TlsMode.STARTTLS || tls || authenticated) {
                send("-ERR STLS not available here");
                return;
            }
            if (faulty() && stlsFault != StlsFault.NONE) {
                firedFaults.add("session " + number + ": STLS " + stlsFault);
                send("-ERR TLS not available (test server)");
                return;
            }
            sendNow("+OK begin TLS negotiation");
            handshake();
        }

        void user(String name) throws IOException {
            if (authenticated) {
                send("-ERR already logged in");
                return;
            }
            pendingUser = name;
            send("+OK send PASS");
        }

        void pass(String pw) throws IOException {
            loginAttempt();
            if (authenticated || pendingUser == null) {
                reject("-ERR USER first");
                return;
            }
            checkCredentials(pendingUser, pw);
        }

        void auth(String[] words) throws IOException {
            if (words.length < 2) {
                send("-ERR mechanism required");
                return;
            }
            if (!saslPlain || !words[1].equalsIgnoreCase("PLAIN")) {
                loginAttempt();
                reject("-ERR unsupported mechanism");
                return;
            }
            String response;
            if (words.length > 2) {
                response = words[2];
            } else {
                sendNow("+ ");
                String line = readCommand();
                if (line == null) {
                    throw new EndSession("client closed during AUTH");
                }
                record("SASL-RESPONSE", "****");
                response = line.trim();
            }
            loginAttempt();
            if (response.equals("*")) {
                reject("-ERR AUTH cancelled");
                return;
            }
            String[] parts;
            try {
                parts = new String(Base64.getDecoder().decode(response), StandardCharsets.UTF_8).split("\0", -1);
            } catch (IllegalArgumentException e) {
                reject("-ERR invalid base64");
                return;
            }
            if (parts.length != 3) {
                reject("-ERR malformed PLAIN response");
                return;
            }
            checkCredentials(parts[1], parts[2]);
        }

        void xoauth2(String[] words) throws IOException {
            String response;
            if (words.length > 2) {
                if (oauthStyle == OAuthStyle.MICROSOFT) {
                    loginAttempt();
                    reject("-ERR Protocol error: send AUTH XOAUTH2 and the token after the continuation (test server)");
                    return;
                }
                response = words[2];
            } else {
                sendNow("+ ");
                String line = readCommand();
                if (line == null) {
                    throw new EndSession("client closed during AUTH");
                }
                record("SASL-RESPONSE", "****");
                response = line.trim();
            }
            loginAttempt();
            if (response.equals("*")) {
                reject("-ERR AUTH cancelled");
                return;
            }
            String name = null;
            String token = null;
            try {
                String decoded = new String(Base64.getDecoder().decode(response), StandardCharsets.UTF_8);
                for (String part : decoded.split("\u0001")) {
                    if (part.startsWith("user=")) {
                        name = part.substring(5);
                    } else if (part.startsWith("auth=Bearer ")) {
                        token = part.substring(12);
                    }
                }
            } catch (IllegalArgumentException e) {
                // malformed: refused below
            }
            Armed<Code> f = loginFault;
            if (fires(f, "login " + (f == null ? "" : f.value.code()))) {
                reject(f.value.line());
                return;
            }
            if (name != null && token != null && user.equals(name) && tokenCheck.test(name, token)) {
                loggedIn();
                return;
            }
            if (oauthStyle == OAuthStyle.GOOGLE) {
                String error = "{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}";
                sendNow("+ " + Base64.getEncoder().encodeToString(error.getBytes(StandardCharsets.UTF_8)));
                String answer = readCommand();
                if (answer == null) {
                    throw new EndSession("client closed during the XOAUTH2 error challenge");
                }
                record("SASL-RESPONSE", answer.isEmpty() ? "" : "****");
                if (answer.isEmpty()) {
                    errorChallenges.incrementAndGet();
                }
                reject("-ERR [AUTH] Username and password not accepted (test server)");
            } else {
                reject("-ERR Authentication failure: unknown user name or bad password.");
            }
        }

        void loginAttempt() {
            long now = System.currentTimeMillis();
            loginAttempts.add(now);
            loginAttemptTimes.add(now);
        }

        void reject(String line) throws IOException {
            rejectedLoginTimes.add(System.currentTimeMillis());
            send(line);
        }

        void checkCredentials(String name, String pw) throws IOException {
            Armed<Code> f = loginFault;
            if (fires(f, "login " + (f == null ? "" : f.value.code()))) {
                reject(f.value.line());
                return;
            }
            int delay = loginDelaySeconds;
            long now = System.currentTimeMillis();
            if (delay > 0 && now - lastSuccessfulLoginMillis < delay * 1000L) {
                reject("-ERR [LOGIN-DELAY] minimum time between logins is " + delay + " seconds (test server)");
                return;
            }
            if (!user.equals(name) || !password.equals(pw)) {
                reject("-ERR [AUTH] invalid user name or password (test server)");
                return;
            }
            loggedIn();
        }

        void loggedIn() throws IOException {
            long now = System.currentTimeMillis();
            lastSuccessfulLoginMillis = now;
            successfulLoginTimes.add(now);
            authenticated = true;
            loggedIn = true;
            synchronized (mailboxLock) {
                view = new ArrayList<>(mailbox);
            }
            deleted = new boolean[view.size()];
            send("+OK logged in, " + view.size() + " messages");
        }

        /** The message numbered {@code arg} (1-based), or null after an -ERR was sent. */
        StoredMessage message(String arg) throws IOException {
            int n;
            try {
                n = Integer.parseInt(arg);
            } catch (NumberFormatException | NullPointerException e) {
                send("-ERR invalid message number");
                return null;
            }
            if (n < 1 || n > view.size()) {
                send("-ERR no such message");
                return null;
            }
            if (deleted[n - 1]) {
                send("-ERR message " + n + " already deleted");
                return null;
            }
            return view.get(n - 1);
        }

        void transaction(String verb, String[] words) throws IOException {
            String arg1 = words.length > 1 ? words[1] : null;
            switch (verb) {
                case "STAT" -> {
                    int count = 0;
                    long size = 0;
                    for (int i = 0; i < view.size(); i++) {
                        if (!deleted[i]) {
                            count++;
                            size += view.get(i).content.length;
                        }
                    }
                    send("+OK " + count + " " + size);
                }
                case "LIST" -> list(arg1);
                case "UIDL" -> uidl(arg1);
                case "RETR" -> {
                    StoredMessage m = message(arg1);
                    if (m != null && !refused(m, "RETR")) {
                        retr(Integer.parseInt(arg1), m);
                    }
                }
                case "TOP" -> {
                    StoredMessage m = message(arg1);
                    if (m == null || refused(m, "TOP")) {
                        return;
                    }
                    int lines;
                    try {
                        lines = Integer.parseInt(words.length > 2 ? words[2] : "x");
                    } catch (NumberFormatException e) {
                        send("-ERR invalid line count");
                        return;
                    }
                    send("+OK top of message follows");
                    out.write(dotStuff(top(m.content, lines)));
                    send(".");
                }
                case "DELE" -> {
                    StoredMessage m = message(arg1);
                    if (m != null && m.uid.equals(refuseDele)) {
                        firedFaults.add("session " + number + ": DELE refused for " + m.uid);
                        send("-ERR cannot delete this message (test server)");
                    } else if (m != null) {
                        deleted[Integer.parseInt(arg1) - 1] = true;
                        m.deleReceived.incrementAndGet();
                        sentDele = true;
                        send("+OK message " + arg1 + " deleted");
                    }
                }
                case "RSET" -> {
                    Arrays.fill(deleted, false);
                    send("+OK");
                }
                default -> send("-ERR unknown command " + verb);
            }
        }

        /** Answers -ERR when RETR/TOP of this message is to be refused. */
        boolean refused(StoredMessage m, String verb) throws IOException {
            Armed<String> r = refuseRetr;
            if (r != null && m.uid.equals(r.value) && fires(r, verb + " refused for " + m.uid)) {
                send("-ERR unable to read message (test server)");
                return true;
            }
            return false;
        }

        long listedSize(int number, StoredMessage m) {
            Long all = listedSizeOfAll;
            if (all != null) {
                return all;
            }
            Armed<Integer> endless = endlessBody;
            Integer override = listSizeOverride;
            if (endless != null && faulty() && override != null && endless.value == number) {
                return override;
            }
            return m.content.length;
        }

        void list(String arg) throws IOException {
            if (arg != null) {
                StoredMessage m = message(arg);
                if (m != null) {
                    send("+OK " + arg + " " + listedSize(Integer.parseInt(arg), m));
                }
                return;
            }
            send("+OK scan listing follows");
            boolean missing = faulty() && uidlFault == UidlFault.MISSING_FROM_LIST;
            for (int i = 0; i < view.size(); i++) {
                if (!deleted[i] && !(missing && i == 0)) {
                    send((i + 1) + " " + listedSize(i + 1, view.get(i)));
                }
            }
            send(".");
        }

        String uidOf(int index) {
            // if/else, not a switch: an enum switch compiles to a lazily loaded synthetic class
            UidlFault f = faulty() ? uidlFault : UidlFault.NONE;
            String uid = view.get(index).uid;
            if (f == UidlFault.DUPLICATE) {
                return index == 1 ? view.get(0).uid : uid;
            } else if (f == UidlFault.EMPTY) {
                return index == 0 ? "" : uid;
            } else if (f == UidlFault.TOO_LONG) {
                return index == 0 ? "L".repeat(80) : uid;
            } else if (f == UidlFault.BAD_BYTES) {
                return index == 0 ? "bad\u007f\u00e9uid" : uid;
            }
            return uid;
        }

        void uidl(String arg) throws IOException {
            if (fires(noUidl, "no UIDL")) {
                send("-ERR unknown command UIDL");
                return;
            }
            Armed<Silence> s = silence;
            if (s != null && s.value == Silence.UIDL && fires(s, "silence at UIDL")) {
                silentUntilClientCloses();
            }
            Armed<Long> overlong = overlongUidlLine;
            if (arg == null && fires(overlong, "overlong UIDL line")) {
                sendNow("+OK unique-id listing follows");
                hostile("overlong UIDL line", overlong.value, false);
            }
            if (faulty() && uidlFault != UidlFault.NONE) {
                firedFaults.add("session " + number + ": UIDL " + uidlFault);
            }
            if (arg != null) {
                StoredMessage m = message(arg);
                if (m != null) {
                    send("+OK " + arg + " " + uidOf(Integer.parseInt(arg) - 1));
                }
                return;
            }
            send("+OK unique-id listing follows");
            boolean duplicateNumber = faulty() && uidlFault == UidlFault.DUPLICATE_NUMBER;
            for (int i = 0; i < view.size(); i++) {
                if (!deleted[i]) {
                    send((duplicateNumber && i == 1 ? 1 : i + 1) + " " + uidOf(i));
                }
            }
            send(".");
        }

        void retr(int number, StoredMessage m) throws IOException {
            retrCount++;
            sentRetr = true;
            retrieved.add(m);
            m.retrReceived.incrementAndGet();
            Armed<Integer> endless = endlessBody;
            if (endless != null && endless.value == number && fires(endless, "endless body for message " + number)) {
                sendNow("+OK " + listedSize(number, m) + " octets");
                hostile("endless body", HOSTILE_HARD_CAP, true);
            }
            byte[] answer = concat(("+OK " + m.content.length + " octets\r\n").getBytes(StandardCharsets.US_ASCII),
                    m.stuffed, ".\r\n".getBytes(StandardCharsets.US_ASCII));

            Armed<Silence> s = silence;
            if (s != null && s.value == Silence.RETR_BODY && fires(s, "silence in RETR " + number)) {
                out.write(answer, 0, answer.length / 2);
                silentUntilClientCloses();
            }
            if (s != null && s.value == Silence.RETR_TRICKLE && fires(s, "trickle in RETR " + number)) {
                trickleUntilClientCloses(answer);
            }
            Armed<long[]> r = resetDuringRetr;
            if (r != null && r.value[0] == retrCount && faulty() && r.value[1] < answer.length
                    && fires(r, "reset in RETR " + number + " after " + r.value[1] + " bytes")) {
                out.write(answer, 0, (int) r.value[1]);
                out.flush();
                sleep(SETTLE_MS);
                resetNow("reset in RETR " + number);
            }
            Armed<long[]> d = downDuringRetr;
            if (d != null && faulty() && retrBytes + answer.length > d.value[0]) {
                long cut = Math.max(0, d.value[0] - retrBytes);
                if (cut < answer.length && fires(d, "down in RETR " + number)) {
                    out.write(answer, 0, (int) cut);
                    out.flush();
                    sleep(SETTLE_MS);
                    goDown(d.value[1]);
                    throw new EndSession("server went down in RETR " + number);
                }
            }
            out.write(answer);
            retrBytes += answer.length;
            completedRetrs++;
            m.retrCompleted.incrementAndGet();
            Armed<Integer> k = resetAfterResponses;
            if (k != null && k.value == completedRetrs && faulty()
                    && fires(k, "reset after " + completedRetrs + " RETR answers")) {
                out.flush();
                sleep(SETTLE_MS);
                resetNow("reset after " + completedRetrs + " RETR answers");
            }
        }

        /** Streams a response that never ends properly; stops when the client goes away (or at the hard cap). */
        void hostile(String kind, long bytes, boolean lines) {
            long start = System.currentTimeMillis();
            byte[] chunk = new byte[64 * 1024];
            if (lines) {
                byte[] line = ("X".repeat(76) + "\r\n").getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; i < chunk.length; i++) {
                    chunk[i] = line[i % line.length];
                }
            } else {
                Arrays.fill(chunk, (byte) 'a');
            }
            long written = 0;
            boolean clientClosed = false;
            try {
                while (written < bytes) {
                    int n = (int) Math.min(chunk.length, bytes - written);
                    out.write(chunk, 0, n);
                    out.flush();
                    written += n;
                }
            } catch (IOException e) {
                clientClosed = true;
            }
            if (!clientClosed) {
                // Hard cap or the whole line is out: wait, silently, for the client to give up.
                try {
                    byte[] sink = new byte[4096];
                    while (in.read(sink) >= 0) {
                        // ignore
                    }
                } catch (IOException e) {
                    // reset by the client
                }
            }
            long end = System.currentTimeMillis();
            hostileResponses.add(new HostileResponse(number, kind, start, end, written, clientClosed));
            throw new EndSession(kind + ": " + written + " bytes, client " + (clientClosed ? "closed" : "silent"));
        }

        void quit() throws IOException {
            quitReceived = true;
            if (!authenticated) {
                sendNow("+OK bye");
                throw new EndSession("QUIT in AUTHORIZATION");
            }
            Armed<QuitFault> qf = quitFault;
            if (sentDele && qf != null && fires(qf, "QUIT " + qf.value)) {
                out.flush();
                if (qf.value == QuitFault.REPLY_LOST) {
                    update();
                }
                sleep(50);
                reset();
                throw new EndSession("QUIT " + qf.value);
            }
            update();
            sendNow("+OK bye");
            throw new EndSession("QUIT");
        }

        void update() {
            if (sentRetr) {
                quitsAfterRetr.incrementAndGet();
            }
            updates.incrementAndGet();
            synchronized (mailboxLock) {
                for (int i = 0; i < view.size(); i++) {
                    StoredMessage m = view.get(i);
                    if (deleted[i]) {
                        mailbox.remove(m);
                    } else if (expireZero && retrieved.contains(m)) {
                        if (mailbox.remove(m)) {
                            expiredWithoutDele.incrementAndGet();
                        }
                    }
                }
            }
        }
    }

    private void goDown(long downMillis) {
        stop();
        Thread t = new Thread(() -> {
            sleep(downMillis);
            if (!closed) {
                start();
            }
        }, "misbehaving-pop3-restart-" + port);
        t.setDaemon(true);
        t.start();
    }

    // ========================================================================================== helpers

    private static int reservePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] dotStuff(byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 64);
        boolean lineStart = true;
        for (byte b : content) {
            if (lineStart && b == '.') {
                out.write('.');
            }
            out.write(b);
            lineStart = b == '\n';
        }
        if (content.length > 0 && !lineStart) {
            out.write('\r');
            out.write('\n');
        }
        return out.toByteArray();
    }

    /** The header section and the first {@code lines} body lines. */
    static byte[] top(byte[] content, int lines) {
        String text = new String(content, StandardCharsets.ISO_8859_1);
        int blank = text.indexOf("\r\n\r\n");
        if (blank < 0) {
            return content;
        }
        int end = blank + 4;
        for (int i = 0; i < lines && end < text.length(); i++) {
            int next = text.indexOf("\r\n", end);
            end = next < 0 ? text.length() : next + 2;
        }
        return text.substring(0, end).getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int pos = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, pos, p.length);
            pos += p.length;
        }
        return out;
    }

    private static SSLContext serverContext(Path certPem, Path keyPem) {
        try {
            Collection<? extends Certificate> chain;
            try (InputStream in = Files.newInputStream(certPem)) {
                chain = CertificateFactory.getInstance("X.509").generateCertificates(in);
            }
            String pem = Files.readString(keyPem, StandardCharsets.US_ASCII);
            if (!pem.contains("BEGIN PRIVATE KEY")) {
                throw new IllegalStateException("expected a PKCS#8 PEM key in " + keyPem);
            }
            String base64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
            PrivateKey key = KeyFactory.getInstance("RSA")
                    .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] pw = "changeit".toCharArray();
            store.setKeyEntry("server", key, pw, chain.toArray(new Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, pw);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            return context;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build the server TLS context from " + certPem, e);
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException e) {
            // ignore
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Builder; {@link #build()} picks the port (so a test can know it before {@link #start()}). */
    public static final class Builder {
        private String user = "user";
        private String password = "password";
        private TlsMode tlsMode = TlsMode.NONE;
        private boolean pipelining = true;
        private boolean saslPlain = true;
        private int port;
        private OAuthStyle oauthStyle;
        private BiPredicate<String, String> tokenCheck;

        private Builder() {
        }

        public Builder user(String name, String pw) {
            this.user = Objects.requireNonNull(name);
            this.password = Objects.requireNonNull(pw);
            return this;
        }

        /** Plain port that offers STLS (RFC 2595), presenting {@link #certificate(Cert)}. */
        public Builder starttls() {
            tlsMode = TlsMode.STARTTLS;
            return this;
        }

        /** TLS from the first byte (POP3S). */
        public Builder implicitTls() {
            tlsMode = TlsMode.IMPLICIT;
            return this;
        }

        /** Advertise PIPELINING (default true). */
        public Builder pipelining(boolean on) {
            pipelining = on;
            return this;
        }

        /** Advertise and accept SASL PLAIN (default true); USER/PASS always works. */
        public Builder saslPlain(boolean on) {
            saslPlain = on;
            return this;
        }

        /**
         * Advertise and accept XOAUTH2 in the given provider's style; {@code tokenCheck} gets the user name and the
         * bearer token and says whether the token is good for that mailbox (the user must also match).
         */
        public Builder xoauth2(OAuthStyle style, BiPredicate<String, String> tokenCheck) {
            this.oauthStyle = Objects.requireNonNull(style);
            this.tokenCheck = Objects.requireNonNull(tokenCheck);
            return this;
        }

        /** A fixed port; default: a free one chosen at build time. */
        public Builder port(int p) {
            port = p;
            return this;
        }

        public MisbehavingPop3Server build() {
            return new MisbehavingPop3Server(this);
        }
    }
}
