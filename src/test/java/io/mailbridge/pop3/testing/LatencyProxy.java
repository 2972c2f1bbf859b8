package io.mailbridge.pop3.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP proxy on loopback that behaves like a long link: every chunk it receives is forwarded {@code delay} later
 * in the same direction (so a round trip gains twice the delay), and chunks follow each other without waiting for
 * one another. It is a delay line, not stop-and-wait: throughput is kept, only latency is added. Each new
 * connection is opened one round trip late, like a TCP handshake over the link. At most {@link #MAX_IN_FLIGHT}
 * bytes per direction sit in the line (a generous TCP window), so a stalled reader holds back the writer.
 */
public final class LatencyProxy implements AutoCloseable {

    static final int MAX_IN_FLIGHT = 32 * 1024 * 1024;
    private static final int CHUNK = 64 * 1024;
    private static final byte[] EOF = new byte[0];

    private final InetSocketAddress target;
    private final long delayNanos;
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    /** @param oneWayDelayMs added in each direction; the round trip grows by twice that */
    public LatencyProxy(String targetHost, int targetPort, long oneWayDelayMs) throws IOException {
        this.target = new InetSocketAddress(targetHost, targetPort);
        this.delayNanos = TimeUnit.MILLISECONDS.toNanos(oneWayDelayMs);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::acceptLoop, "latency-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Thread t = new Thread(() -> connect(client), "latency-proxy-connect");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("latency proxy: accept failed: " + e);
                }
                return;
            }
        }
    }

    private void connect(Socket client) {
        Socket upstream = new Socket();
        sockets.add(client);
        sockets.add(upstream);
        try {
            LockSupport.parkNanos(2 * delayNanos); // the handshake's round trip
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
            upstream.connect(target, 10_000);
            // both sockets are closed once both directions ended: a proxy that outlives 10,000 sessions
            // must not keep 20,000 half-closed sockets open
            java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger(2);
            Runnable ended = () -> {
                if (open.decrementAndGet() == 0) {
                    closeQuietly(client);
                    closeQuietly(upstream);
                    sockets.remove(client);
                    sockets.remove(upstream);
                }
            };
            pump(client, upstream, "up", ended);
            pump(upstream, client, "down", ended);
        } catch (IOException e) {
            closeQuietly(client);
            closeQuietly(upstream);
        }
    }

    private record Chunk(byte[] data, long dueNanos) {
    }

    /** Two threads per direction: one reads and time-stamps, one waits until each chunk is due and writes it. */
    private void pump(Socket from, Socket to, String direction, Runnable ended) throws IOException {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        LinkedBlockingQueue<Chunk> line = new LinkedBlockingQueue<>();
        Semaphore window = new Semaphore(MAX_IN_FLIGHT);
        Thread reader = new Thread(() -> {
            byte[] buf = new byte[CHUNK];
            try {
                while (true) {
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    window.acquire(n);
                    byte[] data = java.util.Arrays.copyOf(buf, n);
                    line.put(new Chunk(data, System.nanoTime() + delayNanos));
                }
            } catch (IOException | InterruptedException e) {
                // connection gone
            }
            line.add(new Chunk(EOF, System.nanoTime() + delayNanos));
        }, "latency-proxy-" + direction + "-in");
        Thread writer = new Thread(() -> {
            try {
                while (true) {
                    Chunk chunk = line.take();
                    long wait;
                    while ((wait = chunk.dueNanos - System.nanoTime()) > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    if (chunk.data == EOF) {
                        to.shutdownOutput();
                        ended.run();
                        return;
                    }
                    out.write(chunk.data);
                    window.release(chunk.data.length);
                }
            } catch (IOException | InterruptedException e) {
                closeQuietly(from);
                closeQuietly(to);
                ended.run();
            }
        }, "latency-proxy-" + direction + "-out");
        reader.setDaemon(true);
        writer.setDaemon(true);
        reader.start();
        writer.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        for (Socket s : sockets) {
            closeQuietly(s);
        }
    }
}
