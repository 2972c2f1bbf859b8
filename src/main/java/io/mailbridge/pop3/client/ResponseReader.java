package io.mailbridge.pop3.client;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketTimeoutException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * Reads POP3 responses from the socket through one 64 KB buffer: status lines, the lines
 * of multi-line listings (CAPA, UIDL, LIST) and streamed message bodies.
 *
 * <p>Lines end in CRLF; a bare LF is tolerated. A status or listing line longer than
 * {@link #MAX_LINE} bytes is a protocol error, so a hostile server cannot make the client
 * buffer without bound; message bodies are streamed and need no bound here.
 *
 * <p>Each reply has an overall deadline, not only a bound on each silence: it must be complete
 * within {@code pop3.read.timeout.ms} plus one second per {@link #MIN_BYTES_PER_SECOND} bytes it
 * carries, so a server that trickles a byte now and then cannot hold a session for longer than a
 * reply's worth of the read timeout, while a large message on a slow link still earns its time. A
 * reply's clock starts when its status line is due, that is once the reply before it was read.
 *
 * <p>Any transport failure or protocol violation marks the reader {@linkplain #broken()
 * broken}: the session can no longer be trusted to be in sync.
 */
final class ResponseReader {

    static final int BUFFER_SIZE = 64 * 1024;
    static final int MAX_LINE = 8 * 1024;

    /** Eight buffer bytes at a time, for finding line ends a word at a time. */
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long LF_BYTES = 0x0A0A0A0A0A0A0A0AL;
    private static final long LOW_BITS = 0x0101010101010101L;
    private static final long HIGH_BITS = 0x8080808080808080L;

    private final InputStream in;
    private final String peer;
    private final String mailboxId;
    private final int readTimeoutMs;
    /** Sets the socket's read timeout; null when the stream has none (tests), then only the deadline check runs. */
    private final IntConsumer soTimeout;
    private int soTimeoutMs;
    private long replyStartNanos = System.nanoTime();
    private long replyBytes;
    private final byte[] buf = new byte[BUFFER_SIZE];
    private int pos;
    private int limit;
    // One more byte than MAX_LINE for the CR of the line end.
    private final byte[] line = new byte[MAX_LINE + 1];
    private int lineLength;
    private boolean broken;
    private Body body;

    /** The slowest a reply may arrive once it has used up the read timeout: 16 KiB per second. */
    static final int MIN_BYTES_PER_SECOND = 16 * 1024;

    ResponseReader(InputStream in, String peer, String mailboxId, int readTimeoutMs) {
        this(in, peer, mailboxId, readTimeoutMs, null);
    }

    /**
     * @param soTimeout sets the socket's read timeout, so that a read never waits past the reply's deadline
     */
    ResponseReader(InputStream in, String peer, String mailboxId, int readTimeoutMs, IntConsumer soTimeout) {
        this.in = in;
        this.peer = peer;
        this.mailboxId = mailboxId;
        this.readTimeoutMs = readTimeoutMs;
        this.soTimeout = soTimeout;
        this.soTimeoutMs = -1; // unknown: the first read sets it
    }

    /** Reads a status line; a line that is neither {@code +OK}, {@code -ERR} nor {@code +} is a protocol error. */
    Pop3Response readStatus() throws IOException {
        replyStartNanos = System.nanoTime();
        replyBytes = 0;
        readLine();
        Pop3Response response = Pop3Response.parse(line, lineLength);
        if (response == null) {
            throw protocolError("Malformed response from " + peer + " for mailbox " + mailboxId + ": '" + lineForMessage() + "'");
        }
        return response;
    }

    /**
     * Reads the next line of a multi-line response into {@link #line()}, dot-unstuffed.
     *
     * @return false at the terminating {@code "."} line
     */
    boolean nextListingLine() throws IOException {
        readLine();
        if (lineLength > 0 && line[0] == '.') {
            if (lineLength == 1) {
                return false;
            }
            System.arraycopy(line, 1, line, 0, lineLength - 1);
            lineLength--;
        }
        return true;
    }

    /** The bytes of the current line, without its line end; valid up to {@link #lineLength()}. */
    byte[] line() {
        return line;
    }

    int lineLength() {
        return lineLength;
    }

    String lineString() {
        return new String(line, 0, lineLength, StandardCharsets.UTF_8);
    }

    /** The current line for an error message: printable ASCII only, cut short. */
    String lineForMessage() {
        return printable(line, 0, lineLength, 100);
    }

    /** Streams the body of the multi-line response whose status line was just read. */
    Body openBody() {
        body = new Body();
        return body;
    }

    /** Skips the rest of the body handed out last, if it is still open, and detaches it. */
    void finishBody() throws IOException {
        Body current = body;
        if (current != null) {
            body = null;
            current.drain();
            current.detached = true;
        }
    }

    /**
     * Whether bytes are received but not yet consumed: the next read will not block. After
     * STLS +OK there must be none (RFC 2595, response injection).
     */
    boolean hasBufferedInput() {
        return pos < limit;
    }

    boolean broken() {
        return broken;
    }

    Pop3Exception protocolError(String message) {
        broken = true;
        return new Pop3Exception(message, Pop3Exception.Kind.PROTOCOL, null);
    }

    private void checkUsable() throws IOException {
        if (broken) {
            throw new IOException("The connection to " + peer + " for mailbox " + mailboxId
                    + " is out of step after an earlier failure");
        }
    }

    private void readLine() throws IOException {
        checkUsable();
        int n = 0;
        while (true) {
            if (pos == limit) {
                fill();
            }
            int end = indexOfLf(pos, limit);
            int stop = end < 0 ? limit : end;
            int chunk = stop - pos;
            if (n + chunk > line.length) {
                lineLength = n;
                throw protocolError("Response line from " + peer + " for mailbox " + mailboxId
                        + " is longer than " + MAX_LINE + " bytes: '" + lineForMessage() + "...'");
            }
            System.arraycopy(buf, pos, line, n, chunk);
            n += chunk;
            if (end >= 0) {
                pos = end + 1;
                break;
            }
            pos = limit;
        }
        if (n > 0 && line[n - 1] == '\r') {
            n--;
        }
        lineLength = n;
    }

    private int indexOfLf(int from, int to) {
        return indexOfLf(buf, from, to);
    }

    /**
     * Index of the first LF in {@code b[from..to)}, or -1. Eight bytes per step: XOR with LF makes an LF byte zero,
     * and {@code (w - 0x01..01) & ~w & 0x80..80} marks zero bytes, the lowest mark exactly (little-endian load, so
     * the lowest byte is the first).
     */
    static int indexOfLf(byte[] b, int from, int to) {
        int i = from;
        for (int last = to - Long.BYTES; i <= last; i += Long.BYTES) {
            long w = (long) LONGS.get(b, i) ^ LF_BYTES;
            long found = (w - LOW_BITS) & ~w & HIGH_BITS;
            if (found != 0) {
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    /** Reads at least one more byte into the buffer. */
    private void fill() throws IOException {
        if (pos == limit) {
            pos = 0;
            limit = 0;
        } else if (limit == buf.length) {
            System.arraycopy(buf, pos, buf, 0, limit - pos);
            limit -= pos;
            pos = 0;
        }
        long left = replyDeadlineNanos() - System.nanoTime();
        if (left <= 0) {
            throw replyTooSlow(null);
        }
        boundNextRead(left);
        int read;
        try {
            read = in.read(buf, limit, buf.length - limit);
        } catch (SocketTimeoutException e) {
            if (replyDeadlineNanos() - System.nanoTime() <= 0) {
                throw replyTooSlow(e);
            }
            broken = true;
            throw new IOException("Timed out after " + readTimeoutMs + " ms waiting for " + peer
                    + " for mailbox " + mailboxId, e);
        } catch (IOException e) {
            broken = true;
            throw new IOException("Reading from " + peer + " failed for mailbox " + mailboxId + ": " + e.getMessage(), e);
        }
        if (read < 0) {
            broken = true;
            throw new EOFException("Connection closed by " + peer + " for mailbox " + mailboxId);
        }
        limit += read;
        replyBytes += read;
    }

    private long replyDeadlineNanos() {
        return replyStartNanos + TimeUnit.MILLISECONDS.toNanos(readTimeoutMs)
                + replyBytes * 1_000_000_000L / MIN_BYTES_PER_SECOND;
    }

    /** Lets the next read wait no longer than the read timeout, nor past the reply's deadline. */
    private void boundNextRead(long leftNanos) throws IOException {
        if (soTimeout == null) {
            return;
        }
        long leftMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(leftNanos) + 1);
        int wanted = (int) Math.min(readTimeoutMs, leftMs);
        if (wanted != soTimeoutMs) {
            try {
                soTimeout.accept(wanted);
            } catch (RuntimeException e) {
                broken = true;
                throw new IOException("Cannot bound the next read from " + peer + " for mailbox " + mailboxId, e);
            }
            soTimeoutMs = wanted;
        }
    }

    private IOException replyTooSlow(SocketTimeoutException cause) {
        broken = true;
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - replyStartNanos);
        return new IOException("Server " + peer + " sends too slowly for mailbox " + mailboxId + ": " + replyBytes
                + " bytes of a reply in " + tookMs + " ms; a reply must be complete within pop3.read.timeout.ms ("
                + readTimeoutMs + " ms) plus 1 s per " + (MIN_BYTES_PER_SECOND / 1024) + " KiB it carries", cause);
    }

    /** Makes at least {@code n} bytes available from {@code pos}. */
    private void ensure(int n) throws IOException {
        while (limit - pos < n) {
            if (buf.length - pos < n) {
                System.arraycopy(buf, pos, buf, 0, limit - pos);
                limit -= pos;
                pos = 0;
            }
            fill();
        }
    }

    static String printable(byte[] bytes, int offset, int length, int max) {
        StringBuilder sb = new StringBuilder(Math.min(length, max));
        for (int i = offset; i < offset + length && sb.length() < max; i++) {
            int c = bytes[i] & 0xff;
            sb.append(c >= 0x20 && c < 0x7f ? (char) c : '?');
        }
        return sb.toString();
    }

    /**
     * A message body straight from the socket buffer: dot-unstuffed, the terminating
     * {@code "."} line consumed, line ends as the server sent them.
     */
    final class Body extends InputStream {

        private boolean atLineStart = true;
        private boolean finished;
        private boolean detached;

        @Override
        public int read() throws IOException {
            // Fast path for callers that read byte by byte: inside a line there is nothing to check.
            if (!atLineStart && !finished && !detached && !broken && pos < limit) {
                byte b = buf[pos++];
                if (b == '\n') {
                    atLineStart = true;
                }
                return b & 0xff;
            }
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (off < 0 || len < 0 || len > b.length - off) {
                throw new IndexOutOfBoundsException();
            }
            if (len == 0) {
                return 0;
            }
            int n = transfer(b, off, len);
            return n == 0 && finished ? -1 : n;
        }

        @Override
        public long skip(long n) throws IOException {
            return n <= 0 ? 0 : transfer(null, 0, (int) Math.min(n, Integer.MAX_VALUE));
        }

        /** Body bytes readable without blocking: the rest of the current line, when it is buffered. */
        @Override
        public int available() {
            if (finished || detached || broken || atLineStart) {
                return 0;
            }
            int end = indexOfLf(pos, limit);
            return end < 0 ? limit - pos : end - pos + 1;
        }

        /** Closing does not drain: the client skips whatever the consumer left unread. */
        @Override
        public void close() {
            // Nothing to release: the socket belongs to the client.
        }

        void drain() throws IOException {
            while (!finished) {
                transfer(null, 0, Integer.MAX_VALUE);
            }
        }

        /**
         * Copies (or, with a null target, skips) up to {@code len} body bytes; returns at most what is buffered
         * once some were moved. Only a line that starts with '.' needs a look (stuffed dot or terminator), so
         * bytes move in runs up to the next such line, not line by line.
         */
        private int transfer(byte[] target, int off, int len) throws IOException {
            if (detached) {
                throw new IOException("A message body of mailbox " + mailboxId + " was read after its consumer returned");
            }
            checkUsable();
            int n = 0;
            while (n < len && !finished) {
                if (pos == limit) {
                    if (n > 0) {
                        break;
                    }
                    fill();
                }
                if (atLineStart) {
                    if (buf[pos] == '.' && atTerminatorOrUnstuff()) {
                        finished = true;
                        break;
                    }
                    atLineStart = false;
                    if (pos == limit) {
                        continue;
                    }
                }
                int stop = pos + Math.min(limit - pos, len - n);
                int runEnd = stop;
                boolean endsLine = false;
                for (int from = pos; ; ) {
                    int lf = indexOfLf(buf, from, stop);
                    if (lf < 0) {
                        break;
                    }
                    if (lf + 1 == stop || buf[lf + 1] == '.') {
                        runEnd = lf + 1;
                        endsLine = true;
                        break;
                    }
                    from = lf + 1;
                }
                int count = runEnd - pos;
                if (target != null) {
                    System.arraycopy(buf, pos, target, off + n, count);
                }
                pos = runEnd;
                n += count;
                atLineStart = endsLine;
            }
            return n;
        }

        /** At a line starting with '.': consumes the terminator line and returns true, or drops the stuffed dot. */
        private boolean atTerminatorOrUnstuff() throws IOException {
            ensure(2);
            byte next = buf[pos + 1];
            if (next == '\n') {
                pos += 2;
                return true;
            }
            if (next == '\r') {
                ensure(3);
                if (buf[pos + 2] == '\n') {
                    pos += 3;
                    return true;
                }
            }
            pos++;
            return false;
        }
    }
}
