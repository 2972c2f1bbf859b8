package io.mailbridge.pop3.record;

import org.eclipse.angus.mail.util.UUDecoderStream;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Content-Transfer-Encoding decoders working on the message buffer, with a "count only" mode
 * (null output) so attachment sizes are measured without buffering the content.
 *
 * <p>Base64 follows the error rules of Angus's strict decoder: characters outside the alphabet
 * (line breaks, stray junk) are skipped, but a final group of one to three characters, padding
 * after fewer than two characters, a character where more padding belongs, or padding cut off
 * at the end make the content malformed. Decoding then goes on leniently (a partial final
 * group yields the bytes it holds) and {@link #malformed()} reports it. Quoted-printable never
 * fails: a bad escape stays literal, as in Angus and CPython.
 *
 * <p>Not thread-safe: one instance per message.
 */
final class TransferDecoder {

    private static final byte[] BASE64 = new byte[256];

    static {
        Arrays.fill(BASE64, (byte) -1);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < alphabet.length(); i++) {
            BASE64[alphabet.charAt(i)] = (byte) i;
        }
    }

    private boolean malformed;

    /** Whether the last base64 or uuencode decoding met malformed input. */
    boolean malformed() {
        return malformed;
    }

    /** Most bytes base64 of that many characters can decode to. */
    static int base64Capacity(int encodedLength) {
        return encodedLength / 4 * 3 + 3;
    }

    /**
     * Decodes base64 {@code in[from..to)} into {@code out} (null: count only) and returns the
     * decoded length; {@code out} must hold {@link #base64Capacity} bytes.
     */
    int base64(byte[] in, int from, int to, byte[] out) {
        malformed = false;
        int n = 0;
        int bits = 0;
        int got = 0;       // characters in the current group of four
        int padNeeded = 0; // '=' still expected after a padded group
        for (int i = from; i < to; i++) {
            if (got == 0 && padNeeded == 0) {
                // Fast path: whole groups of four alphabet characters, until a line end or padding.
                while (i + 4 <= to) {
                    int a = BASE64[in[i] & 0xFF];
                    int b = BASE64[in[i + 1] & 0xFF];
                    int c = BASE64[in[i + 2] & 0xFF];
                    int d = BASE64[in[i + 3] & 0xFF];
                    if ((a | b | c | d) < 0) {
                        break;
                    }
                    if (out != null) {
                        int group = a << 18 | b << 12 | c << 6 | d;
                        out[n] = (byte) (group >> 16);
                        out[n + 1] = (byte) (group >> 8);
                        out[n + 2] = (byte) group;
                    }
                    n += 3;
                    i += 4;
                }
                if (i >= to) {
                    break;
                }
            }
            int c = in[i] & 0xFF;
            if (c == '=') {
                if (padNeeded > 0) {
                    padNeeded--;
                } else if (got < 2) {
                    malformed = true; // padding with too little before it: drop the group
                    got = 0;
                    bits = 0;
                } else {
                    // Two characters carry one byte, three carry two.
                    if (out != null) {
                        if (got == 2) {
                            out[n] = (byte) (bits >> 4);
                        } else {
                            out[n] = (byte) (bits >> 10);
                            out[n + 1] = (byte) (bits >> 2);
                        }
                    }
                    n += got - 1;
                    padNeeded = 3 - got;
                    got = 0;
                    bits = 0;
                }
                continue;
            }
            int v = BASE64[c];
            if (v < 0) {
                continue;
            }
            if (padNeeded > 0) {
                malformed = true; // data where padding belongs; decode it as a new group
                padNeeded = 0;
            }
            bits = bits << 6 | v;
            if (++got == 4) {
                if (out != null) {
                    out[n] = (byte) (bits >> 16);
                    out[n + 1] = (byte) (bits >> 8);
                    out[n + 2] = (byte) bits;
                }
                n += 3;
                got = 0;
                bits = 0;
            }
        }
        if (got > 0 || padNeeded > 0) {
            malformed = true;
            if (got >= 2) {
                if (out != null) {
                    if (got == 2) {
                        out[n] = (byte) (bits >> 4);
                    } else {
                        out[n] = (byte) (bits >> 10);
                        out[n + 1] = (byte) (bits >> 2);
                    }
                }
                n += got - 1;
            }
        }
        return n;
    }

    /**
     * Decodes quoted-printable {@code in[from..to)} into {@code out} (null: count only; else at
     * least {@code to - from} bytes) and returns the decoded length. Soft line breaks (also with
     * white space between '=' and the line end) vanish, white space written at a line end is
     * dropped as transport padding (an encoded {@code =20} stays), line breaks stay as written.
     */
    int quotedPrintable(byte[] in, int from, int to, byte[] out) {
        int n = 0;
        int keep = 0; // output length without the raw white space at the end of the current line
        int i = from;
        while (i < to) {
            // Ordinary bytes are copied in runs; only '=' and line ends need a closer look.
            int run = i;
            byte c = 0;
            while (i < to && (c = in[i]) != '=' && c != '\r' && c != '\n') {
                i++;
            }
            if (i > run) {
                if (out != null) {
                    System.arraycopy(in, run, out, n, i - run);
                }
                n += i - run;
                int last = i;
                while (last > run && (in[last - 1] == ' ' || in[last - 1] == '\t')) {
                    last--;
                }
                if (last > run) {
                    keep = n - (i - last);
                }
            }
            if (i == to) {
                n = keep;
                break;
            }
            if (c != '=') {
                n = keep;
                int next = HeaderBlock.nextLine(in, i, to);
                if (out != null) {
                    System.arraycopy(in, i, out, n, next - i);
                }
                n += next - i;
                keep = n;
                i = next;
                continue;
            }
            int hi = i + 2 < to ? hexValue(in[i + 1]) : -1;
            int lo = hi >= 0 ? hexValue(in[i + 2]) : -1;
            if (lo >= 0) {
                if (out != null) {
                    out[n] = (byte) (hi << 4 | lo);
                }
                keep = ++n;
                i += 3;
                continue;
            }
            int j = i + 1;
            while (j < to && (in[j] == ' ' || in[j] == '\t')) {
                j++;
            }
            keep = n; // white space before a soft break is content
            if (j == to) {
                break; // '=' at the very end: a soft break with nothing after it
            }
            if (in[j] == '\r' || in[j] == '\n') {
                i = HeaderBlock.nextLine(in, j, to);
                continue;
            }
            if (out != null) {
                out[n] = '='; // not an escape: the '=' stays
            }
            keep = ++n;
            i++;
        }
        return n;
    }

    /** Decodes uuencoded content (rare, so Angus's stream decoder does it); sets {@link #malformed()}. */
    byte[] uudecode(byte[] in, int from, int to) {
        try {
            malformed = false;
            return readAll(new UUDecoderStream(new ByteArrayInputStream(in, from, to - from), false, false));
        } catch (IOException e) {
            malformed = true;
        }
        try {
            return readAll(new UUDecoderStream(new ByteArrayInputStream(in, from, to - from), true, true));
        } catch (IOException e) {
            return Arrays.copyOfRange(in, from, to);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        try (in) {
            return in.readAllBytes();
        }
    }

    private static int hexValue(byte c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    }
}
