package io.mailbridge.pop3.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

class HeaderBlockTest {

    @Test
    void wordAtATimeLineEndAgreesWithByteByByte() {
        java.util.Random random = new java.util.Random(5);
        byte[] palette = {'\r', '\n', 0x0C, 0x0E, 0x0B, 0x09, (byte) 0x8D, (byte) 0x8A, 0, (byte) 0xFF, '-'};
        for (int round = 0; round < 3000; round++) {
            byte[] data = new byte[random.nextInt(100)];
            for (int i = 0; i < data.length; i++) {
                data[i] = random.nextInt(4) == 0 ? palette[random.nextInt(palette.length)] : (byte) random.nextInt(256);
            }
            int from = random.nextInt(data.length + 1);
            int to = from + random.nextInt(data.length - from + 1);
            int expected = to;
            for (int i = from; i < to; i++) {
                if (data[i] == '\r' || data[i] == '\n') {
                    expected = i;
                    break;
                }
            }
            assertEquals(expected, HeaderBlock.lineEnd(data, from, to), "round " + round);
        }
    }

    @Test
    void unfoldsTrimsAndFindsTheBody() {
        HeaderBlock block = parse("Subject:  a long subject\r\n folded\r\n\ttwice \r\nX-Empty:\r\n\r\nbody");

        assertEquals(List.of("Subject=a long subject folded\ttwice", "X-Empty="), fields(block));
        assertEquals("body", bodyOf(block, "Subject:  a long subject\r\n folded\r\n\ttwice \r\nX-Empty:\r\n\r\nbody"));
        assertNull(block.problem());
    }

    @Test
    void acceptsLfAndCrLineEndsAndSpaceBeforeTheColon() {
        HeaderBlock block = parse("A: 1\nB : 2\rC: 3\r\n\nbody");

        assertEquals(List.of("A=1", "B=2", "C=3"), fields(block));
        assertNull(block.problem());
    }

    @Test
    void readsRawUtf8AsUtf8AndOther8BitAsLatin1() {
        byte[] bytes = concat("X-A: Grüße\r\n".getBytes(StandardCharsets.UTF_8),
                "X-B: Grüße\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        HeaderBlock block = HeaderBlock.parse(bytes, 0, bytes.length);

        assertEquals(List.of("X-A=Grüße", "X-B=Grüße"), fields(block));
    }

    @Test
    void aLineWithoutColonEndsTheSectionAndStartsTheBody() {
        String text = "A: 1\r\nnot a header\r\nB: 2\r\n\r\nbody";
        HeaderBlock block = parse(text);

        assertEquals(List.of("A=1"), fields(block));
        assertEquals("not a header\r\nB: 2\r\n\r\nbody", bodyOf(block, text));
        assertEquals("header line without colon", block.problem());
        assertTrue(block.complete());
    }

    @Test
    void textFoldedLikeAHeaderWithoutColonIsBodyFromItsFirstLine() {
        String text = "Send submissions to\r\n\tlist@example.org\r\n\r\nTopics\r\n";
        HeaderBlock block = parse(text);

        assertEquals(List.of(), fields(block));
        assertEquals(text, bodyOf(block, text));
        assertEquals("header line without colon", block.problem());
    }

    @Test
    void withoutBlankLineTheBodyStartsAtTheFirstBadLine() {
        // A part with no header section at all, like CPython's MissingHeaderBodySeparatorDefect.
        String text = "A: 1\r\nHello world\r\nB: 2\r\n";
        HeaderBlock block = parse(text);

        assertEquals(List.of("A=1"), fields(block));
        assertEquals("Hello world\r\nB: 2\r\n", bodyOf(block, text));
    }

    @Test
    void aMalformedNameEndsTheSectionAndStartsTheBody() {
        // White space inside a name, or 8-bit bytes in it: CPython's headerRE does not match either.
        String text = "Good: y\r\nBad Name: x\r\n\r\nbody";
        HeaderBlock block = parse(text);

        assertEquals(List.of("Good=y"), fields(block));
        assertEquals("Bad Name: x\r\n\r\nbody", bodyOf(block, text));
        assertEquals("malformed header name", block.problem());

        String eightBit = "Good: y\r\nX\u00e9: 2\r\n\r\nbody";
        assertEquals("X\u00e9: 2\r\n\r\nbody", bodyOf(parse(eightBit), eightBit));
    }

    @Test
    void skipsAnEmptyNameAndALeadingContinuationAsCPythonDoes() {
        HeaderBlock noName = parse("A: 1\r\n: no name\r\nB: 2\r\n\r\nbody");
        assertEquals(List.of("A=1", "B=2"), fields(noName));
        assertEquals("header line without name", noName.problem());

        HeaderBlock leading = parse(" leading\r\nA: 1\r\n\r\nbody");
        assertEquals(List.of("A=1"), fields(leading));
        assertEquals("header section starts with a continuation line", leading.problem());
    }

    @Test
    void aMisplacedFromLineIsSkippedUnlessItIsTheLastHeaderLine() {
        HeaderBlock middle = parse("A: 1\r\nFrom x@example.org Fri\r\nB: 2\r\n\r\nbody");
        assertEquals(List.of("A=1", "B=2"), fields(middle));
        assertEquals("misplaced envelope From line", middle.problem());

        String last = "A: 1\r\nFrom x@example.org Fri\r\n\r\nbody";
        HeaderBlock lastBlock = parse(last);
        assertEquals(List.of("A=1"), fields(lastBlock));
        assertEquals("From x@example.org Fri\r\n\r\nbody", bodyOf(lastBlock, last));
    }

    @Test
    void aCutLineIsNotJudgedBeforeItEnds() {
        byte[] bytes = "A: 1\r\nNot-yet-a-head".getBytes(StandardCharsets.US_ASCII);
        HeaderBlock block = HeaderBlock.parse(bytes, 0, bytes.length, true);

        assertEquals(List.of("A=1"), fields(block));
        assertNull(block.problem());
        assertFalse(block.complete());
    }

    @Test
    void skipsAUnixFromLineSilently() {
        HeaderBlock block = parse("From alice@example.org Fri Mar  1 10:15:30 2024\r\nSubject: x\r\n\r\n");

        assertEquals(List.of("Subject=x"), fields(block));
        assertNull(block.problem());
    }

    @Test
    void sectionWithoutBlankLineRunsToTheEnd() {
        String text = "Subject: only headers\r\n";
        HeaderBlock block = parse(text);

        assertEquals(List.of("Subject=only headers"), fields(block));
        assertEquals(text.length(), block.bodyStart());
    }

    @Test
    void firstFieldOfANameWins() {
        HeaderBlock block = parse("content-type: text/html\r\nContent-Type: text/plain\r\n\r\n");

        assertEquals("text/html", block.first("Content-Type"));
        assertNull(block.first("Content-ID"));
    }

    private static HeaderBlock parse(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        return HeaderBlock.parse(bytes, 0, bytes.length);
    }

    private static String bodyOf(HeaderBlock block, String text) {
        return text.substring(block.bodyStart());
    }

    private static List<String> fields(HeaderBlock block) {
        List<String> result = new ArrayList<>();
        for (HeaderBlock.Field field : block.fields()) {
            result.add(field.name() + "=" + field.value());
        }
        return result;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] result = new byte[a.length + b.length];
        System.arraycopy(a, 0, result, 0, a.length);
        System.arraycopy(b, 0, result, a.length, b.length);
        return result;
    }
}
