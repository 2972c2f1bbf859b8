package io.mailbridge.pop3.client;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Buffers commands and writes them to the socket on {@link #flush()}, so that a pipelined
 * batch leaves in as few segments as possible. Unsynchronized: a client is used by one
 * thread at a time.
 */
final class CommandWriter {

    private static final int BUFFER_SIZE = 16 * 1024;

    private final OutputStream out;
    private final String peer;
    private final String mailboxId;
    private byte[] buf = new byte[BUFFER_SIZE];
    private int count;
    private boolean broken;

    CommandWriter(OutputStream out, String peer, String mailboxId) {
        this.out = out;
        this.peer = peer;
        this.mailboxId = mailboxId;
    }

    /** Queues {@code verb SP number CRLF}, the hot path of RETR and DELE. */
    void command(String verb, int number) throws IOException {
        reserve(verb.length() + 13);
        appendAscii(verb);
        buf[count++] = ' ';
        appendNumber(number);
        endLine();
    }

    /** Queues {@code verb SP a SP b CRLF}. */
    void command(String verb, int a, int b) throws IOException {
        reserve(verb.length() + 24);
        appendAscii(verb);
        buf[count++] = ' ';
        appendNumber(a);
        buf[count++] = ' ';
        appendNumber(b);
        endLine();
    }

    /** Queues a command line given as text, encoded as UTF-8. */
    void command(String line) throws IOException {
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        reserve(bytes.length + 2);
        System.arraycopy(bytes, 0, buf, count, bytes.length);
        count += bytes.length;
        endLine();
    }

    void flush() throws IOException {
        if (count == 0) {
            return;
        }
        try {
            out.write(buf, 0, count);
            out.flush();
        } catch (IOException e) {
            broken = true;
            throw new IOException("Writing to " + peer + " failed for mailbox " + mailboxId + ": " + e.getMessage(), e);
        } finally {
            count = 0;
        }
    }

    boolean broken() {
        return broken;
    }

    private void reserve(int n) throws IOException {
        if (buf.length - count >= n) {
            return;
        }
        flush();
        if (buf.length < n) {
            buf = Arrays.copyOf(buf, n);
        }
    }

    private void appendAscii(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            buf[count++] = (byte) s.charAt(i);
        }
    }

    /** Appends a non-negative number; callers validate arguments before queuing anything. */
    private void appendNumber(int value) {
        int digits = 1;
        for (int v = value; v >= 10; v /= 10) {
            digits++;
        }
        for (int i = count + digits - 1, v = value; i >= count; i--, v /= 10) {
            buf[i] = (byte) ('0' + v % 10);
        }
        count += digits;
    }

    private void endLine() {
        buf[count++] = '\r';
        buf[count++] = '\n';
    }
}
