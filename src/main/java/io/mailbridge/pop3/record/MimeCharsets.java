package io.mailbridge.pop3.record;

import jakarta.mail.internet.MimeUtility;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.IllegalCharsetNameException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.UnsupportedCharsetException;

/** Charset look-up and the lenient decoding used where a charset is missing, wrong or unknown. */
final class MimeCharsets {

    private MimeCharsets() {
    }

    /** The Java charset for a MIME charset name, or null when this JVM does not know it. */
    static Charset forName(String mimeName) {
        if (mimeName == null) {
            return null;
        }
        String name = mimeName.trim();
        if (name.isEmpty()) {
            return null;
        }
        try {
            // javaCharset maps the MIME names Java spells differently (e.g. "ks_c_5601-1987").
            return Charset.forName(MimeUtility.javaCharset(name));
        } catch (IllegalCharsetNameException | UnsupportedCharsetException e) {
            return null;
        }
    }

    /**
     * Text whose charset is missing or unknown: UTF-8 when the bytes are valid UTF-8 (which
     * covers US-ASCII), else ISO-8859-1, which maps every byte and so loses nothing.
     */
    static String decodeLenient(byte[] bytes, int offset, int length) {
        if (isAscii(bytes, offset, length)) {
            return new String(bytes, offset, length, StandardCharsets.ISO_8859_1);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, offset, length))
                    .toString();
        } catch (CharacterCodingException e) {
            return new String(bytes, offset, length, StandardCharsets.ISO_8859_1);
        }
    }

    private static boolean isAscii(byte[] bytes, int offset, int length) {
        for (int i = offset, end = offset + length; i < end; i++) {
            if (bytes[i] < 0) {
                return false;
            }
        }
        return true;
    }
}
