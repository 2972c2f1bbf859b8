package io.mailbridge.pop3.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A scripted POP3 server for unit tests of the wire client: accepts one connection on
 * 127.0.0.1 and runs a script (expected commands, canned responses) on its own thread.
 * {@link #verify()} rethrows whatever went wrong on that thread.
 */
final class FakePop3Server implements AutoCloseable {

    /** The server side of one conversation. */
    @FunctionalInterface
    interface Script {
        void run(Session session) throws Exception;
    }

    private final ServerSocket serverSocket;
    private final Thread thread;
    private final List<String> received = Collections.synchronizedList(new ArrayList<>());
    private volatile Socket socket;
    private volatile Throwable failure;
    private volatile boolean clientClosed;

    private FakePop3Server(SSLContext implicitTls, Script script) throws IOException {
        serverSocket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        thread = new Thread(() -> serve(implicitTls, script), "fake-pop3-" + serverSocket.getLocalPort());
        thread.setDaemon(true);
        thread.start();
    }

    static FakePop3Server start(Script script) throws IOException {
        return new FakePop3Server(null, script);
    }

    /** A server that speaks TLS from the first byte (POP3S). */
    static FakePop3Server startTls(SSLContext serverContext, Script script) throws IOException {
        return new FakePop3Server(serverContext, script);
    }

    int port() {
        return serverSocket.getLocalPort();
    }

    /** Every command line the server has read, in order. */
    List<String> received() {
        synchronized (received) {
            return List.copyOf(received);
        }
    }

    /** True once the server saw the client close the connection. */
    boolean clientClosed() {
        return clientClosed;
    }

    /** Waits for the script to end and rethrows its failure. */
    void verify() throws Exception {
        thread.join(TimeUnit.SECONDS.toMillis(10));
        if (thread.isAlive()) {
            throw new AssertionError("The fake POP3 server script did not finish; received " + received());
        }
        if (failure instanceof Exception e) {
            throw e;
        }
        if (failure instanceof Error e) {
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        serverSocket.close();
        Socket s = socket;
        if (s != null) {
            s.close();
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void serve(SSLContext implicitTls, Script script) {
        try (Socket accepted = serverSocket.accept()) {
            accepted.setSoTimeout(10_000);
            socket = accepted;
            Session session = new Session(accepted);
            if (implicitTls != null) {
                session.startTls(implicitTls);
            }
            script.run(session);
        } catch (Throwable t) {
            failure = t;
        }
    }

    final class Session {
        private String[] announced;
        private Socket socket;
        private InputStream in;
        private OutputStream out;

        private Session(Socket socket) throws IOException {
            attach(socket);
        }

        private void attach(Socket s) throws IOException {
            socket = s;
            FakePop3Server.this.socket = s;
            in = new BufferedInputStream(s.getInputStream());
            out = s.getOutputStream();
        }

        /** Sends each line followed by CRLF. */
        Session send(String... lines) throws IOException {
            StringBuilder sb = new StringBuilder();
            for (String line : lines) {
                sb.append(line).append("\r\n");
            }
            return sendRaw(sb.toString());
        }

        /** Sends the text as ISO-8859-1 bytes, exactly as given. */
        Session sendRaw(String raw) throws IOException {
            return sendRaw(raw.getBytes(StandardCharsets.ISO_8859_1));
        }

        Session sendRaw(byte[] raw) throws IOException {
            out.write(raw);
            out.flush();
            return this;
        }

        /** Reads one command line without its line end; null when the client closed the connection. */
        String readLine() throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) != '\n') {
                if (b < 0) {
                    clientClosed = true;
                    return null;
                }
                line.write(b);
            }
            String text = line.toString(StandardCharsets.UTF_8);
            if (text.endsWith("\r")) {
                text = text.substring(0, text.length() - 1);
            }
            received.add(text);
            return text;
        }

        /**
         * Reads a command, asserts it, and answers with the given lines. A CAPA the script did not ask for (the
         * client asks again after login, RFC 2449) gets the capabilities announced last: a server whose
         * capabilities do not change with the user.
         */
        Session expect(String command, String... response) throws IOException {
            String line = readLine();
            while ("CAPA".equals(line) && !"CAPA".equals(command) && announced != null) {
                answerCapa(announced);
                line = readLine();
            }
            assertEquals(command, line, "command received by the fake server");
            return send(response);
        }

        Session greet() throws IOException {
            return send("+OK fake POP3 ready");
        }

        /** Answers CAPA with these capabilities. */
        Session capa(String... capabilities) throws IOException {
            assertEquals("CAPA", readLine(), "command received by the fake server");
            announced = capabilities;
            return answerCapa(capabilities);
        }

        private Session answerCapa(String... capabilities) throws IOException {
            List<String> lines = new ArrayList<>();
            lines.add("+OK capabilities follow");
            lines.addAll(List.of(capabilities));
            lines.add(".");
            return send(lines.toArray(new String[0]));
        }

        Session login(String user, String password) throws IOException {
            expect("USER " + user, "+OK");
            return expect("PASS " + password, "+OK logged in");
        }

        /** Sends {@code +OK}, the dot-stuffed message and the terminator. */
        Session message(String content) throws IOException {
            return sendRaw("+OK message follows\r\n" + dotStuff(content) + ".\r\n");
        }

        /** Reads until the client closes the connection. */
        void awaitClose() throws IOException {
            while (readLine() != null) {
                // record what the client still sends
            }
        }

        /** Turns the connection into TLS, as the server side. */
        void startTls(SSLContext context) throws IOException {
            SSLSocket ssl = (SSLSocket) context.getSocketFactory().createSocket(socket, null, socket.getPort(), true);
            ssl.setUseClientMode(false);
            ssl.startHandshake();
            attach(ssl);
        }
    }

    /** Dot-stuffs content and, like a server, ends it with CRLF if it does not already. */
    static String dotStuff(String content) {
        StringBuilder sb = new StringBuilder();
        boolean lineStart = true;
        for (int i = 0; i < content.length(); i++) {
            char c = content.charAt(i);
            if (lineStart && c == '.') {
                sb.append('.');
            }
            sb.append(c);
            lineStart = c == '\n';
        }
        if (!content.endsWith("\r\n")) {
            sb.append("\r\n");
        }
        return sb.toString();
    }
}
