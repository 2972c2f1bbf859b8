package io.mailbridge.pop3.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;

class HeaderValuesTest {

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', value = {
        "=?UTF-8?B?R3LDvMOfZQ==?=                          | Grüße",
        "=?utf-8?b?R3LDvMOfZQ?=                            | Grüße",
        "=?ISO-8859-1?Q?Caf=E9_cr=E8me?=                   | Café crème",
        "=?iso-8859-1?q?caf=e9?=                           | café",
        "=?windows-1252?Q?=93quoted=94_=80?=               | “quoted” €",
        "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=                | 日本語",
        "=?UTF-8*en?Q?Hello?=                              | Hello",
        "Re: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Köln          | Re: Grüße aus Köln",
        "=?UTF-8?Q?a?= =?UTF-8?Q?b?=                       | ab",
        "=?UTF-8?Q?a?=   =?ISO-8859-1?Q?=E9?=              | aé",
        "=?UTF-8?Q?a?= x =?UTF-8?Q?b?=                     | a x b",
        "prefix=?UTF-8?Q?embedded?=suffix                  | prefixembeddedsuffix",
        "=?UTF-8?Q?a_b?=                                   | a b",
        "=?x-unknown?Q?abc?= tail                          | =?x-unknown?Q?abc?= tail",
        "=?UTF-8?X?abc?=                                   | =?UTF-8?X?abc?=",
        "=?UTF-8?Q?unterminated                            | =?UTF-8?Q?unterminated",
        "a =? b ?= c                                       | a =? b ?= c",
        "=?UTF-8?Q?bad=ZZhex?=                             | bad=ZZhex",
    })
    void decodesEncodedWords(String encoded, String decoded) {
        assertEquals(decoded, HeaderValues.decode(encoded));
    }

    @Test
    void joinsAMultiByteCharacterSplitAcrossWords() {
        // "ü" is C3 BC: the first word ends after C3, the second starts with BC.
        assertEquals("Grüße", HeaderValues.decode("=?UTF-8?B?R3LD?= =?UTF-8?B?vMOfZQ==?="));
        assertEquals("Grüße", HeaderValues.decode("=?UTF-8?Q?Gr=C3?=\t=?utf-8?Q?=BC=C3=9Fe?="));
    }

    @Test
    void staysFastOnHostileHeaders() {
        String manyStarts = "=?".repeat(300_000);
        String manyOpenWords = "=?a?Q?x".repeat(100_000);
        String longCharsets = ("=?" + "c".repeat(60)).repeat(10_000);
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            assertEquals(manyStarts, HeaderValues.decode(manyStarts));
            assertEquals(manyOpenWords, HeaderValues.decode(manyOpenWords));
            assertEquals(longCharsets, HeaderValues.decode(longCharsets));
        });
    }

    @Test
    void plainTextIsReturnedAsIs() {
        String plain = "Just a subject";
        assertSame(plain, HeaderValues.decode(plain));
    }
}
