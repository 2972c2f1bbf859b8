package io.mailbridge.pop3.mailbox;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MessageBufferTest {

    @Test
    void keepsWholeMessageWithinLimit() throws Exception {
        MessageBuffer buffer = new MessageBuffer();
        byte[] mail = "Subject: x\r\n\r\nbody\r\n".getBytes();
        buffer.read(new ByteArrayInputStream(mail), 1024, mail.length, Long.MAX_VALUE);
        assertEquals(mail.length, buffer.length());
        assertEquals(mail.length, buffer.size());
        assertFalse(buffer.cut());
        assertEquals("Subject: x\r\n\r\n".length(), buffer.headerLength());
    }

    @Test
    void countsButDoesNotKeepBytesBeyondLimit() throws Exception {
        MessageBuffer buffer = new MessageBuffer();
        buffer.read(new ByteArrayInputStream(new byte[300_000]), 100_000, 0, Long.MAX_VALUE);
        assertEquals(100_000, buffer.length());
        assertEquals(300_000, buffer.size());
        assertTrue(buffer.cut());
        assertTrue(buffer.bytes().length <= 100_000 + 64 * 1024, "kept no more than the limit");
    }

    @Test
    void givesUpOnRunawayMessage() {
        MessageBuffer buffer = new MessageBuffer();
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                return 'x';
            }

            @Override
            public int read(byte[] b, int off, int len) {
                return len;
            }
        };
        assertThrows(MessageBuffer.RunawayMessageException.class,
                () -> buffer.read(endless, 1024, 0, 10_000_000));
    }
}
