package io.mailbridge.pop3.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A self-signed server certificate for {@code localhost} (no IP address in its SAN), made
 * once per test JVM with {@code keytool}, plus truststores holding it as PEM, PKCS12 and JKS.
 */
final class TestCertificates {

    static final String PASSWORD = "changeit";

    private static TestCertificates instance;

    final Path serverKeyStore;
    final Path pem;
    final Path pkcs12;
    final Path jks;

    private TestCertificates(Path directory) {
        this.serverKeyStore = directory.resolve("server.p12");
        this.pem = directory.resolve("server.pem");
        this.pkcs12 = directory.resolve("trust.p12");
        this.jks = directory.resolve("trust.jks");
    }

    static synchronized TestCertificates get() throws IOException, InterruptedException, GeneralSecurityException {
        if (instance == null) {
            Path directory = Files.createTempDirectory("mailbridge-client-certs");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(directory)));
            TestCertificates certificates = new TestCertificates(directory);
            certificates.generate();
            instance = certificates;
        }
        return instance;
    }

    /** One keytool run makes the key pair; the truststores are written with the KeyStore API. */
    private void generate() throws IOException, InterruptedException, GeneralSecurityException {
        keytool("-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost", "-validity", "2",
                "-keystore", serverKeyStore.toString(), "-storetype", "PKCS12",
                "-storepass", PASSWORD, "-keypass", PASSWORD);
        Certificate certificate = serverKeyStore().getCertificate("server");
        String base64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(certificate.getEncoded());
        Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n" + base64 + "\n-----END CERTIFICATE-----\n");
        writeTrustStore("PKCS12", pkcs12, certificate);
        writeTrustStore("JKS", jks, certificate);
    }

    private static void writeTrustStore(String type, Path file, Certificate certificate)
            throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance(type);
        store.load(null, null);
        store.setCertificateEntry("server", certificate);
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, PASSWORD.toCharArray());
        }
    }

    private KeyStore serverKeyStore() throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(serverKeyStore)) {
            store.load(in, PASSWORD.toCharArray());
        }
        return store;
    }

    /** The server side: presents the certificate. */
    SSLContext serverContext() throws IOException, GeneralSecurityException {
        KeyStore store = serverKeyStore();
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, PASSWORD.toCharArray());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), null, null);
        return context;
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        command.add(Files.isExecutable(keytool) ? keytool.toString() : "keytool");
        // A short-lived JVM: skip the optimizing compiler, it only costs start-up time here.
        command.add("-J-XX:TieredStopAtLevel=1");
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException("keytool failed: " + new String(output, StandardCharsets.UTF_8));
        }
    }

    private static void deleteQuietly(Path directory) {
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            // a temp directory left behind is harmless
        }
    }
}
