package io.mailbridge.pop3;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/operations.md cannot drift from the code: every error text its troubleshooting table quotes still occurs in
 * src/main, and its metrics table names exactly the metrics each mailbox registers.
 */
class OperationsGuideTest {

    private static final Path GUIDE = Path.of("docs", "operations.md");
    private static final Pattern QUOTED = Pattern.compile("`([^`]+)`");
    private static final Pattern GAUGE = Pattern.compile("gauge\\(tags, \"([a-z-]+)\"");

    @Test
    void everyErrorTextInTheTroubleshootingTableOccursInTheCode() throws IOException {
        String code = mainSources();
        List<String> quoted = new ArrayList<>();
        for (String row : tableRows(section("## Troubleshooting"))) {
            Matcher m = QUOTED.matcher(firstCell(row));
            while (m.find()) {
                quoted.add(m.group(1));
            }
        }
        assertTrue(quoted.size() >= 15, "the troubleshooting table quotes the connector's errors: " + quoted);
        List<String> missing = quoted.stream().filter(text -> !code.contains(text)).toList();
        assertEquals(List.of(), missing, "error texts quoted in " + GUIDE + " that src/main no longer emits");
    }

    @Test
    void metricsTableNamesExactlyTheMetricsEachMailboxRegisters() throws IOException {
        Set<String> registered = new LinkedHashSet<>();
        Matcher gauge = GAUGE.matcher(Files.readString(
                Path.of("src/main/java/io/mailbridge/pop3/mailbox/MailboxMetrics.java")));
        while (gauge.find()) {
            registered.add(gauge.group(1));
        }
        assertTrue(registered.size() >= 10, "metrics found in MailboxMetrics: " + registered);
        Set<String> documented = new LinkedHashSet<>();
        for (String row : tableRows(section("## Metrics and alerts"))) {
            Matcher m = QUOTED.matcher(firstCell(row));
            while (m.find()) {
                documented.add(m.group(1));
            }
        }
        assertEquals(registered.stream().sorted().toList(), documented.stream().sorted().toList(),
                "the metrics table of " + GUIDE + " and MailboxMetrics");
    }

    @Test
    void readmeLinksToTheOperationsGuide() throws IOException {
        assertTrue(Files.readString(Path.of("README.md")).contains("(docs/operations.md)"),
                "README stays the entry point and links to docs/operations.md");
    }

    /** The text of a level-2 section, up to the next level-2 heading. */
    private static String section(String heading) throws IOException {
        String guide = Files.readString(GUIDE);
        int start = guide.indexOf("\n" + heading + "\n");
        assertTrue(start >= 0, GUIDE + " has a section " + heading);
        int end = guide.indexOf("\n## ", start + heading.length() + 1);
        return guide.substring(start, end < 0 ? guide.length() : end);
    }

    /** Body rows of the markdown tables in {@code text} (header and separator rows left out). */
    private static List<String> tableRows(String text) {
        List<String> rows = new ArrayList<>();
        boolean inTable = false;
        boolean pastSeparator = false;
        for (String line : text.split("\n")) {
            if (!line.startsWith("|")) {
                inTable = false;
                pastSeparator = false;
                continue;
            }
            if (!inTable) {
                inTable = true; // the header row
                continue;
            }
            if (!pastSeparator) {
                pastSeparator = true;
                continue;
            }
            rows.add(line);
        }
        return rows;
    }

    private static String firstCell(String row) {
        return row.substring(1, row.indexOf(" |", 1));
    }

    private static String mainSources() throws IOException {
        try (Stream<Path> files = Files.walk(Path.of("src", "main", "java"))) {
            return files.filter(p -> p.toString().endsWith(".java")).map(p -> {
                try {
                    return Files.readString(p);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }).collect(Collectors.joining("\n"));
        }
    }
}
