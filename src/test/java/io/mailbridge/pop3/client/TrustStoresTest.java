package io.mailbridge.pop3.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrustStoresTest {

    private static TestCertificates certificates;

    @TempDir
    Path dir;

    @BeforeAll
    static void generateCertificates() throws Exception {
        certificates = TestCertificates.get();
    }

    @Test
    void loadsEveryCertificateOfAPemBundle() throws Exception {
        String pem = Files.readString(certificates.pem);
        Path bundle = dir.resolve("bundle.crt");
        Files.writeString(bundle, "# comment before\n" + pem + "\nsome text between\n" + pem);
        KeyStore store = TrustStores.load(bundle.toString(), null, null);
        assertEquals(2, store.size());
        assertNotNull(TrustStores.sslContext(bundle.toString(), null, null));
    }

    @Test
    void guessesTheTypeFromTheContentWithoutExtension() throws Exception {
        Path pem = Files.copy(certificates.pem, dir.resolve("trust-pem"));
        Path jks = Files.copy(certificates.jks, dir.resolve("trust-jks"));
        Path p12 = Files.copy(certificates.pkcs12, dir.resolve("trust-p12"));
        assertEquals(1, TrustStores.load(pem.toString(), null, null).size());
        assertEquals("JKS", TrustStores.load(jks.toString(), TestCertificates.PASSWORD, null).getType());
        assertEquals("PKCS12", TrustStores.load(p12.toString(), TestCertificates.PASSWORD, null).getType());
    }

    @Test
    void missingFileIsNamed() {
        String missing = dir.resolve("nope.pem").toString();
        IOException e = assertThrows(IOException.class, () -> TrustStores.sslContext(missing, null, null));
        assertEquals("Truststore " + missing + " does not exist", e.getMessage());
    }

    @Test
    void pemWithoutCertificatesSaysSo() throws Exception {
        Path key = dir.resolve("key.pem");
        Files.writeString(key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        IOException e = assertThrows(IOException.class, () -> TrustStores.sslContext(key.toString(), null, null));
        assertTrue(e.getMessage().startsWith("Truststore " + key + " is not a PEM certificate file"), e.getMessage());
        assertTrue(e.getMessage().contains("other PEM blocks"), e.getMessage());
    }

    @Test
    void corruptPemCertificateIsNamedByPosition() throws Exception {
        String pem = Files.readString(certificates.pem);
        Path broken = dir.resolve("broken.pem");
        Files.writeString(broken, pem + "-----BEGIN CERTIFICATE-----\nTUlJQm9ndXM=\n-----END CERTIFICATE-----\n");
        IOException e = assertThrows(IOException.class, () -> TrustStores.sslContext(broken.toString(), null, "pem"));
        assertTrue(e.getMessage().startsWith("Truststore " + broken + ": certificate 2 is not a valid X.509 certificate"),
                e.getMessage());
    }

    @Test
    void unterminatedPemBlockIsReported() throws Exception {
        Path broken = dir.resolve("cut.pem");
        Files.writeString(broken, Files.readString(certificates.pem).replace("-----END CERTIFICATE-----", ""));
        IOException e = assertThrows(IOException.class, () -> TrustStores.sslContext(broken.toString(), null, null));
        assertTrue(e.getMessage().contains("certificate 1 has no '-----END CERTIFICATE-----' line"), e.getMessage());
    }

    @Test
    void wrongKeystorePasswordIsReported() {
        IOException e = assertThrows(IOException.class,
                () -> TrustStores.sslContext(certificates.pkcs12.toString(), "wrong", null));
        assertEquals("Cannot load truststore " + certificates.pkcs12 + " as PKCS12: wrong password", e.getMessage());
        IOException jks = assertThrows(IOException.class,
                () -> TrustStores.sslContext(certificates.jks.toString(), "wrong", "JKS"));
        assertEquals("Cannot load truststore " + certificates.jks + " as JKS: wrong password", jks.getMessage());
    }

    @Test
    void garbageKeystoreNamesFileAndType() throws Exception {
        Path garbage = dir.resolve("garbage.p12");
        Files.write(garbage, "not a keystore".getBytes(StandardCharsets.US_ASCII));
        IOException e = assertThrows(IOException.class, () -> TrustStores.sslContext(garbage.toString(), "x", null));
        assertTrue(e.getMessage().startsWith("Cannot load truststore " + garbage + " as PKCS12: "), e.getMessage());
    }

    @Test
    void unsupportedTypeIsRejected() {
        IOException e = assertThrows(IOException.class,
                () -> TrustStores.sslContext(certificates.pem.toString(), null, "BKS"));
        assertTrue(e.getMessage().contains("unsupported type 'BKS'; use PEM, PKCS12 or JKS"), e.getMessage());
    }
}
