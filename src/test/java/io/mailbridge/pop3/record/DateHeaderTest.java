package io.mailbridge.pop3.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DateHeaderTest {

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', value = {
        "Fri, 01 Mar 2024 10:15:30 +0100                 | 2024-03-01T10:15:30+01:00",
        "Fri, 1 Mar 2024 10:15:30 -0800                  | 2024-03-01T10:15:30-08:00",
        "Fri,1 Mar 2024 10:15:30 +0000                   | 2024-03-01T10:15:30+00:00",
        "1 Mar 2024 10:15:30 +0530                       | 2024-03-01T10:15:30+05:30",
        "Fri, 01 Mar 2024 10:15 +0100                    | 2024-03-01T10:15:00+01:00",
        "Fri, 01 Mar 2024 10:15:30 +0100 (CET)           | 2024-03-01T10:15:30+01:00",
        "Fri, 01 Mar 2024 10:15:30 (comment (nested)) GMT | 2024-03-01T10:15:30+00:00",
        "Fri, 01 Mar 2024 10:15:30 +0100 CET             | 2024-03-01T10:15:30+01:00",
        "Fri, 01 Mar 2024 10:15:30 -0000                 | 2024-03-01T10:15:30+00:00",
        "Fri, 01 Mar 2024 10:15:30 GMT                   | 2024-03-01T10:15:30+00:00",
        "Fri, 01 Mar 2024 10:15:30 UT                    | 2024-03-01T10:15:30+00:00",
        "Fri, 01 Mar 2024 10:15:30 EST                   | 2024-03-01T10:15:30-05:00",
        "Fri, 01 Mar 2024 10:15:30 EDT                   | 2024-03-01T10:15:30-04:00",
        "Fri, 01 Mar 2024 10:15:30 PDT                   | 2024-03-01T10:15:30-07:00",
        "Fri, 01 Mar 2024 10:15:30 Z                     | 2024-03-01T10:15:30+00:00",
        "Fri, 01 Mar 2024 10:15:30                       | 2024-03-01T10:15:30+00:00",
        "Fri, 01 Mar 2024 10:15:30 +01:00                | 2024-03-01T10:15:30+01:00",
        "Fri, 01 Mar 2024 10:15:30 GMT+0100              | 2024-03-01T10:15:30+01:00",
        "01 Mar 24 10:15:30 +0100                        | 2024-03-01T10:15:30+01:00",
        "01 Mar 96 10:15:30 +0100                        | 1996-03-01T10:15:30+01:00",
        "01 Mar 49 10:15:30 +0100                        | 2049-03-01T10:15:30+01:00",
        "01 Mar 50 10:15:30 +0100                        | 1950-03-01T10:15:30+01:00",
        "01 Mar 124 10:15:30 +0100                       | 2024-03-01T10:15:30+01:00",
        "Friday, 01-Mar-24 10:15:30 GMT                  | 2024-03-01T10:15:30+00:00",
        "Fri Mar  1 10:15:30 2024                        | 2024-03-01T10:15:30+00:00",
        "Fri, 01 March 2024 10:15:30 +0100               | 2024-03-01T10:15:30+01:00",
        "fri, 01 mar 2024 10:15:30 +0100                 | 2024-03-01T10:15:30+01:00",
        "Fri, 01 Mar 2024 10.15.30 +0100                 | 2024-03-01T10:15:30+01:00",
        "Fri, 01 Mar 2024 10:15:30+0100                  | 2024-03-01T10:15:30+01:00",
        "Thu, 29 Feb 2024 23:59:60 +0100                 | 2024-02-29T23:59:59+01:00",
        "Sat, 01 Jan 0099 00:00:00 +0000                 | 0099-01-01T00:00:00+00:00",
    })
    void parsesLenientlyAndKeepsTheOffset(String header, String iso) {
        assertEquals(iso, DateHeader.toIso(header));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {
        "",
        "   ",
        "yesterday",
        "Fri, 30 Feb 2024 10:15:30 +0100",
        "Fri, 01 Foo 2024 10:15:30 +0100",
        "Fri, 01 Mar 2024 25:15:30 +0100",
        "Fri, 01 Mar 2024 10:61:30 +0100",
        "Fri, 01 Mar 2024 +0100",
        "Fri, 01 Mar 10:15:30 +0100",
        "Fri, 01 Mar 2024 10:15:30 +2500",
        "Fri, 01 Mar 2024 10:15:30 +0100 +0200",
        "2024-03-01T10:15:30+01:00",
        "01.03.2024 10:15",
    })
    void unparseableDateIsNull(String header) {
        assertNull(DateHeader.toIso(header));
    }

    @org.junit.jupiter.api.Test
    void missingDateIsNull() {
        assertNull(DateHeader.toIso(null));
    }
}
