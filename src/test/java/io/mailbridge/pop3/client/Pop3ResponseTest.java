package io.mailbridge.pop3.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Pop3ResponseTest {

    private static Pop3Response parse(String line) {
        byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
        return Pop3Response.parse(bytes, bytes.length);
    }

    @Test
    void parsesStatusCodeAndText() {
        Pop3Response ok = parse("+OK 2 320");
        assertTrue(ok.ok());
        assertNull(ok.code());
        assertEquals("2 320", ok.text());

        Pop3Response err = parse("-ERR [sys/temp] try later");
        assertFalse(err.ok());
        assertFalse(err.continuation());
        assertEquals("SYS/TEMP", err.code());
        assertEquals("[sys/temp] try later", err.text());
        assertEquals("try later", err.detail());
    }

    @Test
    void bareStatusAndContinuation() {
        assertTrue(parse("+OK").ok());
        assertTrue(parse("+ok fine").ok());
        assertEquals("", parse("-ERR").text());
        assertTrue(parse("+ ").continuation());
        assertTrue(parse("+").continuation());
        assertEquals("abc=", parse("+ abc=").text());
    }

    @Test
    void rejectsWhatIsNotAStatusLine() {
        assertNull(parse("+OKAY"));
        assertNull(parse("OK"));
        assertNull(parse(""));
        assertNull(parse("-ERROR"));
    }

    @Test
    void bracketsThatAreNotACodeStayText() {
        assertNull(parse("-ERR [not a code] text").code());
        assertNull(parse("-ERR [unclosed").code());
        assertNull(parse("-ERR text [AUTH]").code());
    }

    @Test
    void responseCodesMapToKinds() {
        assertEquals(Pop3Exception.Kind.TRANSIENT, Pop3Exception.kindFor("IN-USE", Pop3Exception.Kind.PERMANENT));
        assertEquals(Pop3Exception.Kind.TRANSIENT, Pop3Exception.kindFor("LOGIN-DELAY", Pop3Exception.Kind.PERMANENT));
        assertEquals(Pop3Exception.Kind.TRANSIENT, Pop3Exception.kindFor("SYS/TEMP", Pop3Exception.Kind.PERMANENT));
        assertEquals(Pop3Exception.Kind.AUTHENTICATION, Pop3Exception.kindFor("AUTH", Pop3Exception.Kind.PERMANENT));
        assertEquals(Pop3Exception.Kind.PERMANENT, Pop3Exception.kindFor("SYS/PERM", Pop3Exception.Kind.TRANSIENT));
        assertEquals(Pop3Exception.Kind.PROTOCOL, Pop3Exception.kindFor("SYSTEM", Pop3Exception.Kind.PROTOCOL));
        assertEquals(Pop3Exception.Kind.PROTOCOL, Pop3Exception.kindFor("AUTHX", Pop3Exception.Kind.PROTOCOL));
        assertEquals(Pop3Exception.Kind.PROTOCOL, Pop3Exception.kindFor("UTF8", Pop3Exception.Kind.PROTOCOL));
    }
}
