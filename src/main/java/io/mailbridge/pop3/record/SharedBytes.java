package io.mailbridge.pop3.record;

import jakarta.mail.util.SharedByteArrayInputStream;

import java.io.InputStream;

/**
 * The message buffer as Angus sees it: every header section, multipart and body part it
 * creates is a window on the one array (no copies), and this subclass lets the mapper see
 * where a window lies, so identity-encoded content is decoded straight from the buffer and a
 * part that runs into the cut of a truncated message can be recognised.
 */
final class SharedBytes extends SharedByteArrayInputStream {

    SharedBytes(byte[] buf, int offset, int length) {
        super(buf, offset, length);
    }

    @Override
    public InputStream newStream(long start, long end) {
        if (start < 0) {
            throw new IllegalArgumentException("start < 0");
        }
        long stop = end == -1 ? count - this.start : end;
        return new SharedBytes(buf, this.start + (int) start, (int) (stop - start));
    }

    byte[] array() {
        return buf;
    }

    /** Absolute index of the next unread byte. */
    int position() {
        return pos;
    }

    /** Absolute index just past the last byte of this window. */
    int end() {
        return count;
    }
}
