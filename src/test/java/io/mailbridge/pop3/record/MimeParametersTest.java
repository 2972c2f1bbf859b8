package io.mailbridge.pop3.record;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MimeParametersTest {

    @ParameterizedTest(name = "[{index}] {0} {1}")
    @CsvSource(delimiter = '|', nullValues = "NULL", value = {
        "text/plain; charset=UTF-8                                   | charset  | UTF-8",
        "text/plain; CHARSET=\"utf-8\"; format=flowed                | charset  | utf-8",
        "text/plain;charset=us-ascii (Plain text)                    | charset  | us-ascii",
        "text/plain; format=flowed                                   | charset  | NULL",
        "text/plain                                                  | charset  | NULL",
        "multipart/mixed; boundary=\"a;b \\\"c\\\"\"; x=1              | boundary | a;b \"c\"",
        "multipart/mixed; boundary=\"a;b\"; x=1                      | x        | 1",
        "application/pdf; name=\"report.pdf\"                        | name     | report.pdf",
        "application/pdf; filename=\"report.pdf\"                    | name     | NULL",
        "attachment; filename=my report.pdf                          | filename | my report.pdf",
        "attachment; filename*=UTF-8''%E2%82%AC%20Rechnung.pdf       | filename | € Rechnung.pdf",
        "attachment; filename*0*=UTF-8''%E2%82%AC; filename*1=x.pdf  | filename | €x.pdf",
        "attachment; filename*=iso-8859-1'de'caf%E9.txt              | filename | café.txt",
    })
    void readsParameters(String header, String name, String value) {
        assertEquals(value, MimeParameters.get(header, name));
    }
}
