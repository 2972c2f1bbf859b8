package io.mailbridge.pop3.client;

import io.mailbridge.pop3.config.Security;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A POP3 session (RFC 1939) with the extensions the connector relies on: CAPA and
 * PIPELINING (RFC 2449), response codes, STLS (RFC 2595), SASL AUTH (RFC 5034) with PLAIN,
 * XOAUTH2 and OAUTHBEARER (RFC 7628), and APOP.
 *
 * <p>Not thread-safe: one thread at a time drives a client. {@link #close()} may be called
 * from another thread to abort a blocked call. Message bodies are streamed from the
 * socket, never buffered whole.
 *
 * <p>After a transport failure or a protocol violation the client closes itself (without
 * QUIT, so no deletion takes effect) and every later call fails. A {@code -ERR} answer
 * leaves the session usable.
 */
public final class Pop3Client implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(Pop3Client.class);

    static final int MAX_CAPA_LINES = 1_000;
    static final int MAX_LISTING_LINES = 10_000_000;
    private static final int MAX_UID_LENGTH = 70;
    private static final int DELETE_WINDOW = 256;

    private final Pop3ClientSettings settings;
    private final String peer;
    private final String mailboxId;
    /** Made before connecting, so that {@link #close()} from another thread can abort the connect itself. */
    private final Socket plainSocket = new Socket();
    private volatile Socket socket = plainSocket;
    private ResponseReader reader;
    private CommandWriter writer;
    private Capabilities capabilities = Capabilities.NONE;
    /** Whether {@link #capabilities} were announced after login (RFC 2449: they may change with the user). */
    private boolean capabilitiesOfUser;
    private String apopTimestamp;
    // Masked in the wire trace while logging in, in case a server echoes them.
    private List<String> secrets = List.of();
    private volatile boolean closed;

    private Pop3Client(Pop3ClientSettings settings) {
        this.settings = settings;
        this.peer = settings.host() + ":" + settings.port();
        this.mailboxId = settings.mailboxId();
    }

    /**
     * Connects, reads the greeting, asks CAPA and, for {@link Security#STARTTLS}, upgrades
     * the connection (refusing to go on in plaintext when STLS is not offered).
     *
     * @throws Pop3Exception when the server refuses the connection or breaks the protocol
     * @throws IOException   when the server cannot be reached or the TLS handshake fails;
     *                       the message names the mailbox and host:port
     */
    public static Pop3Client connect(Pop3ClientSettings settings) throws IOException {
        return connect(settings, client -> { });
    }

    /**
     * Like {@link #connect(Pop3ClientSettings)}, handing the client to {@code opening} before the connection is
     * opened, so that another thread can {@linkplain #close() close} it to abort the connect, the TLS handshake or
     * a greeting that never comes.
     */
    public static Pop3Client connect(Pop3ClientSettings settings, java.util.function.Consumer<Pop3Client> opening)
            throws IOException {
        Pop3Client client = new Pop3Client(Objects.requireNonNull(settings, "settings"));
        try {
            opening.accept(client);
            client.open();
            return client;
        } catch (IOException | RuntimeException | Error e) {
            client.close();
            throw e;
        }
    }

    private void open() throws IOException {
        try {
            plainSocket.setTcpNoDelay(true);
            plainSocket.setSoTimeout(settings.readTimeoutMs());
            plainSocket.connect(new InetSocketAddress(settings.host(), settings.port()), settings.connectTimeoutMs());
        } catch (IOException e) {
            throw cannotConnect(e, settings.connectTimeoutMs());
        }
        if (settings.security() == Security.TLS) {
            socket = startTls();
        }
        attachStreams();
        Pop3Response greeting = status();
        if (!greeting.ok()) {
            throw Pop3Exception.fromResponse("Server " + peer + " refused the connection for mailbox " + mailboxId
                    + ": " + greeting.text(), greeting, Pop3Exception.Kind.TRANSIENT);
        }
        apopTimestamp = apopTimestamp(greeting.text());
        capabilities = capa();
        if (settings.security() == Security.STARTTLS) {
            upgradeWithStls();
        }
        log.debug("Connected to {} for mailbox {} ({}), capabilities {}", peer, mailboxId, settings.security(), capabilities);
    }

    private void upgradeWithStls() throws IOException {
        if (!capabilities.stls()) {
            throw new Pop3Exception("Server " + peer + " does not offer STLS for mailbox " + mailboxId
                    + "; refusing to log in without TLS (security is starttls)", Pop3Exception.Kind.PROTOCOL, null);
        }
        send("STLS");
        Pop3Response response = status();
        if (!response.ok()) {
            throw Pop3Exception.fromResponse("Server " + peer + " refused STLS for mailbox " + mailboxId + ": "
                    + response.text(), response, Pop3Exception.Kind.PROTOCOL);
        }
        if (reader.hasBufferedInput()) {
            // Bytes sent before the handshake could be injected by a man in the middle (CVE-2011-0411).
            throw reader.protocolError("Server " + peer + " sent data after STLS +OK before the TLS handshake for mailbox "
                    + mailboxId);
        }
        socket = startTls();
        attachStreams();
        // RFC 2595: what the server said before TLS cannot be trusted.
        capabilities = capa();
    }

    private SSLSocket startTls() throws IOException {
        SSLSocket ssl;
        try {
            SSLContext context = settings.sslContext() != null ? settings.sslContext() : SSLContext.getDefault();
            ssl = (SSLSocket) context.getSocketFactory().createSocket(plainSocket, settings.host(), settings.port(), true);
        } catch (GeneralSecurityException e) {
            throw new IOException("Cannot set up TLS for mailbox " + mailboxId + ": " + e.getMessage(), e);
        }
        SSLParameters parameters = ssl.getSSLParameters();
        if (settings.endpointIdentification()) {
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
        }
        if (!isIpLiteral(settings.host())) {
            try {
                parameters.setServerNames(List.of(new SNIHostName(settings.host())));
            } catch (IllegalArgumentException e) {
                log.debug("Host {} of mailbox {} is not a valid SNI name, sending none", settings.host(), mailboxId);
            }
        }
        ssl.setSSLParameters(parameters);
        try {
            ssl.startHandshake();
        } catch (IOException e) {
            throw cannotConnect(e, settings.readTimeoutMs());
        }
        return ssl;
    }

    private static boolean isIpLiteral(String host) {
        if (host.indexOf(':') >= 0) {
            return true;
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (c != '.' && (c < '0' || c > '9')) {
                return false;
            }
        }
        return true;
    }

    private void attachStreams() throws IOException {
        Socket current = socket;
        reader = new ResponseReader(socket.getInputStream(), peer, mailboxId, settings.readTimeoutMs(), ms -> {
            try {
                current.setSoTimeout(ms);
            } catch (SocketException e) {
                throw new UncheckedIOException(e);
            }
        });
        writer = new CommandWriter(socket.getOutputStream(), peer, mailboxId);
    }

    private IOException cannotConnect(IOException e, int timeoutMs) {
        String reason;
        if (e instanceof UnknownHostException) {
            reason = "unknown host " + settings.host();
        } else if (e instanceof SocketTimeoutException) {
            reason = "timed out after " + timeoutMs + " ms";
        } else if (e instanceof SSLException) {
            reason = "TLS handshake failed (is the server certificate trusted and issued for " + settings.host()
                    + "?): " + e.getMessage();
        } else {
            reason = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        }
        return new IOException("Cannot connect to " + peer + " for mailbox " + mailboxId + ": " + reason, e);
    }

    private static String apopTimestamp(String greeting) {
        int start = greeting.indexOf('<');
        int end = start < 0 ? -1 : greeting.indexOf('>', start);
        if (end < 0) {
            return null;
        }
        String timestamp = greeting.substring(start, end + 1);
        for (int i = 1; i < timestamp.length() - 1; i++) {
            char c = timestamp.charAt(i);
            if (c <= ' ' || c >= 0x7f || c == '<') {
                return null;
            }
        }
        return timestamp.indexOf('@') > 0 ? timestamp : null;
    }

    private Capabilities capa() throws IOException {
        send("CAPA");
        Pop3Response response = status();
        if (!response.ok()) {
            return Capabilities.NONE;
        }
        List<String> lines = new ArrayList<>();
        while (reader.nextListingLine()) {
            if (lines.size() == MAX_CAPA_LINES) {
                throw reader.protocolError("CAPA answer from " + peer + " for mailbox " + mailboxId + " has more than "
                        + MAX_CAPA_LINES + " lines");
            }
            lines.add(reader.lineString());
        }
        return Capabilities.parse(lines);
    }

    /** What the server announced in CAPA (after STLS, the announcement made over TLS). */
    public Capabilities capabilities() {
        return capabilities;
    }

    public boolean isOpen() {
        return !closed;
    }

    /**
     * Logs in with the configured mechanisms, in order, skipping those the server cannot
     * do (APOP without a greeting timestamp, SASL mechanisms it does not advertise). A
     * refusal without response code moves on to the next mechanism; one with a code
     * ({@code [AUTH]}, {@code [IN-USE]}, ...) ends the attempt at once.
     *
     * @throws Pop3Exception {@code Authentication failed for mailbox <id>: <server text>}, with
     *                       the kind the response code implies (AUTHENTICATION without one);
     *                       never contains the password
     */
    public void login(String user, String password) throws IOException {
        ensureOpen();
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        checkCredential(user, "user name");
        checkCredential(password, "password");
        List<String> mechanisms = settings.authMechanisms().isEmpty() ? List.of(automaticMechanism()) : settings.authMechanisms();
        List<String> skipped = new ArrayList<>();
        Pop3Exception refused = null;
        secrets = List.of(password);
        try {
            for (String mechanism : mechanisms) {
                String unavailable = unavailable(mechanism);
                if (unavailable != null) {
                    skipped.add(mechanism + " (" + unavailable + ")");
                    continue;
                }
                try {
                    authenticate(mechanism, user, password);
                    log.debug("Logged in to {} for mailbox {} with {}", peer, mailboxId, mechanism);
                    secrets = List.of();
                    askCapabilitiesOfUser();
                    return;
                } catch (Pop3Exception e) {
                    if (reader.broken() || e.responseCode() != null || e.kind() != Pop3Exception.Kind.AUTHENTICATION) {
                        throw e;
                    }
                    log.debug("Login with {} to {} refused for mailbox {}: {}", mechanism, peer, mailboxId, e.getMessage());
                    refused = e;
                }
            }
        } catch (IOException e) {
            throw abandonIfBroken(e);
        } finally {
            secrets = List.of();
        }
        if (refused != null) {
            throw refused;
        }
        throw new Pop3Exception("Authentication failed for mailbox " + mailboxId + ": server " + peer
                + " offers none of the configured mechanisms: " + String.join(", ", skipped),
                Pop3Exception.Kind.AUTHENTICATION, null);
    }

    /**
     * RFC 2449: EXPIRE and LOGIN-DELAY announced before login may change after it (the {@code USER} tag says they
     * do), so ask again. A server that refuses CAPA in the TRANSACTION state keeps its first announcement.
     */
    private void askCapabilitiesOfUser() throws IOException {
        if (capabilities == Capabilities.NONE) {
            return; // no CAPA before login: none after it either
        }
        Capabilities afterLogin = capa();
        if (afterLogin != Capabilities.NONE) {
            capabilities = afterLogin;
            capabilitiesOfUser = true;
        }
        log.debug("Capabilities of {} for mailbox {} after login: {}", peer, mailboxId, capabilities);
    }

    /**
     * Whether the server expunges retrieved messages when the session ends with QUIT: {@code EXPIRE 0} for this
     * user, or a per-user EXPIRE policy ({@code USER} tag) the server did not reveal after login.
     */
    public boolean expiresOnRetrieval() {
        return "0".equals(capabilities.expire()) || (!capabilitiesOfUser && capabilities.expireVariesPerUser());
    }

    private String automaticMechanism() {
        List<String> sasl = capabilities.saslMechanisms();
        if (settings.bearerToken()) {
            // Exchange Online and Gmail both take XOAUTH2; a server that lists only OAUTHBEARER gets that.
            return !sasl.contains(Pop3ClientSettings.AUTH_XOAUTH2) && sasl.contains(Pop3ClientSettings.AUTH_OAUTHBEARER)
                    ? Pop3ClientSettings.AUTH_OAUTHBEARER : Pop3ClientSettings.AUTH_XOAUTH2;
        }
        return sasl.contains(Pop3ClientSettings.AUTH_PLAIN) ? Pop3ClientSettings.AUTH_PLAIN : Pop3ClientSettings.AUTH_USER;
    }

    private String unavailable(String mechanism) {
        switch (mechanism) {
            case Pop3ClientSettings.AUTH_APOP:
                return apopTimestamp == null ? "the greeting has no APOP timestamp" : null;
            case Pop3ClientSettings.AUTH_PLAIN:
            case Pop3ClientSettings.AUTH_XOAUTH2:
            case Pop3ClientSettings.AUTH_OAUTHBEARER:
                List<String> sasl = capabilities.saslMechanisms();
                // A server that announces no SASL list at all may still accept AUTH.
                return sasl.isEmpty() || sasl.contains(mechanism) ? null : "SASL offers only " + sasl;
            default:
                return null;
        }
    }

    private void checkCredential(String value, String what) throws Pop3Exception {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\r' || c == '\n' || c == '\0') {
                throw new Pop3Exception("Authentication failed for mailbox " + mailboxId + ": the " + what
                        + " contains a line break or NUL character", Pop3Exception.Kind.AUTHENTICATION, null);
            }
        }
    }

    private void authenticate(String mechanism, String user, String password) throws IOException {
        switch (mechanism) {
            case Pop3ClientSettings.AUTH_USER:
                sendSecret("USER " + user, "USER " + user);
                expectAuthOk(status(), password, null);
                sendSecret("PASS " + password, "PASS ****");
                expectAuthOk(status(), password, null);
                break;
            case Pop3ClientSettings.AUTH_APOP:
                sendSecret("APOP " + user + " " + md5Hex(apopTimestamp + password), "APOP " + user + " ****");
                expectAuthOk(status(), password, null);
                break;
            case Pop3ClientSettings.AUTH_PLAIN:
                saslAuthenticate(SaslAuthenticator.Mechanism.plain(user, password), password);
                break;
            case Pop3ClientSettings.AUTH_XOAUTH2:
                saslAuthenticate(SaslAuthenticator.Mechanism.xoauth2(user, password), password);
                break;
            case Pop3ClientSettings.AUTH_OAUTHBEARER:
                saslAuthenticate(SaslAuthenticator.Mechanism.oauthBearer(user, settings.host(), settings.port(),
                        password), password);
                break;
            default:
                throw new IllegalStateException("Unknown mechanism " + mechanism);
        }
    }

    private void saslAuthenticate(SaslAuthenticator.Mechanism mechanism, String password) throws IOException {
        String initialResponse = mechanism.encodedInitialResponse();
        secrets = List.of(password, initialResponse);
        SaslAuthenticator.Outcome outcome = SaslAuthenticator.authenticate(new SaslAuthenticator.Wire() {
            @Override
            public void send(String line, String shown) throws IOException {
                sendSecret(line, shown);
            }

            @Override
            public Pop3Response read() throws IOException {
                Pop3Response response = reader.readStatus();
                traceResponse(response);
                return response;
            }
        }, mechanism);
        expectAuthOk(outcome.response(), password, initialResponse, outcome.challenge());
    }

    private void expectAuthOk(Pop3Response response, String password, String secret) throws Pop3Exception {
        expectAuthOk(response, password, secret, null);
    }

    private void expectAuthOk(Pop3Response response, String password, String secret, String challenge)
            throws Pop3Exception {
        if (response.ok()) {
            return;
        }
        String text = challenge == null ? response.text() : response.text() + " (" + challenge + ")";
        throw Pop3Exception.fromResponse("Authentication failed for mailbox " + mailboxId + ": "
                + redact(redact(text, password), secret), response, Pop3Exception.Kind.AUTHENTICATION);
    }

    /**
     * A hostile or careless server might echo the credentials back; they never reach an
     * exception or the log. Secrets shorter than 3 characters are left alone: masking them
     * would garble the text and hide nothing.
     */
    private static String redact(String text, String secret) {
        if (secret == null || secret.length() < 3) {
            return text;
        }
        return text.replace(secret, "****");
    }

    private static String md5Hex(String s) {
        try {
            byte[] digest = MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8));
            StringBuilder hex = new StringBuilder(32);
            for (byte b : digest) {
                hex.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
            }
            return hex.toString();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("MD5 is required of every Java platform", e);
        }
    }

    /** STAT: how many messages the maildrop holds and their total size. */
    public StatResult stat() throws IOException {
        ensureOpen();
        try {
            send("STAT");
            Pop3Response response = status();
            if (!response.ok()) {
                throw refused("STAT", response);
            }
            String[] words = response.detail().split(" ", 3);
            try {
                return new StatResult(Integer.parseInt(words[0]), Long.parseLong(words[1]));
            } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                throw reader.protocolError("Malformed STAT answer from " + peer + " for mailbox " + mailboxId + ": '"
                        + response.text() + "'");
            }
        } catch (IOException e) {
            throw abandonIfBroken(e);
        }
    }

    /**
     * UIDL: the unique-id of every message, in the server's order.
     *
     * @throws Pop3Exception PROTOCOL when the server has no UIDL, or a UID is invalid (not 1-70
     *                       characters in 0x21-0x7E) or occurs twice; the listing is read to its
     *                       end first, so the session stays usable
     */
    public List<UidlEntry> uidl() throws IOException {
        ensureOpen();
        try {
            send("UIDL");
            Pop3Response response = status();
            if (!response.ok()) {
                String message = response.code() == null
                        ? "Server " + peer + " does not support UIDL for mailbox " + mailboxId + " (the connector needs it): "
                        : "UIDL failed for mailbox " + mailboxId + ": ";
                throw Pop3Exception.fromResponse(message + response.text(), response, Pop3Exception.Kind.PROTOCOL);
            }
            List<UidlEntry> entries = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            Set<Integer> numbers = new HashSet<>();
            Pop3Exception invalid = null;
            int lines = 0;
            while (reader.nextListingLine()) {
                if (++lines > MAX_LISTING_LINES) {
                    throw reader.protocolError("UIDL answer from " + peer + " for mailbox " + mailboxId
                            + " has more than " + MAX_LISTING_LINES + " lines");
                }
                if (invalid == null) {
                    invalid = parseUidlLine(entries, seen, numbers);
                }
            }
            if (invalid != null) {
                throw invalid;
            }
            return entries;
        } catch (IOException e) {
            throw abandonIfBroken(e);
        }
    }

    private Pop3Exception parseUidlLine(List<UidlEntry> entries, Set<String> seen, Set<Integer> numbers) {
        byte[] line = reader.line();
        int length = reader.lineLength();
        int i = parseNumberEnd(line, length);
        if (i < 0) {
            return new Pop3Exception("Malformed UIDL line from " + peer + " for mailbox " + mailboxId + ": '"
                    + reader.lineForMessage() + "'", Pop3Exception.Kind.PROTOCOL, null);
        }
        int number = (int) parseNumber(line, 0, i);
        while (i < length && line[i] == ' ') {
            i++;
        }
        int uidLength = length - i;
        boolean valid = uidLength >= 1 && uidLength <= MAX_UID_LENGTH;
        for (int j = i; valid && j < length; j++) {
            valid = line[j] >= 0x21 && line[j] <= 0x7e;
        }
        if (!valid) {
            return new Pop3Exception("Invalid UID for message " + number + " in mailbox " + mailboxId
                    + ": a unique-id must be 1 to " + MAX_UID_LENGTH + " characters in 0x21-0x7E, got " + uidLength
                    + " bytes '" + ResponseReader.printable(line, i, uidLength, 80) + "'", Pop3Exception.Kind.PROTOCOL, null);
        }
        String uid = new String(line, i, uidLength, StandardCharsets.US_ASCII);
        if (!numbers.add(number)) {
            // Which message is which cannot be told: one message's content could land under another's UIDL.
            return new Pop3Exception("UIDL answer from " + peer + " lists message number " + number + " twice in"
                    + " mailbox " + mailboxId + "; the server's listing cannot be trusted", Pop3Exception.Kind.PROTOCOL,
                    null);
        }
        if (!seen.add(uid)) {
            int first = 0;
            for (UidlEntry entry : entries) {
                if (entry.uid().equals(uid)) {
                    first = entry.number();
                    break;
                }
            }
            return new Pop3Exception("Duplicate UID '" + uid + "' for messages " + first + " and " + number
                    + " in mailbox " + mailboxId, Pop3Exception.Kind.PROTOCOL, null);
        }
        entries.add(new UidlEntry(number, uid));
        return null;
    }

    /** The index after a message number (1 to 2^31-1) followed by a space, or -1. */
    private static int parseNumberEnd(byte[] line, int length) {
        int i = 0;
        while (i < length && line[i] >= '0' && line[i] <= '9') {
            i++;
        }
        if (i == 0 || i > 10 || i == length || line[i] != ' ') {
            return -1;
        }
        long value = parseNumber(line, 0, i);
        return value < 1 || value > Integer.MAX_VALUE ? -1 : i;
    }

    private static long parseNumber(byte[] line, int from, int to) {
        long value = 0;
        for (int i = from; i < to; i++) {
            value = value * 10 + (line[i] - '0');
        }
        return value;
    }

    /** LIST: the size in octets of every message not marked as deleted. */
    public MessageSizes list() throws IOException {
        ensureOpen();
        try {
            send("LIST");
            Pop3Response response = status();
            if (!response.ok()) {
                throw refused("LIST", response);
            }
            MessageSizes.Builder sizes = new MessageSizes.Builder();
            Pop3Exception malformed = null;
            while (reader.nextListingLine()) {
                if (sizes.count() == MAX_LISTING_LINES) {
                    throw reader.protocolError("LIST answer from " + peer + " for mailbox " + mailboxId
                            + " has more than " + MAX_LISTING_LINES + " lines");
                }
                if (malformed == null && !parseListLine(sizes)) {
                    malformed = new Pop3Exception("Malformed LIST line from " + peer + " for mailbox " + mailboxId
                            + ": '" + reader.lineForMessage() + "'", Pop3Exception.Kind.PROTOCOL, null);
                }
            }
            if (malformed != null) {
                throw malformed;
            }
            MessageSizes result = sizes.build();
            if (result == null) {
                throw new Pop3Exception("LIST answer from " + peer + " for mailbox " + mailboxId
                        + " lists a message number twice", Pop3Exception.Kind.PROTOCOL, null);
            }
            return result;
        } catch (IOException e) {
            throw abandonIfBroken(e);
        }
    }

    private boolean parseListLine(MessageSizes.Builder sizes) {
        byte[] line = reader.line();
        int length = reader.lineLength();
        int i = parseNumberEnd(line, length);
        if (i < 0) {
            return false;
        }
        int number = (int) parseNumber(line, 0, i);
        while (i < length && line[i] == ' ') {
            i++;
        }
        int start = i;
        while (i < length && line[i] >= '0' && line[i] <= '9') {
            i++;
        }
        // RFC 1939 lets servers append information after the size.
        if (i == start || i - start > 18 || (i < length && line[i] != ' ')) {
            return false;
        }
        sizes.add(number, parseNumber(line, start, i));
        return true;
    }

    /**
     * RETR each message and hand its body to the consumer, in the order given.
     *
     * <p>With {@code window > 1} and PIPELINING advertised, up to {@code window} RETR
     * commands are in flight: written ahead in batches, responses read in order. Otherwise
     * one command at a time. Keep the window modest (hundreds): the commands written ahead
     * must fit the socket buffers while the server is busy sending.
     *
     * <p>A {@code -ERR} for a message goes to {@link MessageConsumer#failed}; if that (or
     * {@code accept}) throws, the responses still in flight are read and discarded so the
     * session stays usable, then the exception propagates. A transport failure or protocol
     * violation mid-stream closes the client (no QUIT, so no deletion takes effect) and
     * propagates; the messages delivered before it were delivered completely.
     */
    public void retrieve(int[] numbers, int window, MessageConsumer consumer) throws IOException {
        Objects.requireNonNull(consumer, "consumer");
        checkNumbers(numbers);
        ensureOpen();
        int inFlight = window > 1 && capabilities.pipelining() ? window : 1;
        int sent = 0;
        int done = 0;
        boolean answerRead = false;
        try {
            while (done < numbers.length) {
                sent = topUp("RETR", numbers, sent, done, inFlight);
                answerRead = false;
                Pop3Response response = status();
                answerRead = true;
                deliver("RETR", numbers[done], response, consumer);
                done++;
            }
        } catch (IOException e) {
            throw resync(e, sent - done - (answerRead ? 1 : 0));
        } catch (RuntimeException e) {
            throw resync(e, sent - done - (answerRead ? 1 : 0));
        } catch (Error e) {
            close();
            throw e;
        }
    }

    /**
     * Writes more commands while fewer than {@code inFlight} are unanswered: once half the
     * window is answered, or sooner when no answer is buffered (the next read would block
     * anyway), so the pipe stays full while commands still leave in batches, not one by one.
     *
     * @return the new count of commands sent
     */
    private int topUp(String verb, int[] numbers, int sent, int done, int inFlight) throws IOException {
        int outstanding = sent - done;
        if (sent == numbers.length || outstanding >= inFlight
                || (outstanding > inFlight / 2 && reader.hasBufferedInput())) {
            return sent;
        }
        while (sent < numbers.length && sent - done < inFlight) {
            send(verb, numbers[sent]);
            sent++;
        }
        writer.flush();
        return sent;
    }

    /** TOP: the headers and the first {@code lines} body lines of one message, streamed like RETR. */
    public void top(int number, int lines, MessageConsumer consumer) throws IOException {
        Objects.requireNonNull(consumer, "consumer");
        checkNumbers(new int[] {number});
        if (lines < 0) {
            throw new IllegalArgumentException("TOP line count must not be negative: " + lines);
        }
        ensureOpen();
        boolean answerRead = false;
        try {
            queue("TOP", number, lines);
            writer.flush();
            Pop3Response response = status();
            answerRead = true;
            deliver("TOP", number, response, consumer);
        } catch (IOException e) {
            throw resync(e, answerRead ? 0 : 1);
        } catch (RuntimeException e) {
            throw resync(e, answerRead ? 0 : 1);
        } catch (Error e) {
            close();
            throw e;
        }
    }

    private void deliver(String verb, int number, Pop3Response response, MessageConsumer consumer) throws IOException {
        if (!response.ok()) {
            consumer.failed(number, Pop3Exception.fromResponse(verb + " " + number + " failed for mailbox " + mailboxId
                    + ": " + response.text(), response, Pop3Exception.Kind.PERMANENT));
            return;
        }
        consumer.accept(number, reader.openBody());
        reader.finishBody();
    }

    /**
     * Brings the session back in step after a failure in the middle of pipelined commands:
     * skips the rest of the open body and the {@code pending} answers still to come. Closes
     * the client when that is impossible.
     */
    private <E extends Exception> E resync(E failure, int pending) {
        if (brokenConnection()) {
            close();
            return failure;
        }
        try {
            reader.finishBody();
            for (int i = 0; i < pending; i++) {
                if (status().ok()) {
                    reader.openBody();
                    reader.finishBody();
                }
            }
        } catch (IOException e) {
            failure.addSuppressed(e);
            close();
        }
        return failure;
    }

    /** DELE: marks one message for deletion, which takes effect on {@link #quit()}. */
    public void dele(int number) throws IOException {
        checkNumbers(new int[] {number});
        ensureOpen();
        try {
            send("DELE", number);
            writer.flush();
            Pop3Response response = status();
            if (!response.ok()) {
                throw refused("DELE " + number, response);
            }
        } catch (IOException e) {
            throw abandonIfBroken(e);
        }
    }

    /**
     * DELE for each message, pipelined when the server advertises PIPELINING. Every answer is read even when some
     * are -ERR; a refusal does not cancel the others, which stay marked and are deleted by {@link #quit()}.
     *
     * @return the messages whose DELE the server refused (-ERR), in the order given; empty when all are marked
     */
    public List<Refusal> deleAll(int[] numbers) throws IOException {
        checkNumbers(numbers);
        ensureOpen();
        int inFlight = capabilities.pipelining() ? DELETE_WINDOW : 1;
        List<Refusal> refusals = new ArrayList<>();
        int sent = 0;
        int done = 0;
        try {
            while (done < numbers.length) {
                sent = topUp("DELE", numbers, sent, done, inFlight);
                Pop3Response response = status();
                if (!response.ok()) {
                    refusals.add(new Refusal(numbers[done], refused("DELE " + numbers[done], response)));
                }
                done++;
            }
        } catch (IOException e) {
            throw abandonIfBroken(e);
        }
        return refusals;
    }

    /** A command for one message that the server answered with -ERR. */
    public record Refusal(int number, Pop3Exception error) {
    }

    /**
     * QUIT: ends the session; the server now deletes the messages marked with DELE. The
     * client is closed afterwards whatever the outcome.
     *
     * @throws Pop3Exception when the server answers -ERR: marked messages may not have been deleted
     */
    public void quit() throws IOException {
        ensureOpen();
        Pop3Response response;
        try {
            send("QUIT");
            response = status();
        } finally {
            close();
        }
        if (!response.ok()) {
            throw Pop3Exception.fromResponse("QUIT failed for mailbox " + mailboxId
                    + ", messages marked for deletion may not have been deleted: " + response.text(), response,
                    Pop3Exception.Kind.TRANSIENT);
        }
        log.debug("Quit {} for mailbox {}", peer, mailboxId);
    }

    /**
     * Closes the connection without QUIT, so deletions marked in this session are not
     * applied (RFC 1939: no UPDATE state). Idempotent; callable from another thread to
     * abort a blocked call.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(socket);
        if (plainSocket != socket) {
            closeQuietly(plainSocket);
        }
    }

    private void closeQuietly(Socket s) {
        if (s == null) {
            return;
        }
        try {
            s.close();
        } catch (IOException e) {
            log.debug("Closing the connection to {} for mailbox {} failed: {}", peer, mailboxId, e.toString());
        }
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException("The connection to " + peer + " for mailbox " + mailboxId + " is closed");
        }
    }

    private static void checkNumbers(int[] numbers) {
        Objects.requireNonNull(numbers, "numbers");
        for (int number : numbers) {
            if (number < 1) {
                throw new IllegalArgumentException("Message numbers start at 1: " + number);
            }
        }
    }

    private boolean brokenConnection() {
        return closed || reader == null || reader.broken() || writer.broken();
    }

    private IOException abandonIfBroken(IOException e) {
        if (brokenConnection()) {
            close();
        }
        return e;
    }

    private Pop3Exception refused(String command, Pop3Response response) {
        return Pop3Exception.fromResponse(command + " failed for mailbox " + mailboxId + ": " + response.text(),
                response, Pop3Exception.Kind.PERMANENT);
    }

    /** Reads a status line; a SASL continuation outside AUTH is a protocol error. */
    private Pop3Response status() throws IOException {
        Pop3Response response = reader.readStatus();
        if (response.continuation()) {
            throw reader.protocolError("Unexpected continuation line from " + peer + " for mailbox " + mailboxId);
        }
        traceResponse(response);
        return response;
    }

    private void traceResponse(Pop3Response response) {
        if (log.isDebugEnabled()) {
            String status = response.ok() ? "+OK" : response.continuation() ? "+" : "-ERR";
            trace("S: ", response.text().isEmpty() ? status : status + " " + response.text());
        }
    }

    private void send(String command) throws IOException {
        sendSecret(command, command);
    }

    private void sendSecret(String command, String shown) throws IOException {
        trace("C: ", shown);
        writer.command(command);
        writer.flush();
    }

    private void send(String verb, int number) throws IOException {
        if (log.isDebugEnabled()) {
            trace("C: ", verb + " " + number);
        }
        writer.command(verb, number);
    }

    private void queue(String verb, int a, int b) throws IOException {
        if (log.isDebugEnabled()) {
            trace("C: ", verb + " " + a + " " + b);
        }
        writer.command(verb, a, b);
    }

    private void trace(String direction, String line) {
        if (log.isDebugEnabled()) {
            String shown = line;
            for (String secret : secrets) {
                shown = redact(shown, secret);
            }
            log.debug("{} {}{}", mailboxId, direction, shown);
        }
    }
}
