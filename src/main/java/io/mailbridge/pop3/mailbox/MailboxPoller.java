package io.mailbridge.pop3.mailbox;

import io.mailbridge.pop3.client.MessageConsumer;
import io.mailbridge.pop3.client.MessageSizes;
import io.mailbridge.pop3.client.Pop3Client;
import io.mailbridge.pop3.client.Pop3ClientSettings;
import io.mailbridge.pop3.client.Pop3Exception;
import io.mailbridge.pop3.client.UidlEntry;
import io.mailbridge.pop3.config.MailboxSettings;
import io.mailbridge.pop3.config.OversizePolicy;
import io.mailbridge.pop3.offset.MailboxState;
import io.mailbridge.pop3.offset.OffsetKeys;
import io.mailbridge.pop3.offset.UidlOffset;
import io.mailbridge.pop3.record.MessageMapper;
import io.mailbridge.pop3.record.MessageSchema;
import io.mailbridge.pop3.record.RecordBudget;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.io.InputStream;
import java.net.UnknownHostException;
import java.security.cert.CertificateException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Polls one mailbox: one POP3 session per {@link #poll}, deleting what Kafka acknowledged and fetching what is new,
 * handing each record to a {@link RecordSink} as soon as it is mapped. While a backlog remains the session goes on
 * fetching from the same listing (no new login, no relisting) for up to {@link #SESSION_FETCH_MS}; in delete mode it
 * marks acknowledged messages with DELE as acknowledgements arrive, and its QUIT commits them.
 *
 * <p>A mailbox belongs to exactly one task and the task's scheduler runs at most one session of it at a time, so
 * the session state needs no locks; {@link #acked} (producer thread) and {@link #abort} (task stop, session
 * deadline) are the only calls from other threads.
 */
public final class MailboxPoller {

    private static final Logger log = LoggerFactory.getLogger(MailboxPoller.class);

    /** Stop adding messages to one selection once this much is selected; the rest follows in the same session. */
    private static final long SESSION_MAX_BYTES = 64L * 1024 * 1024;
    /**
     * A session with a backlog goes on fetching for this long, then ends (QUIT commits its deletes) and the next
     * one starts at once: deletes are never held back longer by a long backlog, and other mailboxes get a turn.
     */
    private static final long SESSION_FETCH_MS = 30_000;
    /** Delete mode: how long a session waits for acknowledgements when the offset cannot take more unconfirmed. */
    private static final long ACK_WAIT_MS = 2_000;
    /** After acknowledgements arrive, delete this soon rather than waiting a whole poll interval. */
    private static final long DELETE_DELAY_MS = 500;
    private static final long TRANSIENT_BACKOFF_INITIAL_MS = 1_000;
    private static final long TRANSIENT_BACKOFF_MAX_MS = 300_000;
    private static final long FATAL_BACKOFF_INITIAL_MS = 300_000;
    private static final long FATAL_BACKOFF_MAX_MS = 3_600_000;
    private static final long REFUSAL_BACKOFF_INITIAL_MS = 2_000;
    private static final long REFUSAL_BACKOFF_MAX_MS = 300_000;
    private static final long DEFAULT_LOGIN_DELAY_MS = 60_000;
    /** Servers measure LOGIN-DELAY on their own clock, often in whole seconds: stay clear of the boundary. */
    private static final long LOGIN_DELAY_MARGIN_MS = 250;

    public static final String HEADER_MAILBOX = "mailbridge.mailbox";
    public static final String HEADER_UID = "mailbridge.uid";

    private final MailboxSettings mailbox;
    private final PollerOptions options;
    private final MessageMapper mapper;
    private final MailboxState state;
    private final Backoff transientBackoff = new Backoff(TRANSIENT_BACKOFF_INITIAL_MS, TRANSIENT_BACKOFF_MAX_MS);
    private final Backoff fatalBackoff = new Backoff(FATAL_BACKOFF_INITIAL_MS, FATAL_BACKOFF_MAX_MS);
    private final Backoff refusalBackoff = new Backoff(REFUSAL_BACKOFF_INITIAL_MS, REFUSAL_BACKOFF_MAX_MS);
    private final MailboxMetrics metrics;
    private final RecordBudget budget;
    /** The message the server refused to deliver in the last sessions (counted by refusalBackoff). */
    private String refusedUid;
    /** Not before this time is the refused message asked for again (sessions for deletes may come sooner). */
    private long refusedRetryAtMs;
    private final MailboxLogin login;

    private long nextDueMs;
    private long minLoginIntervalMs;
    private long lastLoginMs = Long.MIN_VALUE / 2;
    private boolean backlog;
    private MailboxFailure lastFailure;
    /** The connection of the session in progress, for {@link #abort}. */
    private volatile Pop3Client current;
    private volatile String abortReason;
    private volatile boolean stopped;

    public MailboxPoller(MailboxSettings mailbox, PollerOptions options, MessageMapper mapper, UidlOffset committed,
                         MailboxMetrics metrics) {
        this.mailbox = mailbox;
        this.options = options;
        this.mapper = mapper;
        this.metrics = metrics;
        this.state = new MailboxState(options.deleteAfterAck(), options.startFrom(), options.uidlMismatchPolicy(),
                options.uidlMismatchThreshold(), options.workerMayDropRecords(), committed);
        this.budget = new RecordBudget(options.recordMaxBytes());
        if (state.unknownOutcomes() > 0) {
            log.warn("Mailbox {}: the committed offset cannot tell whether the worker delivered or dropped the"
                    + " records of {} messages (an SMT or errors.tolerance=all may drop records); those still on the"
                    + " server are published again instead of deleted", mailbox.id(), state.unknownOutcomes());
        }
        this.login = new MailboxLogin(mailbox);
    }

    public String id() {
        return mailbox.id();
    }

    /** Made when asked for rather than kept: an idle mailbox need not hold a map (about 200 bytes). */
    public Map<String, Object> partition() {
        return OffsetKeys.partition(mailbox.id());
    }

    /** When this mailbox wants its next session, in epoch milliseconds. */
    public long nextDueMs() {
        long due = nextDueMs;
        if (lastFailure == null && (state.hasPendingAcks() || state.hasDeletable())) {
            due = Math.min(due, lastLoginMs + DELETE_DELAY_MS);
        }
        return minLoginIntervalMs == 0 ? due : Math.max(due, lastLoginMs + minLoginIntervalMs + LOGIN_DELAY_MARGIN_MS);
    }

    public MailboxFailure lastFailure() {
        return lastFailure;
    }

    /** Called from the producer's callback thread when the record of {@code uid} is written or dropped. */
    public void acked(String uid, boolean delivered) {
        state.acked(uid, delivered);
    }

    /**
     * Ends the session in progress, if any, by closing its connection (no QUIT: nothing it marked is deleted).
     * Safe from any thread; the session then fails with {@code reason}.
     */
    public void abort(String reason) {
        abortReason = reason;
        Pop3Client client = current;
        if (client != null) {
            client.close();
        }
    }

    /** Makes the connection being opened abortable: {@link #abort} closes it even before the greeting. */
    private void opening(Pop3Client client) {
        current = client;
        if (abortReason != null || stopped) {
            client.close();
        }
    }

    /** The task stops: ends the session in progress and runs no other. */
    public void stop() {
        stopped = true;
        abort("the task is stopping");
    }

    /**
     * Runs one session, handing the records of the messages fetched to {@code sink} in mailbox order as they are
     * made; those made before a failure stay valid. A failure is kept in {@link #lastFailure()} and the mailbox
     * backs off.
     *
     * @param buffer the session's message buffer, owned by the calling thread (none is kept per mailbox)
     * @return how many records the session made
     * @throws InterruptedException when the task stops while the sink is full
     */
    public int poll(long nowMs, MessageBuffer buffer, RecordSink sink) throws InterruptedException {
        if (stopped) {
            return 0;
        }
        String previousMdc = MDC.get("mailbox");
        MDC.put("mailbox", mailbox.id());
        long started = System.nanoTime();
        Session session = new Session(buffer, sink);
        abortReason = null;
        metrics.sessionStarted(nowMs);
        try {
            runSession(nowMs, session);
            lastFailure = null;
            transientBackoff.reset();
            fatalBackoff.reset();
            backlog = session.more;
            long endMs = System.currentTimeMillis();
            // Polls start poll.interval.ms apart (the session's own time is not added), never back to back.
            nextDueMs = backlog ? endMs : Math.max(endMs, nowMs + options.pollIntervalMs());
            if (refusedUid != null) {
                nextDueMs = Math.max(nextDueMs, refusedRetryAtMs);
            }
            metrics.sessionSucceeded(session.deleted, nowMs);
            if (session.published > 0 || session.deleted > 0) {
                log.info("Mailbox {}: published {} messages ({} bytes), deleted {}, in {} ms{}", mailbox.id(),
                        session.published, session.bytes, session.deleted, (System.nanoTime() - started) / 1_000_000,
                        backlog ? "; more waiting" : "");
            } else {
                log.debug("Mailbox {}: nothing new", mailbox.id());
            }
        } catch (MailboxFailure failure) {
            fail(failure, nowMs);
        } catch (IOException | RuntimeException e) {
            fail(classify(e), nowMs);
        } finally {
            current = null;
            metrics.sessionEnded(System.currentTimeMillis());
            if (previousMdc == null) {
                MDC.remove("mailbox");
            } else {
                MDC.put("mailbox", previousMdc);
            }
            buffer.shrink();
        }
        return session.published;
    }

    private void fail(MailboxFailure failure, long nowMs) {
        if (stopped) {
            log.debug("Mailbox {}: session ended as the task stops: {}", mailbox.id(), failure.getMessage());
            return;
        }
        lastFailure = failure;
        long delay;
        if (failure.userMustFix()) {
            delay = fatalBackoff.next();
            log.error("Mailbox {} failed and needs attention; next attempt in {} s: {}", mailbox.id(), delay / 1000,
                    failure.getMessage());
        } else {
            delay = transientBackoff.next();
            if (failure.getCause() instanceof Pop3Exception p && "LOGIN-DELAY".equals(p.responseCode())) {
                // the server's advertised LOGIN-DELAY when known, else a conservative minute
                delay = Math.max(delay, minLoginIntervalMs > 0 ? minLoginIntervalMs : DEFAULT_LOGIN_DELAY_MS);
            }
            log.warn("Mailbox {}: attempt {} failed, retrying in {} ms: {}", mailbox.id(), transientBackoff.failures(),
                    delay, failure.getMessage());
        }
        metrics.sessionFailed(failure.userMustFix(), nowMs);
        // from the end of the failed attempt: a session that timed out must not use up its own back-off
        nextDueMs = System.currentTimeMillis() + delay;
    }

    private static final class Session {
        final MessageBuffer buffer;
        final RecordSink sink;
        boolean more;
        long bytes;
        int deleted;
        int published;
        /** UIDLs this session sent DELE for, marked or refused. */
        final Set<String> deleAsked = new HashSet<>();
        /** The first message the server refused to deliver; nothing after it is published in this session. */
        UidlEntry refused;
        long refusedSize;
        String refusal;

        Session(MessageBuffer buffer, RecordSink sink) {
            this.buffer = buffer;
            this.sink = sink;
        }
    }

    private void runSession(long nowMs, Session session) throws IOException, InterruptedException {
        lastLoginMs = nowMs;
        // made per session, not kept: an idle mailbox holds no settings; the trust store's SSL context is cached
        // per file by the factory, so this does not read the file again
        Pop3ClientSettings clientSettings;
        try {
            clientSettings = ClientSettingsFactory.create(mailbox);
        } catch (IOException | RuntimeException e) {
            throw new MailboxFailure(mailbox.id(), true, "Mailbox " + mailbox.id()
                    + ": cannot load the trust store: " + e.getMessage(), e);
        }
        // opening() makes the connect itself abortable: an abort before or during it closes the client
        try (Pop3Client client = Pop3Client.connect(clientSettings, this::opening)) {
            // CAPA before login already tells the minimum interval between logins (RFC 2449 LOGIN-DELAY)
            Integer loginDelay = client.capabilities().loginDelay();
            minLoginIntervalMs = loginDelay == null ? 0 : loginDelay * 1000L;
            lastLoginMs = System.currentTimeMillis(); // LOGIN-DELAY counts between logins, not connects
            login.login(client);
            loginDelay = client.capabilities().loginDelay();
            if (loginDelay != null) {
                minLoginIntervalMs = loginDelay * 1000L;
            }
            // EXPIRE 0 for this user (CAPA after login): the server deletes every retrieved message at QUIT
            boolean expiresOnRetr = client.expiresOnRetrieval();

            List<UidlEntry> listing = client.uidl();
            List<String> uids = new ArrayList<>(listing.size());
            for (UidlEntry e : listing) {
                uids.add(e.uid());
            }
            Set<String> deleting = new java.util.LinkedHashSet<>();
            if (options.deleteAfterAck()) {
                state.applyAcks();
                state.retainPresent(new HashSet<>(uids));
                deleting.addAll(sendDeletes(client, listing, state.deletable(), session));
            }
            if (expiresOnRetr && !deleting.isEmpty()) {
                // QUIT commits the deletes; a RETR in this session would make QUIT expunge unacknowledged mail
                client.quit();
                state.deleted(deleting);
                session.deleted = deleting.size();
                session.more = true;
                return;
            }
            MailboxFailure stop = fetchBacklog(client, listing, uids, expiresOnRetr, deleting, session);
            if (expiresOnRetr && session.published > 0) {
                // Leave without QUIT, so the server does not enter UPDATE state and expunges nothing: the
                // records are not acknowledged yet (and in keep mode the mail must stay).
                log.debug("Mailbox {}: server advertises EXPIRE 0; closing without QUIT after RETR", mailbox.id());
                client.close();
            } else {
                client.quit();
            }
            if (!deleting.isEmpty()) {
                state.deleted(deleting);
                session.deleted = deleting.size();
            }
            if (stop != null) {
                throw stop;
            }
        } catch (IOException | RuntimeException e) {
            String reason = abortReason;
            if (reason != null && !(e instanceof MailboxFailure)) {
                throw new MailboxFailure(mailbox.id(), false, "Mailbox " + mailbox.id() + ": session ended: " + reason,
                        e);
            }
            throw e;
        }
    }

    /**
     * Selects and fetches new mail from one listing until none is left, the session has fetched
     * {@code batch.max.messages} or {@link #SESSION_FETCH_MS} passed. In delete mode, acknowledgements that arrive
     * meanwhile are marked with DELE in the same session ({@code deleting}), and when the offset cannot take more
     * unconfirmed UIDLs the session waits briefly for them. Returns a failure to raise after QUIT, or null.
     */
    private MailboxFailure fetchBacklog(Pop3Client client, List<UidlEntry> listing, List<String> uids,
                                        boolean expiresOnRetr, Set<String> deleting, Session session)
            throws IOException, InterruptedException {
        long fetchUntil = System.currentTimeMillis() + SESSION_FETCH_MS;
        MessageSizes sizes = null;
        boolean first = true;
        while (true) {
            int budget = options.batchMaxMessages() - session.published;
            MailboxState.Selection selection = state.select(uids, Math.max(0, budget));
            if (first && selection.mismatch() != null) {
                throw new MailboxFailure(mailbox.id(), true, "Mailbox " + mailbox.id() + ": " + selection.mismatch(),
                        null);
            }
            if (selection.warning() != null) {
                log.warn("Mailbox {}: {}", mailbox.id(), selection.warning());
            }
            first = false;
            metrics.backlog(selection.pending(), selection.firstPending(), System.currentTimeMillis());
            session.more = selection.more();
            if (refusedUid != null && System.currentTimeMillis() < refusedRetryAtMs) {
                session.more = false; // a session for deletes: the refused message's back-off still runs
                return null;
            }
            if (selection.indexes().length > 0) {
                if (sizes == null) {
                    sizes = client.list();
                    String disagreement = disagreement(listing, sizes);
                    if (disagreement != null) {
                        session.more = false;
                        return new MailboxFailure(mailbox.id(), false, "Mailbox " + mailbox.id() + ": the server's"
                                + " UIDL and LIST listings disagree (" + disagreement + "), so its message numbers"
                                + " cannot be trusted; nothing was fetched in this session", null);
                    }
                }
                MailboxFailure stop = fetch(client, listing, sizes, selection, session);
                if (stop != null) {
                    return stop;
                }
                if (session.refused != null) {
                    refused(session);
                    return null;
                }
            }
            if (!session.more || expiresOnRetr || budget <= selection.indexes().length
                    || System.currentTimeMillis() >= fetchUntil || abortReason != null) {
                return null;
            }
            if (options.deleteAfterAck()) {
                if (selection.indexes().length == 0 && !state.awaitAcks(ACK_WAIT_MS)) {
                    // No acknowledgement came (the broker may be away): end the session, so QUIT commits what is
                    // marked; acknowledgements make the mailbox due again, not a backlog it cannot fetch yet.
                    session.more = false;
                    return null;
                }
                state.applyAcks();
                deleting.addAll(sendDeletes(client, listing, state.deletable(), session));
            }
        }
    }

    /**
     * Marks with DELE the listed messages of {@code deletable} not yet asked for in this session, so a refused DELE
     * is asked again in the next session, not on every round of this one.
     *
     * @return the UIDLs the server marked; they are deleted when QUIT succeeds
     */
    private List<String> sendDeletes(Pop3Client client, List<UidlEntry> listing, Set<String> deletable,
                                     Session session) throws IOException {
        if (deletable.isEmpty()) {
            return List.of();
        }
        List<String> uids = new ArrayList<>();
        int[] numbers = new int[deletable.size()];
        int n = 0;
        for (UidlEntry e : listing) {
            if (deletable.contains(e.uid()) && session.deleAsked.add(e.uid())) {
                numbers[n++] = e.number();
                uids.add(e.uid());
            }
        }
        if (n == 0) {
            return uids;
        }
        List<Pop3Client.Refusal> refusals = client.deleAll(java.util.Arrays.copyOf(numbers, n));
        if (refusals.isEmpty()) {
            return uids;
        }
        // the other deletes stay marked and take effect at QUIT; the refused ones are tried again next session
        Set<Integer> refusedNumbers = new HashSet<>();
        for (Pop3Client.Refusal r : refusals) {
            refusedNumbers.add(r.number());
        }
        List<String> marked = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            if (!refusedNumbers.contains(numbers[i])) {
                marked.add(uids.get(i));
            }
        }
        log.warn("Mailbox {}: the server refused DELE for {} of {} messages, which stay on the server and are"
                + " deleted in a later session; first: {}", mailbox.id(), refusals.size(), n,
                refusals.get(0).error().getMessage());
        return marked;
    }

    /**
     * The server refused to deliver a message: back off and ask again in a later session, holding back the messages
     * after it (records go out in mailbox order); after {@code message.refused.max.attempts} refusals in a row,
     * publish it as a record without content that says why, and go on.
     */
    private void refused(Session session) throws InterruptedException {
        UidlEntry entry = session.refused;
        if (!entry.uid().equals(refusedUid)) {
            refusedUid = entry.uid();
            refusalBackoff.reset();
        }
        long delay = refusalBackoff.next();
        int attempts = refusalBackoff.failures();
        if (attempts >= options.messageRefusedMaxAttempts()) {
            String reason = "the server refused to deliver this message " + attempts + " times: " + session.refusal;
            log.error("Mailbox {}: {}; publishing message {} without content (it stays on the server)", mailbox.id(),
                    reason, entry.uid());
            publish(session, entry.uid(), mapper.mapRefused(mailbox.id(), entry.uid(), session.refusedSize, reason), 0);
            refusedUid = null;
            refusalBackoff.reset();
            session.more = true;
            return;
        }
        log.warn("Mailbox {}: the server refused to deliver message {} (attempt {} of {}): {}; retrying in {} ms,"
                + " later messages wait", mailbox.id(), entry.uid(), attempts, options.messageRefusedMaxAttempts(),
                session.refusal, delay);
        session.more = false;
        refusedRetryAtMs = System.currentTimeMillis() + delay;
    }

    /** Fetches the selected messages; returns a failure to raise after QUIT, or null. */
    private MailboxFailure fetch(Pop3Client client, List<UidlEntry> listing, MessageSizes sizes,
                                 MailboxState.Selection selection, Session session)
            throws IOException, InterruptedException {
        int max = options.messageMaxBytes();
        List<Integer> run = new ArrayList<>();
        long selectedBytes = 0;
        for (int index : selection.indexes()) {
            UidlEntry entry = listing.get(index);
            long listed = sizes.size(entry.number());
            if (selectedBytes > 0 && selectedBytes + Math.max(0, listed) > SESSION_MAX_BYTES) {
                session.more = true;
                break;
            }
            selectedBytes += Math.max(0, listed);
            if (listed > max) {
                if (options.oversizePolicy() == OversizePolicy.FAIL) {
                    MailboxFailure earlier = retrieve(client, listing, sizes, run, session);
                    return earlier != null || session.refused != null ? earlier : oversize(entry, listed);
                }
                if (options.oversizePolicy() == OversizePolicy.SKIP && client.capabilities().top()) {
                    MailboxFailure failure = retrieve(client, listing, sizes, run, session);
                    run.clear();
                    if (failure != null || session.refused != null) {
                        return failure;
                    }
                    headersOnly(client, entry, listed, session);
                    if (session.refused != null) {
                        return null;
                    }
                    continue;
                }
            }
            run.add(index);
        }
        return retrieve(client, listing, sizes, run, session);
    }

    /** Why the UIDL and LIST listings of one session do not describe the same messages, or null. */
    static String disagreement(List<UidlEntry> listing, MessageSizes sizes) {
        for (UidlEntry e : listing) {
            if (!sizes.contains(e.number())) {
                return "message " + e.number() + " (UIDL " + e.uid() + ") is missing from LIST";
            }
        }
        if (sizes.count() != listing.size()) {
            return "LIST has " + sizes.count() + " messages, UIDL " + listing.size();
        }
        return null;
    }

    private MailboxFailure oversize(UidlEntry entry, long size) {
        return new MailboxFailure(mailbox.id(), true, "Mailbox " + mailbox.id() + ": message " + entry.uid()
                + " is " + size + " bytes, more than message.max.bytes=" + options.messageMaxBytes()
                + " and oversize.policy=fail. Raise message.max.bytes or choose oversize.policy skip or truncate.",
                null);
    }

    private MailboxFailure retrieve(Pop3Client client, List<UidlEntry> listing, MessageSizes sizes, List<Integer> run,
                                    Session session) throws IOException, InterruptedException {
        if (run.isEmpty()) {
            return null;
        }
        int[] numbers = new int[run.size()];
        Map<Integer, UidlEntry> byNumber = new HashMap<>(run.size() * 2);
        for (int i = 0; i < numbers.length; i++) {
            UidlEntry e = listing.get(run.get(i));
            numbers[i] = e.number();
            byNumber.put(e.number(), e);
        }
        MailboxFailure[] failure = new MailboxFailure[1];
        InterruptedException[] interrupted = new InterruptedException[1];
        client.retrieve(numbers, mailbox.pipeliningWindow(), new MessageConsumer() {
            @Override
            public void accept(int number, InputStream body) throws IOException {
                if (failure[0] != null || session.refused != null || interrupted[0] != null) {
                    return; // the client drains what we do not read
                }
                UidlEntry entry = byNumber.get(number);
                try {
                    failure[0] = MailboxPoller.this.accept(client, entry, sizes.size(number), body, session);
                } catch (InterruptedException e) {
                    interrupted[0] = e;
                }
            }

            @Override
            public void failed(int number, Pop3Exception error) {
                if (failure[0] == null && session.refused == null) {
                    refusedBy(session, byNumber.get(number), sizes.size(number), error);
                }
            }
        });
        if (interrupted[0] != null) {
            throw interrupted[0];
        }
        return failure[0];
    }

    private MailboxFailure accept(Pop3Client client, UidlEntry entry, long listedSize, InputStream body,
                                  Session session) throws IOException, InterruptedException {
        MessageBuffer buffer = session.buffer;
        readBounded(client, entry, body, buffer, (int) Math.min(Integer.MAX_VALUE, Math.max(0, listedSize)),
                listedSize);
        Struct value;
        if (buffer.cut()) {
            switch (options.oversizePolicy()) {
                case FAIL:
                    return oversize(entry, buffer.size());
                case SKIP:
                    value = mapper.mapHeadersOnly(mailbox.id(), entry.uid(), buffer.bytes(), buffer.headerLength(),
                            buffer.size());
                    break;
                default:
                    value = mapper.map(mailbox.id(), entry.uid(), buffer.bytes(), buffer.length(), buffer.size(), true);
            }
        } else {
            value = mapper.map(mailbox.id(), entry.uid(), buffer.bytes(), buffer.length(), buffer.size(), false);
        }
        publish(session, entry.uid(), value, buffer.size());
        return null;
    }

    private void headersOnly(Pop3Client client, UidlEntry entry, long listedSize, Session session)
            throws IOException, InterruptedException {
        MessageBuffer buffer = session.buffer;
        InterruptedException[] interrupted = new InterruptedException[1];
        client.top(entry.number(), 0, new MessageConsumer() {
            @Override
            public void accept(int number, InputStream body) throws IOException {
                readBounded(client, entry, body, buffer, 0, listedSize);
                Struct value = mapper.mapHeadersOnly(mailbox.id(), entry.uid(), buffer.bytes(),
                        buffer.headerLength(), listedSize);
                try {
                    publish(session, entry.uid(), value, buffer.size());
                } catch (InterruptedException e) {
                    interrupted[0] = e;
                }
            }

            @Override
            public void failed(int number, Pop3Exception error) {
                refusedBy(session, entry, listedSize, error);
            }
        });
        if (interrupted[0] != null) {
            throw interrupted[0];
        }
    }

    private static void refusedBy(Session session, UidlEntry entry, long listedSize, Pop3Exception error) {
        session.refused = entry;
        session.refusedSize = Math.max(0, listedSize);
        session.refusal = error.getMessage();
    }

    /**
     * Reads one message into the buffer, at most max(message.max.bytes, 2 x LIST size + 1 MiB) bytes: generous for
     * honest servers, finite for broken ones. Past that the rest cannot be drained, so the session is abandoned
     * (no QUIT, nothing expunged).
     */
    private void readBounded(Pop3Client client, UidlEntry entry, InputStream body, MessageBuffer buffer,
                             int expectedSize, long listedSize) throws IOException {
        long cap = Math.max(options.messageMaxBytes(), 2 * Math.max(0, listedSize) + 1024 * 1024);
        try {
            buffer.read(body, options.messageMaxBytes(), expectedSize, cap);
        } catch (MessageBuffer.RunawayMessageException e) {
            client.close();
            throw new MailboxFailure(mailbox.id(), true, "Mailbox " + mailbox.id() + ": message " + entry.uid()
                    + " cannot be read: " + e.getMessage() + ". Remove it from the server to let the mailbox go on.",
                    e);
        }
    }

    /** Makes the record of a message and hands it on; its offset says "everything up to here is published". */
    private void publish(Session session, String uid, Struct value, long octets) throws InterruptedException {
        RecordBudget.Fitted fitted = budget.fit(value);
        session.sink.put(record(uid, fitted.value()), fitted.bytes());
        session.published++;
        session.bytes += octets;
        metrics.published(1, octets);
    }

    private SourceRecord record(String uid, Struct value) {
        boolean truncated = Boolean.TRUE.equals(value.getBoolean(MessageSchema.FIELD_TRUNCATED));
        UidlOffset offset = state.published(uid, truncated);
        ConnectHeaders headers = new ConnectHeaders();
        headers.addString(HEADER_MAILBOX, mailbox.id());
        headers.addString(HEADER_UID, uid);
        return new SourceRecord(partition(), offset.toMap(), options.topic(), null, Schema.STRING_SCHEMA,
                mailbox.id() + "/" + uid, MessageSchema.VALUE, value, null, headers);
    }

    /** Turns what went wrong into a failure that names the mailbox and says whether retrying can help. */
    MailboxFailure classify(Throwable e) {
        if (e instanceof MailboxFailure f) {
            return f;
        }
        String where = "Mailbox " + mailbox.id() + " (" + mailbox.security().configValue() + "://" + mailbox.host()
                + ":" + mailbox.port() + ")";
        if (e instanceof Pop3Exception p) {
            switch (p.kind()) {
                case AUTHENTICATION:
                    return new MailboxFailure(mailbox.id(), true, where + ": authentication failed for user '"
                            + mailbox.username() + "': " + p.getMessage(), e);
                case TRANSIENT:
                    return new MailboxFailure(mailbox.id(), false, where + ": server is temporarily unavailable: "
                            + p.getMessage(), e);
                default:
                    return new MailboxFailure(mailbox.id(), true, where + ": " + p.getMessage(), e);
            }
        }
        if (MailboxFailure.causedBy(e, CertificateException.class)
                || MailboxFailure.causedBy(e, javax.net.ssl.SSLHandshakeException.class)) {
            return new MailboxFailure(mailbox.id(), true, where + ": TLS handshake failed (check the server"
                    + " certificate and pop3.ssl.truststore.*): " + rootMessage(e), e);
        }
        if (MailboxFailure.causedBy(e, UnknownHostException.class)) {
            return new MailboxFailure(mailbox.id(), false, where + ": unknown host '" + mailbox.host() + "'", e);
        }
        if (e instanceof SSLException) {
            return new MailboxFailure(mailbox.id(), false, where + ": TLS error: " + rootMessage(e), e);
        }
        if (e instanceof IOException) {
            return new MailboxFailure(mailbox.id(), false, where + ": " + rootMessage(e), e);
        }
        return new MailboxFailure(mailbox.id(), true, where + ": unexpected error: " + e, e);
    }

    private static String rootMessage(Throwable e) {
        String message = e.getMessage();
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != e && root.getMessage() != null && (message == null || !message.contains(root.getMessage()))) {
            return (message == null ? "" : message + ": ") + root.getClass().getSimpleName() + ": "
                    + root.getMessage();
        }
        return message == null ? e.getClass().getSimpleName() : message;
    }
}
