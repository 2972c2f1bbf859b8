package io.mailbridge.pop3.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A plain-TCP proxy in front of a POP3 server that watches the sessions go by and counts, per user, how many are
 * open at the same time: what the server sees, measured without relying on the server's own locking (Dovecot's
 * {@code pop3_lock_session} makes a second session <em>wait</em> up to 10 s for the lock before it answers
 * {@code [IN-USE]}, so a short overlap would otherwise go unnoticed).
 *
 * <p>A session of a user starts when the client names the user ({@code USER}, {@code AUTH PLAIN} with or without
 * an initial response, {@code APOP}) and ends when the client sends {@code QUIT} (read before it is forwarded, so
 * before the client can see the reply and open its next session) or the connection closes. Plaintext only.
 *
 * <p>{@link #commands} counts the commands of each user's sessions by verb, e.g. every {@code DELE} the server got.
 *
 * <p>{@link #delayQuit} holds each QUIT for a while before forwarding it; if the client dies meanwhile the QUIT is
 * dropped, so a crash test can land reliably between DELE and the QUIT that would make it effective.
 */
public final class Pop3SessionProxy implements AutoCloseable {

    private final String targetHost;
    private final int targetPort;
    private final ServerSocket server;
    private final Thread acceptor;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Map<String, Integer> open = new HashMap<>();
    private final Map<String, Integer> maxOpen = new TreeMap<>();
    private final Map<String, Integer> sessions = new TreeMap<>();
    private final List<String> overlaps = new ArrayList<>();
    private final Map<String, Integer> commands = new HashMap<>();
    private volatile boolean closed;
    private volatile long quitDelayMs;
    private final java.util.concurrent.atomic.AtomicInteger quitsDelayed = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger quitsDropped = new java.util.concurrent.atomic.AtomicInteger();

    public Pop3SessionProxy(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptLoop, "pop3-session-proxy");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public String host() {
        return server.getInetAddress().getHostAddress();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Most sessions of each user open at once (1 is the healthy answer). */
    public synchronized Map<String, Integer> maxConcurrentSessions() {
        return new TreeMap<>(maxOpen);
    }

    /** Sessions open right now, all users together. */
    public synchronized int openSessions() {
        int n = 0;
        for (int v : open.values()) {
            n += v;
        }
        return n;
    }

    /** Sessions started per user. */
    public synchronized Map<String, Integer> sessions() {
        return new TreeMap<>(sessions);
    }

    /** A description of each time a user's session started while another of the same user was open. */
    public synchronized List<String> overlaps() {
        return new ArrayList<>(overlaps);
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Thread t = new Thread(() -> serve(client), "pop3-session-proxy-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) {
                    sleep(10);
                }
            }
        }
    }

    private void serve(Socket client) {
        sockets.add(client);
        String user = null;
        try (Socket upstream = new Socket(targetHost, targetPort)) {
            sockets.add(upstream);
            Thread down = new Thread(() -> pump(upstream, client), "pop3-session-proxy-down");
            down.setDaemon(true);
            down.start();
            InputStream in = new java.io.BufferedInputStream(client.getInputStream());
            OutputStream out = upstream.getOutputStream();
            boolean awaitingPlain = false;
            byte[] line;
            while ((line = readLine(in)) != null) {
                String text = new String(line, StandardCharsets.ISO_8859_1).trim();
                String upper = text.toUpperCase(java.util.Locale.ROOT);
                if (user == null) {
                    String named = null;
                    if (awaitingPlain) {
                        awaitingPlain = false;
                        named = plainUser(text);
                    } else if (upper.startsWith("USER ") || upper.startsWith("APOP ")) {
                        named = text.substring(5).trim().split(" ")[0];
                    } else if (upper.equals("AUTH PLAIN")) {
                        awaitingPlain = true;
                    } else if (upper.startsWith("AUTH PLAIN ")) {
                        named = plainUser(text.substring("AUTH PLAIN ".length()).trim());
                    }
                    if (named != null) {
                        user = named;
                        begin(user);
                    }
                } else {
                    count(user, upper);
                    if (upper.equals("QUIT")) {
                        end(user);
                        user = null;
                        long delay = quitDelayMs;
                        if (delay > 0 && !holdQuit(client, in, delay)) {
                            quitsDropped.incrementAndGet();
                            return; // the client went away while QUIT was held: the server never sees it
                        }
                    }
                }
                out.write(line);
                out.flush();
            }
        } catch (IOException e) {
            // connection closed or reset: the session ends below
        } finally {
            if (user != null) {
                end(user);
            }
            close(client);
        }
    }

    /**
     * Holds a QUIT for {@code delayMs}, watching the client meanwhile. Returns true to forward it (the client is still
     * there), false if the client closed or reset the connection (a crashed client: its QUIT must not reach the
     * server, exactly as if the crash had come before it was sent).
     */
    private boolean holdQuit(Socket client, InputStream in, long delayMs) throws IOException {
        quitsDelayed.incrementAndGet();
        long deadline = System.nanoTime() + delayMs * 1_000_000;
        try {
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    return true;
                }
                client.setSoTimeout((int) Math.max(1, left));
                in.mark(1);
                try {
                    if (in.read() < 0) {
                        return false;
                    }
                    in.reset(); // unexpected data after QUIT: forward it after the QUIT
                    return true;
                } catch (java.net.SocketTimeoutException e) {
                    // still connected, still silent
                }
            }
        } catch (IOException e) {
            return false;
        } finally {
            if (!client.isClosed()) {
                client.setSoTimeout(0);
            }
        }
    }

    /**
     * From now on, hold every QUIT this long before forwarding it (0: forward at once). Models a slow server or
     * network at the moment DELE would take effect, to widen that window for a crash test.
     */
    public void delayQuit(long delayMs) {
        this.quitDelayMs = delayMs;
    }

    /** QUITs held by {@link #delayQuit}, and those never forwarded because the client died while they were held. */
    public int quitsDelayed() {
        return quitsDelayed.get();
    }

    public int quitsDropped() {
        return quitsDropped.get();
    }

    private static String plainUser(String base64) {
        try {
            String decoded = new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
            String[] parts = decoded.split("\u0000", -1);
            return parts.length >= 2 ? parts[1] : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * How many times the client sent {@code verb} (e.g. {@code DELE}, {@code RETR}, {@code TOP}) in sessions of
     * {@code user}, counted as the proxy forwarded them: what the server received, whatever the client thinks.
     */
    public synchronized int commands(String user, String verb) {
        return commands.getOrDefault(user + " " + verb.toUpperCase(java.util.Locale.ROOT), 0);
    }

    private synchronized void count(String user, String upperCommand) {
        int space = upperCommand.indexOf(' ');
        String verb = space < 0 ? upperCommand : upperCommand.substring(0, space);
        commands.merge(user + " " + verb, 1, Integer::sum);
    }

    private synchronized void begin(String user) {
        int now = open.merge(user, 1, Integer::sum);
        sessions.merge(user, 1, Integer::sum);
        maxOpen.merge(user, now, Math::max);
        if (now > 1) {
            overlaps.add(System.currentTimeMillis() + ": session " + sessions.get(user) + " of " + user
                    + " started while " + (now - 1) + " other(s) were open");
        }
    }

    private synchronized void end(String user) {
        open.merge(user, -1, Integer::sum);
    }

    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // closed
        } finally {
            close(to);
            close(from);
        }
    }

    /** One line including its CRLF, or null at end of stream. */
    private static byte[] readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(64);
        int b;
        while ((b = in.read()) >= 0) {
            line.write(b);
            if (b == '\n') {
                return line.toByteArray();
            }
        }
        return line.size() == 0 ? null : line.toByteArray();
    }

    private void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // ignore
        }
        sockets.remove(s);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // ignore
        }
        for (Socket s : sockets) {
            close(s);
        }
    }
}
