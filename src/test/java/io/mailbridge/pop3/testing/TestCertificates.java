package io.mailbridge.pop3.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Test PKI generated with the system {@code openssl} binary.
 *
 * <p>Files produced in the target directory:
 * <ul>
 *   <li>{@code ca.pem}/{@code ca.key}: a test CA;</li>
 *   <li>{@code server.pem}/{@code server.key}: signed by the CA, SAN {@code DNS:localhost, IP:127.0.0.1},
 *       valid from now for 825 days;</li>
 *   <li>{@code expired.pem}/{@code expired.key}: signed by the same CA, same SAN, validity window
 *       [now - 2 days, now - 1 day] (made with {@code openssl ca -startdate/-enddate});</li>
 *   <li>{@code untrusted.pem}/{@code untrusted.key}: self-signed, same SAN, not signed by the CA;</li>
 *   <li>{@code dh.pem}: DH parameters (RFC 7919 ffdhe2048) for servers that want them.</li>
 * </ul>
 *
 * <p>Key generation costs a second or so, so tests should use {@link #shared()}, which generates once per
 * JVM into a temporary directory that is deleted at JVM exit. The directory and files are world-readable on
 * purpose (test keys only) so that unprivileged server processes can read them.
 */
public final class TestCertificates {

    static final Path OPENSSL = Path.of("/usr/bin/openssl");
    static final Path KEYTOOL = Path.of("/usr/bin/keytool");
    private static final String SAN = "DNS:localhost,IP:127.0.0.1";
    private static final DateTimeFormatter UTC_TIME = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'");
    private static final SecureRandom RANDOM = new SecureRandom();

    private static TestCertificates shared;

    private final Path dir;

    private TestCertificates(Path dir) {
        this.dir = dir;
    }

    /** Certificates generated once per JVM into a temp dir (deleted at JVM exit). Thread-safe. */
    public static synchronized TestCertificates shared() {
        if (shared == null) {
            try {
                Path dir = Files.createTempDirectory("mailbridge-test-certs-");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteRecursively(dir),
                        "mailbridge-test-certs-cleanup"));
                shared = generate(dir);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create temp dir for test certificates", e);
            }
        }
        return shared;
    }

    /**
     * Generates the full set of test certificates into {@code dir} (created if missing; existing files of the
     * same names are overwritten).
     *
     * @throws IllegalStateException if {@code /usr/bin/openssl} is missing or a command fails
     */
    public static TestCertificates generate(Path dir) {
        requireExecutable(OPENSSL, "openssl is not installed (" + OPENSSL
                + "): apt-get install -y openssl");
        try {
            Files.createDirectories(dir);
            Path cnf = dir.resolve("openssl.cnf");
            Path caDb = dir.resolve("ca-db");
            deleteRecursively(caDb);
            Files.createDirectories(caDb);
            Files.writeString(caDb.resolve("index.txt"), "");
            Files.writeString(caDb.resolve("serial"), randomSerialHex() + "\n");
            Files.writeString(cnf, opensslConfig(dir, caDb), StandardCharsets.US_ASCII);

            TestCertificates certs = new TestCertificates(dir);

            // CA
            openssl(dir, "req", "-config", cnf.toString(), "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", certs.caKeyPem().toString(), "-out", certs.caPem().toString(),
                    "-days", "3650", "-sha256", "-set_serial", "0x" + randomSerialHex(),
                    "-subj", "/CN=Mailbridge Test CA/O=Mailbridge tests", "-extensions", "ca_ext");

            // Server certificate signed by the CA, valid now.
            Path serverCsr = dir.resolve("server.csr");
            newKeyAndCsr(dir, cnf, certs.serverKeyPem(), serverCsr);
            openssl(dir, "x509", "-req", "-in", serverCsr.toString(),
                    "-CA", certs.caPem().toString(), "-CAkey", certs.caKeyPem().toString(),
                    "-set_serial", "0x" + randomSerialHex(), "-days", "825", "-sha256",
                    "-extfile", cnf.toString(), "-extensions", "server_ext",
                    "-out", certs.serverCertPem().toString());

            // Expired certificate signed by the same CA. openssl 3.0's "x509 -req" has no -not_before/-not_after
            // (those arrived in 3.4), so use "openssl ca", which has accepted -startdate/-enddate for ages.
            Path expiredCsr = dir.resolve("expired.csr");
            newKeyAndCsr(dir, cnf, certs.expiredKeyPem(), expiredCsr);
            ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
            openssl(dir, "ca", "-config", cnf.toString(), "-batch", "-notext",
                    "-in", expiredCsr.toString(), "-out", certs.expiredCertPem().toString(),
                    "-startdate", UTC_TIME.format(now.minusDays(2)),
                    "-enddate", UTC_TIME.format(now.minusDays(1)),
                    "-extensions", "server_ext");

            // Self-signed certificate, not issued by the CA.
            openssl(dir, "req", "-config", cnf.toString(), "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", certs.untrustedKeyPem().toString(), "-out", certs.untrustedCertPem().toString(),
                    "-days", "825", "-sha256", "-set_serial", "0x" + randomSerialHex(),
                    "-subj", "/CN=localhost/O=Mailbridge untrusted", "-extensions", "server_ext");

            generateDhParams(dir, certs.dhParamsPem());

            Files.deleteIfExists(serverCsr);
            Files.deleteIfExists(expiredCsr);
            makeWorldReadable(dir);
            return certs;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot generate test certificates in " + dir, e);
        }
    }

    /** Directory holding the generated files. */
    public Path directory() {
        return dir;
    }

    public Path caPem() {
        return dir.resolve("ca.pem");
    }

    public Path caKeyPem() {
        return dir.resolve("ca.key");
    }

    public Path serverCertPem() {
        return dir.resolve("server.pem");
    }

    public Path serverKeyPem() {
        return dir.resolve("server.key");
    }

    public Path expiredCertPem() {
        return dir.resolve("expired.pem");
    }

    public Path expiredKeyPem() {
        return dir.resolve("expired.key");
    }

    public Path untrustedCertPem() {
        return dir.resolve("untrusted.pem");
    }

    public Path untrustedKeyPem() {
        return dir.resolve("untrusted.key");
    }

    /** DH parameters in PEM ({@code -----BEGIN DH PARAMETERS-----}). */
    public Path dhParamsPem() {
        return dir.resolve("dh.pem");
    }

    /**
     * Writes a PKCS12 truststore holding the CA certificate (alias {@code mailbridge-test-ca}) to {@code out},
     * replacing any existing file, with {@code keytool -importcert -noprompt}. Returns {@code out}.
     */
    public Path caPkcs12(Path out, String password) {
        return truststore(out, password, "PKCS12");
    }

    /** Like {@link #caPkcs12(Path, String)} but in the legacy JKS format. */
    public Path caJks(Path out, String password) {
        return truststore(out, password, "JKS");
    }

    /** An {@link SSLContext} whose only trust anchors are the certificates in {@code pemFile} (PKIX validation). */
    public static SSLContext sslContextTrusting(Path pemFile) {
        try (InputStream in = Files.newInputStream(pemFile)) {
            Collection<? extends Certificate> certificates =
                    CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certificates.isEmpty()) {
                throw new IllegalArgumentException("no certificate in " + pemFile);
            }
            KeyStore trustStore = KeyStore.getInstance("PKCS12");
            trustStore.load(null, null);
            int i = 0;
            for (Certificate certificate : certificates) {
                trustStore.setCertificateEntry("trusted-" + i++, certificate);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trustStore);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build SSLContext trusting " + pemFile, e);
        }
    }

    private Path truststore(Path out, String password, String type) {
        Path keytool = Files.isExecutable(KEYTOOL) ? KEYTOOL
                : Path.of(System.getProperty("java.home"), "bin", "keytool");
        requireExecutable(keytool, "keytool not found at " + KEYTOOL + " nor in java.home");
        try {
            Path parent = out.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.deleteIfExists(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        run(dir, List.of(keytool.toString(), "-importcert", "-noprompt", "-alias", "mailbridge-test-ca",
                "-file", caPem().toString(), "-keystore", out.toString(), "-storetype", type,
                "-storepass", password));
        return out;
    }

    private static void newKeyAndCsr(Path dir, Path cnf, Path key, Path csr) {
        openssl(dir, "req", "-config", cnf.toString(), "-new", "-newkey", "rsa:2048", "-nodes",
                "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=localhost/O=Mailbridge tests");
    }

    private static void generateDhParams(Path dir, Path out) {
        // Named RFC 7919 group: instant. openssl 3.x spells the option "group", 1.1.1 "dh_param".
        List<List<String>> attempts = List.of(
                List.of("genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048",
                        "-out", out.toString()),
                List.of("genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "dh_param:ffdhe2048",
                        "-out", out.toString()),
                List.of("dhparam", "-dsaparam", "-out", out.toString(), "2048"));
        IllegalStateException last = null;
        for (List<String> args : attempts) {
            try {
                openssl(dir, args.toArray(new String[0]));
                return;
            } catch (IllegalStateException e) {
                last = e;
            }
        }
        throw last;
    }

    private static String opensslConfig(Path dir, Path caDb) {
        return String.join("\n",
                "# Generated by io.mailbridge.pop3.testing.TestCertificates",
                "[ req ]",
                "distinguished_name = req_dn",
                "prompt = no",
                "[ req_dn ]",
                "CN = placeholder",
                "",
                "[ ca_ext ]",
                "basicConstraints = critical, CA:TRUE",
                "keyUsage = critical, keyCertSign, cRLSign",
                "subjectKeyIdentifier = hash",
                "",
                "[ server_ext ]",
                "basicConstraints = CA:FALSE",
                "keyUsage = critical, digitalSignature, keyEncipherment",
                "extendedKeyUsage = serverAuth",
                "subjectKeyIdentifier = hash",
                "subjectAltName = " + SAN,
                "",
                "[ ca ]",
                "default_ca = test_ca",
                "[ test_ca ]",
                "dir = " + caDb,
                "database = " + caDb.resolve("index.txt"),
                "new_certs_dir = " + caDb,
                "serial = " + caDb.resolve("serial"),
                "certificate = " + dir.resolve("ca.pem"),
                "private_key = " + dir.resolve("ca.key"),
                "default_md = sha256",
                "policy = test_policy",
                "unique_subject = no",
                "copy_extensions = none",
                "email_in_dn = no",
                "[ test_policy ]",
                "commonName = supplied",
                "organizationName = optional",
                "");
    }

    private static void openssl(Path dir, String... args) {
        List<String> command = new ArrayList<>();
        command.add(OPENSSL.toString());
        command.addAll(Arrays.asList(args));
        run(dir, command);
    }

    static String run(Path workDir, List<String> command) {
        Process process;
        try {
            process = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command + ": " + e.getMessage(), e);
        }
        try {
            // Output is small; read it fully before waiting so the child never blocks on a full pipe.
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("timed out: " + command + "\n" + output);
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("command failed with exit code " + process.exitValue() + ": "
                        + String.join(" ", command) + "\n" + output);
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command, e);
        }
    }

    static void requireExecutable(Path binary, String message) {
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException(message);
        }
    }

    private static String randomSerialHex() {
        // 63 random bits, 16 hex digits (even length, as "openssl ca" wants in its serial file).
        return String.format("%016x", RANDOM.nextLong() & Long.MAX_VALUE | 0x1000_0000_0000_0000L);
    }

    private static void makeWorldReadable(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (var files = Files.list(dir)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(file)) {
                    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
                }
            }
        }
    }

    static void deleteRecursively(Path root) {
        if (root == null || !Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException | UncheckedIOException ignored) {
            // best effort
        }
    }
}
