package io.mailbridge.pop3.bench;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The raw ceiling: the least a POP3 client must do to move every message of a mailbox over the wire. Logs in
 * (USER/PASS), lists UIDL, then sends every RETR pipelined (a writer thread keeps {@code window} commands in
 * flight while this thread reads), and discards the bytes, counting message octets. No parsing beyond finding the
 * end of each response, no copies, nothing kept.
 */
final class RawPop3Reader {

    /** What one pass moved. {@code nanos} runs from the TCP connect to the end of the last message. */
    record Result(int messages, long octets, long nanos) {
        double seconds() {
            return nanos / 1e9;
        }
    }

    private final String host;
    private final int port;
    private final SSLContext tls;
    private final String user;
    private final String password;
    private final int window;

    private final byte[] buf = new byte[256 * 1024];
    private InputStream in;
    private int pos;
    private int limit;

    /** @param tls null for plain POP3, else implicit TLS (POP3S) with this context */
    RawPop3Reader(String host, int port, SSLContext tls, String user, String password, int window) {
        this.host = host;
        this.port = port;
        this.tls = tls;
        this.user = user;
        this.password = password;
        this.window = window;
    }

    Result readAll() throws IOException, InterruptedException {
        long start = System.nanoTime();
        try (Socket plain = new Socket()) {
            plain.setTcpNoDelay(true);
            plain.setReceiveBufferSize(1 << 20);
            plain.setSoTimeout(120_000);
            plain.connect(new InetSocketAddress(host, port), 10_000);
            Socket socket = plain;
            if (tls != null) {
                SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(plain, host, port, true);
                SSLParameters params = ssl.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(params);
                ssl.startHandshake();
                socket = ssl;
            }
            in = socket.getInputStream();
            OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
            expectOk("greeting");
            command(out, "USER " + user);
            expectOk("USER");
            command(out, "PASS " + password);
            expectOk("PASS");
            command(out, "UIDL");
            expectOk("UIDL");
            int messages = countListing();
            Semaphore permits = new Semaphore(window);
            AtomicReference<Throwable> writeFailure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    byte[] cmd = new byte[32];
                    for (int n = 1; n <= messages; n++) {
                        if (!permits.tryAcquire()) {
                            out.flush();
                            permits.acquire();
                        }
                        out.write(cmd, 0, retr(cmd, n));
                    }
                    out.flush();
                } catch (Throwable t) {
                    writeFailure.set(t);
                }
            }, "raw-pop3-writer");
            writer.setDaemon(true);
            writer.start();
            long octets = 0;
            for (int n = 1; n <= messages; n++) {
                octets += readMessage(n);
                permits.release();
            }
            long nanos = System.nanoTime() - start;
            writer.join();
            if (writeFailure.get() != null) {
                throw new IOException("writer failed", writeFailure.get());
            }
            command(out, "QUIT");
            expectOk("QUIT");
            return new Result(messages, octets, nanos);
        }
    }

    private static int retr(byte[] cmd, int n) {
        byte[] verb = {'R', 'E', 'T', 'R', ' '};
        System.arraycopy(verb, 0, cmd, 0, verb.length);
        String digits = Integer.toString(n);
        int p = verb.length;
        for (int i = 0; i < digits.length(); i++) {
            cmd[p++] = (byte) digits.charAt(i);
        }
        cmd[p++] = '\r';
        cmd[p++] = '\n';
        return p;
    }

    private static void command(OutputStream out, String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private void fill() throws IOException {
        int n = in.read(buf, 0, buf.length);
        if (n < 0) {
            throw new IOException("connection closed by the server");
        }
        pos = 0;
        limit = n;
    }

    /** Reads one status line; fails unless it is +OK. */
    private void expectOk(String what) throws IOException {
        if (pos == limit) {
            fill();
        }
        byte first = buf[pos];
        StringBuilder line = new StringBuilder();
        while (true) {
            if (pos == limit) {
                fill();
            }
            byte b = buf[pos++];
            if (b == '\n') {
                break;
            }
            if (line.length() < 200) {
                line.append((char) b);
            }
        }
        if (first != '+') {
            throw new IOException(what + " refused: " + line.toString().trim());
        }
    }

    /** Reads the lines of a multi-line answer up to its "." line; returns how many there were. */
    private int countListing() throws IOException {
        int lines = 0;
        boolean lineStart = true;
        boolean dotLine = false;
        while (true) {
            if (pos == limit) {
                fill();
            }
            byte b = buf[pos++];
            if (lineStart) {
                dotLine = b == '.';
                lineStart = false;
            } else if (dotLine && b != '\r' && b != '\n') {
                dotLine = false;
            }
            if (b == '\n') {
                if (dotLine) {
                    return lines;
                }
                lines++;
                lineStart = true;
            }
        }
    }

    /** Reads the answer to one RETR; returns the message octets (dot-unstuffed, terminator excluded). */
    private long readMessage(int n) throws IOException {
        expectOk("RETR " + n);
        long octets = 0;
        boolean lineStart = true;
        while (true) {
            if (pos == limit) {
                fill();
            }
            if (lineStart) {
                if (buf[pos] == '.') {
                    // ".\r\n" ends the message; any other line starting with '.' is dot-stuffed
                    while (limit - pos < 3) {
                        compactAndRead();
                    }
                    if (buf[pos + 1] == '\r' && buf[pos + 2] == '\n') {
                        pos += 3;
                        return octets;
                    }
                    pos++;
                }
                lineStart = false;
                continue;
            }
            int end = pos;
            byte[] b = buf;
            int lim = limit;
            while (end < lim && b[end] != '\n') {
                end++;
            }
            if (end < lim) {
                octets += end + 1 - pos;
                pos = end + 1;
                lineStart = true;
            } else {
                octets += lim - pos;
                pos = lim;
            }
        }
    }

    private void compactAndRead() throws IOException {
        int rest = limit - pos;
        System.arraycopy(buf, pos, buf, 0, rest);
        pos = 0;
        limit = rest;
        int n = in.read(buf, limit, buf.length - limit);
        if (n < 0) {
            throw new IOException("connection closed by the server");
        }
        limit += n;
    }
}
