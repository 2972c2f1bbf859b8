package io.mailbridge.pop3;

import io.mailbridge.pop3.config.ConfigDocs;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's config reference is generated from CONFIG_DEF; this fails when it is stale. */
class ReadmeConfigReferenceTest {

    static final String START = "<!-- config-reference:start (generated from CONFIG_DEF; see ReadmeConfigReferenceTest) -->\n";
    static final String END = "<!-- config-reference:end -->";

    @Test
    void readmeConfigReferenceMatchesConfigDef() throws Exception {
        Path readme = Path.of("README.md");
        String text = Files.readString(readme);
        int start = text.indexOf(START);
        int end = text.indexOf(END);
        assertTrue(start >= 0 && end > start, "README.md lacks the config reference markers");
        String expected = ConfigDocs.markdown(Pop3SourceConnectorConfig.CONFIG_DEF);
        String actual = text.substring(start + START.length(), end);
        if (!expected.equals(actual) && Boolean.getBoolean("readme.update")) {
            Files.writeString(readme, text.substring(0, start + START.length()) + expected + text.substring(end));
            return;
        }
        assertEquals(expected, actual, "README.md config reference is stale: run "
                + "mvn -q test -Dtest=ReadmeConfigReferenceTest -Dreadme.update=true");
    }
}
