package io.mailbridge.pop3.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Dovecot POP3 server on loopback, started for one test: no systemd, no state outside a fresh temp
 * directory, master process as a child of the JVM.
 *
 * <pre>{@code
 * try (DovecotServer dovecot = DovecotServer.builder()
 *         .user("alice", "secret")
 *         .certificate(DovecotServer.CertChoice.VALID)
 *         .build()
 *         .start()) {
 *     dovecot.deliver("alice", rfc822Bytes);
 *     // connect to dovecot.host():dovecot.plainPort() (plain / STLS) or dovecot.tlsPort() (implicit TLS)
 * }
 * }</pre>
 *
 * <p>Requirements: {@code /usr/sbin/dovecot} ({@code dovecot-core} + {@code dovecot-pop3d}) and a JVM running
 * as root (the Dovecot master runs as root; login, auth and mail processes drop to {@code nobody}). Both hold
 * on the dev machines and in CI. {@link #requireInstalled()} fails (never skips) when Dovecot is missing.
 *
 * <p>Notable settings: {@code auth_failure_delay = 0} and the anvil auth-penalty socket disabled, so a wrong
 * password is answered in about 0.5 s (Dovecot flushes delayed failures on a fixed 500 ms timer) and does not
 * slow down the following logins; UIDLs are {@code %08Xu%08Xv} (UID then UIDVALIDITY, 8 lowercase hex digits
 * each); {@code mail_fsync = never}.
 *
 * <p>The readiness probe performed by {@link #start()} opens one connection on the plain port and sends
 * {@code QUIT}, so {@link #logLines()} contains one {@code pop3-login} disconnect line without a user.
 */
public final class DovecotServer implements AutoCloseable {

    /** Which certificate the server presents (all from {@link TestCertificates#shared()}). */
    public enum CertChoice {
        /** Signed by the test CA, SAN {@code DNS:localhost, IP:127.0.0.1}, currently valid. */
        VALID,
        /** Signed by the test CA but expired yesterday. */
        EXPIRED,
        /** Self-signed, not issued by the test CA. */
        UNTRUSTED
    }

    public static final Path DOVECOT = Path.of("/usr/sbin/dovecot");
    static final String INSTALL_HINT = "apt-get install -y dovecot-core dovecot-pop3d";
    private static final Path POP3_BINARY = Path.of("/usr/lib/dovecot/pop3");
    private static final String HOST = "127.0.0.1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_START_ATTEMPTS = 3;
    private static final Pattern USER_NAME = Pattern.compile("[A-Za-z0-9._+@-]+");
    private static final Pattern DELETED = Pattern.compile("\\bdel=(\\d+)/");
    private static final Pattern RETRIEVED = Pattern.compile("\\bretr=(\\d+)/");

    /** Monotonic microsecond clock for maildir names: name order == delivery order, JVM-wide. */
    private static final AtomicLong LAST_DELIVERY_MICROS = new AtomicLong();
    private static final AtomicLong DELIVERY_SEQUENCE = new AtomicLong();
    private static final long PID = ProcessHandle.current().pid();

    /** Servers started and not yet stopped: the shutdown hook stops them if a test forgot to. */
    private static final Set<DovecotServer> RUNNING = ConcurrentHashMap.newKeySet();
    private static volatile String installedVersion;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (DovecotServer server : RUNNING) {
                server.stop();
            }
        }, "dovecot-server-cleanup"));
    }

    private final Map<String, String> users;
    private final CertChoice certificate;
    private final List<String> extraConfig;

    private Path dir;
    private Path config;
    private Path logFile;
    private Path stdoutFile;
    private Process process;
    private int plainPort;
    private int tlsPort;
    private SystemUser mailUser;
    private boolean started;
    private boolean stopped;

    private DovecotServer(Builder builder) {
        this.users = new LinkedHashMap<>(builder.users);
        this.certificate = builder.certificate;
        this.extraConfig = List.copyOf(builder.extraConfig);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Fails (never skips) when Dovecot's POP3 server is not installed: CI must go red, not silently green.
     *
     * @throws IllegalStateException with the apt-get command to run
     */
    public static void requireInstalled() {
        if (!Files.isExecutable(DOVECOT)) {
            throw new IllegalStateException("Dovecot is not installed: " + INSTALL_HINT
                    + " (missing " + DOVECOT + ")");
        }
        if (!Files.isExecutable(POP3_BINARY)) {
            throw new IllegalStateException("Dovecot POP3 server is not installed: " + INSTALL_HINT
                    + " (missing " + POP3_BINARY + ")");
        }
    }

    /** {@code dovecot --version}, e.g. {@code 2.3.19.1 (9b53102964)}. */
    public static String installedVersion() {
        requireInstalled();
        String version = installedVersion;
        if (version == null) {
            version = TestCertificates.run(Path.of("/"), List.of(DOVECOT.toString(), "--version")).trim();
            installedVersion = version;
        }
        return version;
    }

    /**
     * Writes the configuration and mail directories into a fresh temp dir, starts {@code dovecot -F} and waits
     * (up to 20 s) until the plain port sends a greeting. Returns {@code this}.
     *
     * @throws IllegalStateException if Dovecot is missing, the JVM is not root, or the server does not come up
     *     (the message then contains Dovecot's log)
     */
    public synchronized DovecotServer start() {
        if (started) {
            throw new IllegalStateException("already started; build a new DovecotServer instead");
        }
        started = true;
        requireInstalled();
        requireRoot();
        boolean dovecot24 = isVersionAtLeast24(installedVersion());
        mailUser = SystemUser.lookup("nobody");
        TestCertificates certs = TestCertificates.shared();
        try {
            dir = Files.createTempDirectory("mailbridge-dovecot-");
            // nobody must be able to traverse to its mail directories.
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            config = dir.resolve("dovecot.conf");
            logFile = dir.resolve("dovecot.log");
            stdoutFile = dir.resolve("dovecot.stdout.log");
            Path passwd = dir.resolve("passwd");
            Files.writeString(passwd, passwdFile(), StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(passwd, PosixFilePermissions.fromString("rw-r--r--"));
            Path mailRoot = dir.resolve("mail");
            Files.createDirectories(mailRoot);
            Files.setPosixFilePermissions(mailRoot, PosixFilePermissions.fromString("rwxr-xr-x"));
            for (String user : users.keySet()) {
                createMaildir(user);
            }
            RUNNING.add(this);

            IllegalStateException failure = null;
            for (int attempt = 1; attempt <= MAX_START_ATTEMPTS; attempt++) {
                int[] ports = freePorts(2);
                plainPort = ports[0];
                tlsPort = ports[1];
                String text = dovecot24
                        ? config24(certs, passwd, mailRoot)
                        : config23(certs, passwd, mailRoot);
                Files.writeString(config, text, StandardCharsets.UTF_8);
                Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
                Files.deleteIfExists(logFile);
                process = new ProcessBuilder(DOVECOT.toString(), "-F", "-c", config.toString())
                        .directory(dir.toFile())
                        .redirectErrorStream(true)
                        .redirectOutput(stdoutFile.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                        .start();
                try {
                    awaitReady();
                    return this;
                } catch (IllegalStateException e) {
                    failure = e;
                    killProcessTree();
                    if (!portConflict()) {
                        break;
                    }
                }
            }
            stop();
            throw failure;
        } catch (IOException e) {
            stop();
            throw new UncheckedIOException("cannot start Dovecot in " + dir, e);
        } catch (RuntimeException | Error e) {
            stop();
            throw e;
        }
    }

    public String host() {
        return HOST;
    }

    /** Plain POP3 (security {@code none}, and {@code starttls} via {@code STLS}). */
    public int plainPort() {
        requireStarted();
        return plainPort;
    }

    /** Implicit TLS (pop3s). */
    public int tlsPort() {
        requireStarted();
        return tlsPort;
    }

    /** The test CA; it signs the VALID and EXPIRED certificates but not the UNTRUSTED one. */
    public Path caPem() {
        return TestCertificates.shared().caPem();
    }

    public CertChoice certificate() {
        return certificate;
    }

    /**
     * Changes a user's password while the server runs, as an administrator would: Dovecot re-reads the passwd
     * file when it changes, so the next login needs the new password.
     */
    public synchronized void changePassword(String user, String password) {
        if (!users.containsKey(user)) {
            throw new IllegalArgumentException("unknown user " + user + "; configured: " + users.keySet());
        }
        users.put(user, password);
        try {
            Path passwd = directory().resolve("passwd");
            Path tmp = directory().resolve("passwd.new");
            Files.writeString(tmp, passwdFile(), StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            Files.move(tmp, passwd, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The server's temp dir (config, logs, passwd, mail/). Deleted by {@link #stop()}. */
    public Path directory() {
        requireStarted();
        return dir;
    }

    /** The Dovecot master process (a child of this JVM). */
    public ProcessHandle processHandle() {
        requireStarted();
        return process.toHandle();
    }

    /** {@code <tmp>/mail/<user>/Maildir}. */
    public Path maildir(String user) {
        requireStarted();
        requireKnownUser(user);
        return dir.resolve("mail").resolve(user).resolve("Maildir");
    }

    /** Delivers one message; see {@link #deliver(String, List)}. */
    public void deliver(String user, byte[] rfc822) {
        deliver(user, List.of(rfc822));
    }

    /**
     * Delivers messages into the user's {@code Maildir/new}, in list order, the way an MDA would: each file is
     * written to {@code tmp/} (CRLF converted to LF, as Dovecot stores maildir files), owned by the mail user,
     * then renamed into {@code new/} as {@code <secs>.M<usecs>P<pid>Q<seq>.mailbridge-test,S=<size>,W=<crlf size>}.
     * Names sort (numerically and lexicographically) in delivery order, which is the order Dovecot assigns UIDs
     * to new messages, so UIDL order == delivery order. POP3 sizes (STAT/LIST) are the CRLF sizes.
     */
    public void deliver(String user, List<byte[]> messages) {
        Path maildir = maildir(user);
        try {
            for (byte[] message : messages) {
                byte[] stored = crlfToLf(message);
                long crlfSize = stored.length + count(stored, (byte) '\n');
                String name = uniqueName() + ",S=" + stored.length + ",W=" + crlfSize;
                Path tmp = maildir.resolve("tmp").resolve(name);
                Files.write(tmp, stored, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
                chown(tmp);
                try {
                    Files.move(tmp, maildir.resolve("new").resolve(name), StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    throw new IllegalStateException("tmp/ and new/ must be on the same file system", e);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot deliver to " + maildir, e);
        }
    }

    /** Messages currently stored for the user (files in {@code new/} + {@code cur/}, i.e. not expunged). */
    public int messageCount(String user) {
        Path maildir = maildir(user);
        int count = 0;
        for (String sub : List.of("new", "cur")) {
            Path folder = maildir.resolve(sub);
            if (!Files.isDirectory(folder)) {
                continue;
            }
            try (var files = Files.list(folder)) {
                count += (int) files.filter(Files::isRegularFile).count();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return count;
    }

    /** Dovecot's log (log_path = info_log_path), oldest first; empty before the first line is written. */
    public List<String> logLines() {
        requireStarted();
        return readLines(logFile);
    }

    /** POP3 sessions of {@code user} that ended: Dovecot logs one "Disconnected" line for each, QUIT or not. */
    public int sessionsEnded(String user) {
        return sumOfSessions(user, null);
    }

    /**
     * DELE commands Dovecot accepted in the ended sessions of {@code user}, whether or not a QUIT made them take
     * effect: the sum of {@code del=N/...} over its "Disconnected" lines (pop3_logout_format's {@code %d}).
     */
    public int deletesReceived(String user) {
        return sumOfSessions(user, DELETED);
    }

    /** Messages retrieved (RETR) in the ended sessions of {@code user}: the sum of {@code retr=N/...}. */
    public int retrievedMessages(String user) {
        return sumOfSessions(user, RETRIEVED);
    }

    private int sumOfSessions(String user, Pattern counter) {
        String prefix = "pop3(" + user + ")";
        int sum = 0;
        for (String line : logLines()) {
            if (!line.contains(prefix) || !line.contains("Disconnected")) {
                continue;
            }
            if (counter == null) {
                sum++;
                continue;
            }
            Matcher m = counter.matcher(line);
            if (m.find()) {
                sum += Integer.parseInt(m.group(1));
            }
        }
        return sum;
    }

    /** Dovecot's log plus the master's stdout/stderr, for failure messages. */
    public String diagnostics() {
        requireStarted();
        return "--- " + logFile + " ---\n" + String.join("\n", readLines(logFile))
                + "\n--- " + stdoutFile + " ---\n" + String.join("\n", readLines(stdoutFile));
    }

    /**
     * Stops the master (SIGTERM, then SIGKILL after 10 s), kills any of its descendants still alive, and
     * deletes the temp dir (kept when {@code -Dmailbridge.dovecot.keepDir=true}). Idempotent.
     */
    public synchronized void stop() {
        if (stopped || !started) {
            return;
        }
        stopped = true;
        try {
            killProcessTree();
        } finally {
            RUNNING.remove(this);
            if (!Boolean.getBoolean("mailbridge.dovecot.keepDir")) {
                TestCertificates.deleteRecursively(dir);
            }
        }
    }

    @Override
    public void close() {
        stop();
    }

    @Override
    public String toString() {
        return "DovecotServer[" + HOST + " plain=" + plainPort + " tls=" + tlsPort + " cert=" + certificate
                + " dir=" + dir + "]";
    }

    // ------------------------------------------------------------------------------------------ config

    private String passwdFile() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> user : users.entrySet()) {
            // user:password:uid:gid:(gecos):home:(shell):extra_fields
            sb.append(user.getKey()).append(":{PLAIN}").append(user.getValue()).append(':')
                    .append(mailUser.uid).append(':').append(mailUser.gid).append("::")
                    .append(dir.resolve("mail").resolve(user.getKey())).append("::\n");
        }
        return sb.toString();
    }

    private String[] certificateFiles(TestCertificates certs) {
        switch (certificate) {
            case EXPIRED:
                return new String[] {certs.expiredCertPem().toString(), certs.expiredKeyPem().toString()};
            case UNTRUSTED:
                return new String[] {certs.untrustedCertPem().toString(), certs.untrustedKeyPem().toString()};
            case VALID:
            default:
                return new String[] {certs.serverCertPem().toString(), certs.serverKeyPem().toString()};
        }
    }

    /** Dovecot 2.3 (Debian 12) syntax. */
    private String config23(TestCertificates certs, Path passwd, Path mailRoot) {
        String[] cert = certificateFiles(certs);
        List<String> lines = new ArrayList<>(List.of(
                "# Generated by io.mailbridge.pop3.testing.DovecotServer (Dovecot 2.3 syntax)",
                "base_dir = " + dir.resolve("run"),
                "state_dir = " + dir.resolve("state"),
                "log_path = " + logFile,
                "info_log_path = " + logFile,
                "protocols = pop3",
                "listen = " + HOST,
                "default_login_user = " + mailUser.name,
                "default_internal_user = " + mailUser.name,
                "default_internal_group = " + mailUser.group,
                "first_valid_uid = " + mailUser.uid,
                "mail_location = maildir:" + mailRoot + "/%u/Maildir",
                "mail_fsync = never",
                "pop3_uidl_format = %08Xu%08Xv",
                "auth_failure_delay = 0",
                "auth_mechanisms = plain login",
                "disable_plaintext_auth = no",
                "ssl = yes",
                "ssl_cert = <" + cert[0],
                "ssl_key = <" + cert[1],
                "ssl_dh = <" + certs.dhParamsPem(),
                "passdb {",
                "  driver = passwd-file",
                "  args = scheme=PLAIN " + passwd,
                "}",
                "userdb {",
                "  driver = passwd-file",
                "  args = " + passwd,
                "}"));
        lines.addAll(commonServices());
        lines.addAll(extraConfig);
        return String.join("\n", lines) + "\n";
    }

    /**
     * Dovecot 2.4 (Debian 13) syntax, written from the 2.4 upgrade notes: NOT exercised on the Debian 12 machines
     * (Dovecot 2.3.19.1) this was written and tested on. No DH file (2.4 only needs it for non-ECDHE DHE).
     */
    private String config24(TestCertificates certs, Path passwd, Path mailRoot) {
        String[] cert = certificateFiles(certs);
        List<String> lines = new ArrayList<>(List.of(
                "dovecot_config_version = 2.4.0",
                "dovecot_storage_version = 2.4.0",
                "# Generated by io.mailbridge.pop3.testing.DovecotServer (Dovecot 2.4 syntax)",
                "base_dir = " + dir.resolve("run"),
                "state_dir = " + dir.resolve("state"),
                "log_path = " + logFile,
                "info_log_path = " + logFile,
                "protocols = pop3",
                "listen = " + HOST,
                "default_login_user = " + mailUser.name,
                "default_internal_user = " + mailUser.name,
                "default_internal_group = " + mailUser.group,
                "first_valid_uid = " + mailUser.uid,
                "mail_driver = maildir",
                "mail_path = " + mailRoot + "/%{user}/Maildir",
                "mail_fsync = never",
                "pop3_uidl_format = %{uid | hex(8)}%{uidvalidity | hex(8)}",
                "auth_failure_delay = 0",
                "auth_mechanisms = plain login",
                "auth_allow_cleartext = yes",
                "ssl = yes",
                "ssl_server_cert_file = " + cert[0],
                "ssl_server_key_file = " + cert[1],
                "passdb passwd-file {",
                "  passwd_file_path = " + passwd,
                "  default_password_scheme = PLAIN",
                "}",
                "userdb passwd-file {",
                "  passwd_file_path = " + passwd,
                "}"));
        lines.addAll(commonServices());
        lines.addAll(extraConfig);
        return String.join("\n", lines) + "\n";
    }

    private List<String> commonServices() {
        return List.of(
                "service pop3-login {",
                "  inet_listener pop3 {",
                "    port = " + plainPort,
                "  }",
                "  inet_listener pop3s {",
                "    port = " + tlsPort,
                "    ssl = yes",
                "  }",
                "}",
                "# No auth penalty: otherwise each failed login from 127.0.0.1 delays the next logins",
                "# (2 s, 4 s, 8 s, up to 15 s), including successful ones.",
                "service anvil {",
                "  unix_listener anvil-auth-penalty {",
                "    mode = 0",
                "  }",
                "}");
    }

    static boolean isVersionAtLeast24(String version) {
        Matcher m = Pattern.compile("^(\\d+)\\.(\\d+)").matcher(version.trim());
        if (!m.find()) {
            throw new IllegalStateException("cannot parse Dovecot version: " + version);
        }
        int major = Integer.parseInt(m.group(1));
        int minor = Integer.parseInt(m.group(2));
        return major > 2 || (major == 2 && minor >= 4);
    }

    // ------------------------------------------------------------------------------------------ process

    private void awaitReady() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String lastProblem = "no attempt yet";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw startFailure("dovecot exited with code " + process.exitValue());
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(HOST, plainPort), 1000);
                socket.setSoTimeout(2000);
                BufferedReader in = new BufferedReader(
                        new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
                String greeting = in.readLine();
                if (greeting != null && greeting.startsWith("+OK")) {
                    OutputStream out = socket.getOutputStream();
                    out.write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    in.readLine();
                    if (!isListening(tlsPort)) {
                        throw startFailure("greeting on plain port " + plainPort + " but nothing listens on TLS port "
                                + tlsPort);
                    }
                    return;
                }
                lastProblem = "greeting was " + greeting;
            } catch (IOException e) {
                lastProblem = e.toString();
            }
            sleep(50);
        }
        throw startFailure("no POP3 greeting on " + HOST + ":" + plainPort + " within " + START_TIMEOUT.toSeconds()
                + " s (last problem: " + lastProblem + ")");
    }

    /** True if something listens on the port, checked without connecting (keeps Dovecot's log quiet). */
    private static boolean isListening(int port) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private IllegalStateException startFailure(String problem) {
        return new IllegalStateException("Dovecot did not start: " + problem + "\nconfig: " + config + "\n"
                + diagnostics());
    }

    private boolean portConflict() {
        return readLines(logFile).stream().anyMatch(line -> line.contains("Address already in use"))
                || readLines(stdoutFile).stream().anyMatch(line -> line.contains("Address already in use"));
    }

    private void killProcessTree() {
        if (process == null) {
            return;
        }
        ProcessHandle master = process.toHandle();
        // Snapshot first: once the master is gone its children are re-parented and no longer its descendants.
        List<ProcessHandle> all = new ArrayList<>(master.descendants().toList());
        all.add(master);
        // SIGKILL everything at once. A graceful SIGTERM of the master takes ~1 s plus ~1.5 s for its children
        // to notice; SIGTERM of master and children together makes the master linger 6 s. The temp dir is
        // deleted right after, so nothing needs a clean shutdown; clients just see the connections drop.
        all.forEach(ProcessHandle::destroyForcibly);
        try {
            process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
        for (ProcessHandle handle : all) {
            while (isRunning(handle) && System.nanoTime() < deadline) {
                sleep(5);
            }
        }
    }

    /**
     * Whether the process still runs. A killed child of the (also killed) master stays a zombie until init
     * reaps it, which takes init a second or two here; a zombie holds no sockets or files, so it counts as gone.
     */
    static boolean isRunning(ProcessHandle handle) {
        if (!handle.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(handle.pid()), "stat"));
            int afterName = stat.lastIndexOf(')');
            char state = afterName >= 0 && afterName + 2 < stat.length() ? stat.charAt(afterName + 2) : '?';
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return handle.isAlive(); // no /proc entry: gone (or no procfs: trust the JDK)
        }
    }

    // ------------------------------------------------------------------------------------------ maildir

    private void createMaildir(String user) throws IOException {
        Path home = dir.resolve("mail").resolve(user);
        Path maildir = home.resolve("Maildir");
        for (Path folder : List.of(home, maildir, maildir.resolve("cur"), maildir.resolve("new"),
                maildir.resolve("tmp"))) {
            Files.createDirectories(folder);
            Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwx------"));
            chown(folder);
        }
    }

    private void chown(Path path) throws IOException {
        PosixFileAttributeView view =
                Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        UserPrincipalLookupService lookup = path.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal owner = lookup.lookupPrincipalByName(mailUser.name);
        GroupPrincipal group = lookup.lookupPrincipalByGroupName(mailUser.group);
        view.setOwner(owner);
        view.setGroup(group);
    }

    private static String uniqueName() {
        long nowMicros = TimeUnit.MILLISECONDS.toMicros(System.currentTimeMillis());
        long micros = LAST_DELIVERY_MICROS.updateAndGet(last -> Math.max(last + 1, nowMicros));
        long seq = DELIVERY_SEQUENCE.incrementAndGet();
        return String.format("%d.M%06dP%dQ%08d.mailbridge-test", micros / 1_000_000, micros % 1_000_000, PID, seq);
    }

    static byte[] crlfToLf(byte[] message) {
        byte[] out = new byte[message.length];
        int n = 0;
        for (int i = 0; i < message.length; i++) {
            if (message[i] == '\r' && i + 1 < message.length && message[i + 1] == '\n') {
                continue;
            }
            out[n++] = message[i];
        }
        return Arrays.copyOf(out, n);
    }

    private static int count(byte[] data, byte value) {
        int n = 0;
        for (byte b : data) {
            if (b == value) {
                n++;
            }
        }
        return n;
    }

    // ------------------------------------------------------------------------------------------ helpers

    private void requireStarted() {
        if (!started || dir == null) {
            throw new IllegalStateException("DovecotServer not started");
        }
    }

    private void requireKnownUser(String user) {
        if (!users.containsKey(user)) {
            throw new IllegalArgumentException("unknown user " + user + "; configured: " + users.keySet());
        }
    }

    private static void requireRoot() {
        Object uid;
        try {
            uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            uid = TestCertificates.run(Path.of("/"), List.of("id", "-u")).trim();
        }
        if (!"0".equals(String.valueOf(uid))) {
            throw new IllegalStateException("DovecotServer needs the tests to run as root (uid 0), as on the dev "
                    + "machines and in CI: the Dovecot master runs as root and drops to nobody; current uid " + uid);
        }
    }

    private static int[] freePorts(int count) throws IOException {
        int[] ports = new int[count];
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST));
                sockets.add(socket); // keep open until all are chosen so they differ
                ports[i] = socket.getLocalPort();
            }
        } finally {
            for (ServerSocket socket : sockets) {
                socket.close();
            }
        }
        return ports;
    }

    private static List<String> readLines(Path file) {
        if (file == null || !Files.exists(file)) {
            return List.of();
        }
        try {
            String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
            List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
            if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
                lines.remove(lines.size() - 1);
            }
            return lines;
        } catch (IOException e) {
            return List.of("<cannot read " + file + ": " + e + ">");
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** uid/gid/name/group of a system account, via {@code id}. */
    private static final class SystemUser {
        final String name;
        final String group;
        final long uid;
        final long gid;

        private SystemUser(String name, String group, long uid, long gid) {
            this.name = name;
            this.group = group;
            this.uid = uid;
            this.gid = gid;
        }

        static SystemUser lookup(String name) {
            Path root = Path.of("/");
            try {
                long uid = Long.parseLong(TestCertificates.run(root, List.of("id", "-u", name)).trim());
                long gid = Long.parseLong(TestCertificates.run(root, List.of("id", "-g", name)).trim());
                String group = TestCertificates.run(root, List.of("id", "-gn", name)).trim();
                return new SystemUser(name, group, uid, gid);
            } catch (RuntimeException e) {
                throw new IllegalStateException("cannot look up system user " + name + ": " + e.getMessage(), e);
            }
        }
    }

    /** Builder; {@link #build()} returns a server that is not started yet. */
    public static final class Builder {
        private final Map<String, String> users = new LinkedHashMap<>();
        private CertChoice certificate = CertChoice.VALID;
        private final List<String> extraConfig = new ArrayList<>();

        private Builder() {
        }

        /** Adds a mailbox user with a cleartext password (no ':' or line breaks). */
        public Builder user(String name, String password) {
            if (name == null || !USER_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("user name must match " + USER_NAME + ": " + name);
            }
            if (password == null || password.isEmpty() || password.contains(":") || password.contains("\n")
                    || password.contains("\r")) {
                throw new IllegalArgumentException("password must be non-empty, without ':' or line breaks");
            }
            users.put(name, password);
            return this;
        }

        /** Which certificate the server presents on pop3s and after STLS. Default {@link CertChoice#VALID}. */
        public Builder certificate(CertChoice choice) {
            this.certificate = java.util.Objects.requireNonNull(choice);
            return this;
        }

        /**
         * Appends raw lines to the generated dovecot.conf (later settings win), e.g.
         * {@code "pop3_lock_session = yes"} or {@code "login_greeting = Hello"}. Must match the installed
         * Dovecot's syntax.
         */
        public Builder extraConfig(String line) {
            extraConfig.add(java.util.Objects.requireNonNull(line));
            return this;
        }

        /**
         * Runs Dovecot as a provider serving many logins would: process and client limits raised, login and pop3
         * processes reused instead of forked per connection (Dovecot's defaults, 100 processes per service and one
         * login process per connection, make thousands of logins crawl on a small machine). Dovecot 2.3 syntax.
         */
        public Builder manyLogins() {
            extraConfig("default_process_limit = 1000");
            extraConfig("default_client_limit = 10000");
            extraConfig("service pop3-login {\n  service_count = 0\n  process_min_avail = 2\n"
                    + "  client_limit = 1000\n  process_limit = 100\n}");
            extraConfig("service pop3 {\n  process_limit = 1000\n  service_count = 100\n}");
            return extraConfig("service auth {\n  client_limit = 10000\n}");
        }

        public DovecotServer build() {
            if (users.isEmpty()) {
                throw new IllegalStateException("add at least one user()");
            }
            return new DovecotServer(this);
        }
    }
}
