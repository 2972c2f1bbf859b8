package io.mailbridge.pop3.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;

class TransferDecoderTest {

    private final TransferDecoder decoder = new TransferDecoder();

    @Test
    void decodesBase64LikeTheJdkForAnyLengthAndLineBreaks() {
        Random random = new Random(7);
        for (int length = 0; length < 200; length++) {
            byte[] data = new byte[length];
            random.nextBytes(data);
            byte[] encoded = Base64.getMimeEncoder(76, "\r\n".getBytes(StandardCharsets.US_ASCII)).encode(data);
            byte[] out = new byte[TransferDecoder.base64Capacity(encoded.length)];

            int n = decoder.base64(encoded, 0, encoded.length, out);

            assertFalse(decoder.malformed(), "length " + length);
            assertEquals(length, n);
            assertEquals(Base64.getEncoder().encodeToString(data),
                    Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(out, n)));
            assertEquals(length, decoder.base64(encoded, 0, encoded.length, null), "count only");
        }
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', value = {
        "SGVsbG8=            | Hello    | false",
        "SGVs bG8*=          | Hello    | false",
        "SGVsbG8=SGk=        | HelloHi  | false",
        "SGVsbG8             | Hello    | true",
        "SGVsbA              | Hell     | true",
        "SGVsbA=             | Hell     | true",
        "SGVsbG8=X           | Hello    | true",
        "SGVsbA=X=           | Hell     | true",
        "S===                | ''       | true",
        "=SGVs               | Hel      | true",
    })
    void base64ErrorsFollowAngusStrictRules(String encoded, String decoded, boolean malformed) {
        byte[] in = encoded.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[TransferDecoder.base64Capacity(in.length)];

        int n = decoder.base64(in, 0, in.length, out);

        assertEquals(decoded, new String(out, 0, n, StandardCharsets.ISO_8859_1).replace("\0", ""));
        assertEquals(malformed, decoder.malformed());
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', value = {
        "caf=C3=A9                     | café",
        "caf=c3=a9                     | café",
        "soft=\\r\\nbreak                | softbreak",
        "soft=  \\r\\nbreak              | softbreak",
        "soft=\\nbreak                  | softbreak",
        "trailing   \\r\\nspace          | trailing\\r\\nspace",
        "inner   space                 | inner   space",
        "bad=ZZescape                  | bad=ZZescape",
        "equals at end=                | equals at end",
        "cut=4                         | cut=4",
        "encoded space=20\\r\\nnext      | encoded space \\r\\nnext",
        "before soft  =\\r\\nbreak        | before soft  break",
        "lf only \\t \\nnext              | lf only\\nnext",
        "a=\\r\\n=\\r\\nb                  | ab",
    })
    void decodesQuotedPrintableLeniently(String encoded, String decoded) {
        byte[] in = encoded.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t").getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = new byte[in.length];

        int n = decoder.quotedPrintable(in, 0, in.length, out);

        String expected = decoded.replace("\\r", "\r").replace("\\n", "\n");
        assertEquals(expected, new String(out, 0, n, StandardCharsets.UTF_8));
        assertEquals(n, decoder.quotedPrintable(in, 0, in.length, null), "count only");
    }

    @Test
    void decodesUuencode() {
        byte[] in = "begin 644 hi.txt\r\n%:&5L;&\\`\r\n`\r\nend\r\n".getBytes(StandardCharsets.US_ASCII);

        byte[] out = decoder.uudecode(in, 0, in.length);

        assertFalse(decoder.malformed());
        assertEquals("hello", new String(out, StandardCharsets.US_ASCII));
    }

    @Test
    void malformedUuencodeIsReported() {
        byte[] in = "no begin line here\r\n".getBytes(StandardCharsets.US_ASCII);

        decoder.uudecode(in, 0, in.length);

        assertTrue(decoder.malformed());
    }
}
