package io.mailbridge.pop3.client;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.UnrecoverableKeyException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import java.util.Collections;
import java.util.Locale;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** Builds the {@link SSLContext} for a configured truststore: PEM certificates, PKCS12 or JKS. */
public final class TrustStores {

    public static final String PEM = "PEM";
    public static final String PKCS12 = "PKCS12";
    public static final String JKS = "JKS";

    private static final String BEGIN = "-----BEGIN CERTIFICATE-----";
    private static final String END = "-----END CERTIFICATE-----";

    private TrustStores() {
    }

    /**
     * An SSL context that trusts exactly the certificates in the file.
     *
     * @param location path of the truststore file
     * @param password keystore password; may be null (PEM needs none)
     * @param type     {@code PEM}, {@code PKCS12} or {@code JKS}, case-insensitive; null guesses from
     *                 the extension ({@code .pem .crt .cer}, {@code .p12 .pfx}, {@code .jks}), then
     *                 from the content
     * @throws IOException naming the file and what is wrong with it
     */
    public static SSLContext sslContext(String location, String password, String type) throws IOException {
        KeyStore trusted = load(location, password, type);
        try {
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("Cannot use truststore " + location + ": " + e.getMessage(), e);
        }
    }

    /** Loads the file as a KeyStore of trusted certificates; see {@link #sslContext}. */
    public static KeyStore load(String location, String password, String type) throws IOException {
        if (location == null || location.isBlank()) {
            throw new IOException("Truststore location is empty");
        }
        Path path = Path.of(location.trim());
        byte[] content;
        try {
            content = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new IOException("Truststore " + location + " does not exist", e);
        } catch (AccessDeniedException e) {
            throw new IOException("Truststore " + location + " cannot be read: permission denied", e);
        } catch (IOException e) {
            throw new IOException("Truststore " + location + " cannot be read: " + e.getMessage(), e);
        }
        String resolved = resolveType(location, type, content);
        KeyStore store = PEM.equals(resolved) ? loadPem(location, content) : loadKeyStore(location, resolved, password, content);
        if (!hasCertificate(store, location)) {
            throw new IOException("Truststore " + location + " (" + resolved + ") contains no certificates"
                    + (password == null && !PEM.equals(resolved) ? "; does it need a password?" : ""));
        }
        return store;
    }

    private static String resolveType(String location, String type, byte[] content) throws IOException {
        if (type != null && !type.isBlank()) {
            String upper = type.trim().toUpperCase(Locale.ROOT);
            if (!upper.equals(PEM) && !upper.equals(PKCS12) && !upper.equals(JKS)) {
                throw new IOException("Truststore " + location + " has unsupported type '" + type
                        + "'; use PEM, PKCS12 or JKS");
            }
            return upper;
        }
        String name = location.trim().toLowerCase(Locale.ROOT);
        if (name.endsWith(".pem") || name.endsWith(".crt") || name.endsWith(".cer")) {
            return PEM;
        }
        if (name.endsWith(".p12") || name.endsWith(".pfx") || name.endsWith(".pkcs12")) {
            return PKCS12;
        }
        if (name.endsWith(".jks")) {
            return JKS;
        }
        if (new String(content, 0, Math.min(content.length, 4096), StandardCharsets.ISO_8859_1).contains("-----BEGIN ")) {
            return PEM;
        }
        // JKS files start with the magic number 0xFEEDFEED; anything else binary is taken as PKCS12.
        boolean jks = content.length >= 4 && (content[0] & 0xff) == 0xfe && (content[1] & 0xff) == 0xed
                && (content[2] & 0xff) == 0xfe && (content[3] & 0xff) == 0xed;
        return jks ? JKS : PKCS12;
    }

    private static KeyStore loadPem(String location, byte[] content) throws IOException {
        String text = new String(content, StandardCharsets.ISO_8859_1);
        KeyStore store = emptyKeyStore();
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IOException("X.509 certificates are not supported by this JVM", e);
        }
        int block = 0;
        int from = 0;
        int begin;
        while ((begin = text.indexOf(BEGIN, from)) >= 0) {
            block++;
            int end = text.indexOf(END, begin);
            if (end < 0) {
                throw new IOException("Truststore " + location + ": certificate " + block + " has no '" + END + "' line");
            }
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(text.substring(begin + BEGIN.length(), end));
            } catch (IllegalArgumentException e) {
                throw new IOException("Truststore " + location + ": certificate " + block + " is not valid base64: "
                        + e.getMessage(), e);
            }
            try {
                Certificate certificate = factory.generateCertificate(new ByteArrayInputStream(der));
                store.setCertificateEntry("cert-" + block, certificate);
            } catch (CertificateException e) {
                throw new IOException("Truststore " + location + ": certificate " + block
                        + " is not a valid X.509 certificate: " + e.getMessage(), e);
            } catch (GeneralSecurityException e) {
                throw new IOException("Truststore " + location + ": cannot add certificate " + block + ": "
                        + e.getMessage(), e);
            }
            from = end + END.length();
        }
        if (block == 0) {
            throw new IOException("Truststore " + location + " is not a PEM certificate file: no '" + BEGIN + "' line"
                    + (text.contains("-----BEGIN ") ? " (it holds other PEM blocks, such as keys)" : ""));
        }
        return store;
    }

    private static KeyStore emptyKeyStore() throws IOException {
        try {
            KeyStore store = KeyStore.getInstance(PKCS12);
            store.load(null, null);
            return store;
        } catch (GeneralSecurityException e) {
            throw new IOException("Cannot create an in-memory keystore: " + e.getMessage(), e);
        }
    }

    private static KeyStore loadKeyStore(String location, String type, String password, byte[] content)
            throws IOException {
        try (InputStream in = new ByteArrayInputStream(content)) {
            KeyStore store = KeyStore.getInstance(type);
            store.load(in, password == null ? null : password.toCharArray());
            return store;
        } catch (IOException e) {
            String reason = e.getCause() instanceof UnrecoverableKeyException
                    ? "wrong password" : e.getMessage();
            throw new IOException("Cannot load truststore " + location + " as " + type + ": " + reason, e);
        } catch (GeneralSecurityException e) {
            throw new IOException("Cannot load truststore " + location + " as " + type + ": " + e.getMessage(), e);
        }
    }

    private static boolean hasCertificate(KeyStore store, String location) throws IOException {
        try {
            for (String alias : Collections.list(store.aliases())) {
                if (store.getCertificate(alias) != null) {
                    return true;
                }
            }
            return false;
        } catch (GeneralSecurityException e) {
            throw new IOException("Cannot read truststore " + location + ": " + e.getMessage(), e);
        }
    }
}
