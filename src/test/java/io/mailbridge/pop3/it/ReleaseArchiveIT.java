package io.mailbridge.pop3.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plugin archive as released: the license, notice and third-party notices a redistributor needs, a manifest
 * with the fields Confluent Hub reads, and a {@code .sha512} beside the zip that matches it (Strimzi's build and
 * users verify downloads with it). Reads the zip {@code mvn package} left in {@code target/components/packages/}.
 */
class ReleaseArchiveIT {

    private static final Pattern LIB_JAR = Pattern.compile("[^/]+/lib/([^/]+)\\.jar");

    private static Path zip;
    private static Map<String, byte[]> entries;

    @BeforeAll
    static void readArchive() throws IOException {
        Path packages = Path.of("target", "components", "packages");
        try (DirectoryStream<Path> zips = Files.newDirectoryStream(packages, "*.zip")) {
            for (Path p : zips) {
                assertTrue(zip == null, "one plugin archive in " + packages + ", found " + zip + " and " + p);
                zip = p;
            }
        }
        assertNotNull(zip, "no plugin archive in " + packages.toAbsolutePath() + "; run mvn package");
        entries = new TreeMap<>();
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            ZipEntry entry;
            while ((entry = in.getNextEntry()) != null) {
                if (!entry.isDirectory()) {
                    entries.put(entry.getName(), in.readAllBytes());
                }
            }
        }
    }

    @Test
    void archiveCarriesLicenseNoticeAndOperationsGuide() {
        String top = topFolder();
        String license = text(top + "doc/LICENSE");
        assertTrue(license.contains("Apache License") && license.contains("Version 2.0, January 2004"), license);
        assertTrue(text(top + "doc/NOTICE").contains("Apache License, Version 2.0"));
        assertTrue(text(top + "doc/operations.md").startsWith("# "), "docs/operations.md is shipped in doc/");
        assertTrue(entries.containsKey(top + "doc/README.md"));
    }

    @Test
    void everyBundledLibraryHasItsLicenseFilesAndAThirdPartyEntry() {
        String top = topFolder();
        String thirdParty = text(top + "doc/THIRD-PARTY.md");
        int libraries = 0;
        for (String name : entries.keySet()) {
            Matcher jar = LIB_JAR.matcher(name);
            if (!jar.matches() || jar.group(1).startsWith("kafka-connect-pop3-")) {
                continue;
            }
            libraries++;
            String artifactVersion = jar.group(1);
            String licenses = top + "doc/licenses/" + artifactVersion + "/";
            assertTrue(entries.keySet().stream().anyMatch(e -> e.startsWith(licenses + "LICENSE")),
                    "no license file of " + artifactVersion + " under " + licenses + " in " + entries.keySet());
            String artifactId = artifactVersion.replaceFirst("-\\d[^-]*$", "");
            assertTrue(thirdParty.contains(":" + artifactId + "`"),
                    artifactId + " is bundled in lib/ but not listed in src/main/assembly/THIRD-PARTY.md");
        }
        assertTrue(libraries >= 4, "angus-mail, jakarta mail/activation and jackson are bundled: " + libraries);
    }

    @Test
    void manifestHasTheFieldsConfluentHubReads() throws IOException {
        String top = topFolder();
        JsonNode manifest = new ObjectMapper().readTree(entries.get(top + "manifest.json"));
        for (String field : List.of("name", "version", "title", "description", "documentation_url", "source_url",
                "release_date")) {
            assertFalse(manifest.path(field).asText().isBlank(), "manifest field " + field + ": " + manifest);
        }
        assertFalse(manifest.path("version").asText().contains("${"), "version filtered: " + manifest);
        assertTrue(top.equals("mailbridge-kafka-connect-pop3-" + manifest.path("version").asText() + "/"), top);
        assertTrue(manifest.path("release_date").asText().matches("\\d{4}-\\d{2}-\\d{2}"), manifest.toString());
        for (String field : List.of("username", "type", "name")) {
            assertFalse(manifest.path("owner").path(field).asText().isBlank(), "owner." + field);
        }
        for (String field : List.of("provider_name", "summary", "url")) {
            assertFalse(manifest.path("support").path(field).asText().isBlank(), "support." + field);
        }
        assertEquals("Apache License 2.0", manifest.path("license").path(0).path("name").asText());
        assertFalse(manifest.path("license").path(0).path("url").asText().isBlank());
        assertEquals("source", manifest.path("component_types").path(0).asText());
        assertTrue(manifest.path("requirements").size() > 0, "requirements");
    }

    @Test
    void sha512BesideTheArchiveMatchesIt() throws Exception {
        Path sha512File = zip.resolveSibling(zip.getFileName() + ".sha512");
        assertTrue(Files.exists(sha512File), sha512File + " is written by mvn package");
        String written = Files.readString(sha512File, StandardCharsets.US_ASCII).trim();
        String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-512").digest(Files.readAllBytes(zip)));
        assertEquals(actual, written, sha512File + " does not match " + zip);
    }

    private static String topFolder() {
        String first = entries.keySet().iterator().next();
        String top = first.substring(0, first.indexOf('/') + 1);
        assertTrue(entries.keySet().stream().allMatch(e -> e.startsWith(top)), "one top folder: " + entries.keySet());
        return top;
    }

    private static String text(String entry) {
        byte[] bytes = entries.get(entry);
        assertNotNull(bytes, entry + " missing from the archive: " + entries.keySet());
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
