package io.mailbridge.pop3.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ResponseReaderTest {

    /** Hands out at most a few bytes per read, so every split of the terminator gets exercised. */
    private static final class Trickle extends InputStream {
        private final ByteArrayInputStream in;
        private final Random random;
        private final int maxChunk;

        Trickle(byte[] data, long seed, int maxChunk) {
            this.in = new ByteArrayInputStream(data);
            this.random = new Random(seed);
            this.maxChunk = maxChunk;
        }

        @Override
        public int read() {
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) {
            return in.read(b, off, Math.min(len, 1 + random.nextInt(maxChunk)));
        }
    }

    private static ResponseReader reader(InputStream in) {
        return new ResponseReader(in, "pop.example.com:110", "box-1", 1000);
    }

    private static ResponseReader reader(String data) {
        return reader(new ByteArrayInputStream(data.getBytes(StandardCharsets.ISO_8859_1)));
    }

    private static byte[] stuff(byte[] content, String lineEnd) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean lineStart = true;
        for (byte b : content) {
            if (lineStart && b == '.') {
                out.write('.');
            }
            out.write(b);
            lineStart = b == '\n';
        }
        out.writeBytes(("." + lineEnd).getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    @Test
    void wordAtATimeLineEndSearchAgreesWithByteByByte() {
        Random random = new Random(7);
        for (int round = 0; round < 2000; round++) {
            byte[] data = new byte[random.nextInt(100)];
            for (int i = 0; i < data.length; i++) {
                // LF, bytes one off LF, high-bit bytes and zero: the values a bit trick could confuse
                byte[] palette = {'\n', 0x0B, 0x09, (byte) 0x8A, 0, (byte) 0xFF, 'a', '.'};
                data[i] = random.nextInt(3) == 0 ? palette[random.nextInt(palette.length)] : (byte) random.nextInt(256);
            }
            int from = data.length == 0 ? 0 : random.nextInt(data.length + 1);
            int to = from + random.nextInt(data.length - from + 1);
            int expected = -1;
            for (int i = from; i < to; i++) {
                if (data[i] == '\n') {
                    expected = i;
                    break;
                }
            }
            assertEquals(expected, ResponseReader.indexOfLf(data, from, to), "round " + round);
        }
    }

    @Test
    void randomBodiesSurviveAnySplitOfTheStream() throws IOException {
        Random random = new Random(42);
        for (int round = 0; round < 300; round++) {
            String lineEnd = random.nextBoolean() ? "\r\n" : "\n";
            ByteArrayOutputStream content = new ByteArrayOutputStream();
            int lines = random.nextInt(20);
            for (int i = 0; i < lines; i++) {
                int dots = random.nextInt(4) == 0 ? 1 + random.nextInt(3) : 0;
                content.writeBytes(".".repeat(dots).getBytes(StandardCharsets.US_ASCII));
                for (int j = random.nextInt(round % 7 == 0 ? 70_000 : 80); j > 0; j--) {
                    content.write("ab.\r x".charAt(random.nextInt(6)));
                }
                content.writeBytes(lineEnd.getBytes(StandardCharsets.US_ASCII));
            }
            byte[] expected = content.toByteArray();
            ByteArrayOutputStream wire = new ByteArrayOutputStream();
            wire.writeBytes(("+OK" + lineEnd).getBytes(StandardCharsets.US_ASCII));
            wire.writeBytes(stuff(expected, lineEnd));
            wire.writeBytes(("+OK next" + lineEnd).getBytes(StandardCharsets.US_ASCII));

            ResponseReader reader = reader(new Trickle(wire.toByteArray(), round, 1 + random.nextInt(40)));
            assertTrue(reader.readStatus().ok());
            InputStream body = reader.openBody();
            ByteArrayOutputStream actual = new ByteArrayOutputStream();
            byte[] chunk = new byte[1 + random.nextInt(100)];
            int n;
            while ((n = body.read(chunk, 0, 1 + random.nextInt(chunk.length))) >= 0) {
                actual.write(chunk, 0, n);
                if (random.nextInt(10) == 0) {
                    int b = body.read();
                    if (b < 0) {
                        break;
                    }
                    actual.write(b);
                }
            }
            assertArrayEquals(expected, actual.toByteArray(), "round " + round);
            assertEquals(-1, body.read());
            reader.finishBody();
            assertEquals("next", reader.readStatus().text(), "round " + round);
        }
    }

    @Test
    void finishBodySkipsWhatTheConsumerDidNotRead() throws IOException {
        ResponseReader reader = reader("+OK\r\nline 1\r\n..line 2\r\n.\r\n+OK after\r\n");
        reader.readStatus();
        InputStream body = reader.openBody();
        assertEquals('l', body.read());
        reader.finishBody();
        assertThrows(IOException.class, body::read);
        assertEquals("after", reader.readStatus().text());
    }

    @Test
    void skipHonoursTheTerminator() throws IOException {
        ResponseReader reader = reader("+OK\r\n0123456789\r\n.\r\n+OK after\r\n");
        reader.readStatus();
        InputStream body = reader.openBody();
        assertEquals(5, body.skip(5));
        assertEquals(7, body.skip(100));
        assertEquals(-1, body.read());
        reader.finishBody();
        assertEquals("after", reader.readStatus().text());
    }

    @Test
    void availableNeverCountsBytesPastTheBody() throws IOException {
        ResponseReader reader = reader("+OK\r\nab\r\n.\r\n+OK after\r\n");
        reader.readStatus();
        InputStream body = reader.openBody();
        assertEquals(0, body.available());
        assertEquals('a', body.read());
        assertEquals(3, body.available());
        assertEquals(3, body.read(new byte[10]));
        assertEquals(0, body.available());
        assertEquals(-1, body.read());
    }

    @Test
    void emptyBody() throws IOException {
        ResponseReader reader = reader("+OK\r\n.\r\n");
        reader.readStatus();
        assertEquals(0, reader.openBody().readAllBytes().length);
    }

    @Test
    void listingLinesAreUnstuffed() throws IOException {
        ResponseReader reader = reader("..hidden\n.\n");
        assertTrue(reader.nextListingLine());
        assertEquals(".hidden", reader.lineString());
        assertFalse(reader.nextListingLine());
    }

    @Test
    void endOfStreamInsideABodyIsAnEofException() throws IOException {
        ResponseReader reader = reader("+OK\r\nabc\r\n.");
        reader.readStatus();
        InputStream body = reader.openBody();
        assertThrows(EOFException.class, body::readAllBytes);
        assertTrue(reader.broken());
    }

    @Test
    void statusLineLongerThanTheBoundIsAProtocolError() {
        ResponseReader reader = reader("+OK " + "x".repeat(ResponseReader.MAX_LINE) + "\r\n");
        Pop3Exception e = assertThrows(Pop3Exception.class, reader::readStatus);
        assertEquals(Pop3Exception.Kind.PROTOCOL, e.kind());
        assertTrue(reader.broken());
    }

    @Test
    void lineOfExactlyTheBoundIsAccepted() throws IOException {
        ResponseReader reader = reader("+OK " + "x".repeat(ResponseReader.MAX_LINE - 4) + "\r\n");
        assertTrue(reader.readStatus().ok());
    }

    /** Hands out {@code chunk} bytes per read, after waiting {@code gapMs}: a server that sends slowly but steadily. */
    private static final class Paced extends InputStream {
        private final ByteArrayInputStream in;
        private final int chunk;
        private final long gapMs;

        Paced(byte[] data, int chunk, long gapMs) {
            this.in = new ByteArrayInputStream(data);
            this.chunk = chunk;
            this.gapMs = gapMs;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                Thread.sleep(gapMs);
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            return in.read(b, off, Math.min(len, chunk));
        }
    }

    @Test
    void aReplyTrickledAByteAtATimeFailsAtItsDeadlineThoughNoSingleReadTimesOut() {
        byte[] reply = ("+OK " + "x".repeat(200) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        List<Integer> timeouts = new ArrayList<>();
        // Every read returns within 20 ms, far inside the 300 ms read timeout; the whole line would take 4 s.
        ResponseReader reader = new ResponseReader(new Paced(reply, 1, 20), "pop.example.com:110", "box-1", 300,
                timeouts::add);
        long start = System.nanoTime();
        IOException e = assertThrows(IOException.class, reader::readStatus);
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(e.getMessage().contains("sends too slowly for mailbox box-1"), e.getMessage());
        assertTrue(e.getMessage().contains("pop3.read.timeout.ms (300 ms)"), e.getMessage());
        assertTrue(tookMs >= 290 && tookMs < 2_000, "cut off at the 300 ms deadline, took " + tookMs + " ms");
        assertTrue(reader.broken());
        assertEquals(300, timeouts.get(0), "the first read may wait the whole read timeout");
        for (int t : timeouts) {
            assertTrue(t >= 1 && t <= 300, "no read may wait past the reply's deadline: " + timeouts);
        }
        assertTrue(timeouts.get(timeouts.size() - 1) < 300, "later reads wait only what is left: " + timeouts);
    }

    @Test
    void aLargeReplyEarnsOneSecondPer16KibSoASlowButSteadyLinkStillDeliversIt() throws IOException {
        byte[] content = new byte[8 * 16 * 1024];
        java.util.Arrays.fill(content, (byte) 'a');
        for (int i = 76; i < content.length; i += 78) {
            content[i] = '\r';
            content[i + 1] = '\n';
        }
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        wire.writeBytes("+OK message follows\r\n".getBytes(StandardCharsets.US_ASCII));
        wire.writeBytes(content);
        wire.writeBytes("\r\n.\r\n".getBytes(StandardCharsets.US_ASCII));
        // 16 KiB every 100 ms: 0.8 s in all, past the 300 ms read timeout, within what the bytes earn.
        ResponseReader reader = new ResponseReader(new Paced(wire.toByteArray(), 16 * 1024, 100),
                "pop.example.com:110", "box-1", 300, ms -> { });
        assertTrue(reader.readStatus().ok());
        InputStream body = reader.openBody();
        byte[] read = body.readAllBytes();
        assertEquals(content.length + 2, read.length);
        reader.finishBody();
    }
}
