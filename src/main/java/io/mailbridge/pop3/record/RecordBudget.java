package io.mailbridge.pop3.record;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * Keeps a record within what the producer sends: a record above the producer's {@code max.request.size} (1 MiB by
 * default) fails the task, or with {@code errors.tolerance=all} is dropped. The size is estimated as the JSON
 * converter writes it with its schema envelope ({@code schemas.enable=true}, the worker's default), the largest of
 * the usual converters; Avro and Protobuf records are smaller.
 *
 * <p>Over budget, the record loses, in this order, attachment content, the raw message (unless it is the only
 * trustworthy content, i.e. with a parse error), then the html and text bodies are cut, and last the headers; it
 * is then marked {@code truncated=true}, so delete mode never deletes its mail.
 */
public final class RecordBudget {

    /**
     * The JSON converter's schema envelope for {@link MessageSchema#VALUE}, measured (see RecordBudgetTest), plus
     * room for the producer's per-record overhead, the key and the Kafka headers.
     */
    static final int ENVELOPE_BYTES = 4_096;

    private final long maxBytes;

    public RecordBudget(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** A record value within the budget, and its estimated size in bytes. */
    public record Fitted(Struct value, long bytes) {
    }

    /**
     * The record value itself when it fits, else a cut copy marked {@code truncated=true}. Most mail is far below the
     * budget, which a bound from string lengths alone shows without looking at every character.
     */
    public Fitted fit(Struct value) {
        long bound = ENVELOPE_BYTES + quickBound(value);
        if (bound <= maxBytes) {
            return new Fitted(value, bound);
        }
        long size = estimate(value);
        if (size <= maxBytes) {
            return new Fitted(value, size);
        }
        Struct cut = copy(value);
        cut.put(MessageSchema.FIELD_TRUNCATED, true);
        cut.put(MessageSchema.FIELD_ATTACHMENTS, withoutContent(value.getArray(MessageSchema.FIELD_ATTACHMENTS)));
        boolean rawIsTheContent = value.getString(MessageSchema.FIELD_PARSE_ERROR) != null;
        byte[] raw = bytes(value.get(MessageSchema.FIELD_RAW));
        String text = value.getString(MessageSchema.FIELD_TEXT);
        String html = value.getString(MessageSchema.FIELD_HTML);
        cut.put(MessageSchema.FIELD_RAW, null);
        cut.put(MessageSchema.FIELD_TEXT, null);
        cut.put(MessageSchema.FIELD_HTML, null);
        long left = maxBytes - estimate(cut);
        if (left < 0) {
            cut.put(MessageSchema.FIELD_HEADERS, headersWithin(value.getArray(MessageSchema.FIELD_HEADERS), left));
            left = maxBytes - estimate(cut);
        }
        // each field put back costs its value plus the difference to "null" (4 bytes)
        if (text != null && left > 8) {
            String kept = prefixWithin(text, left - 2 + 4);
            cut.put(MessageSchema.FIELD_TEXT, kept);
            left -= json(kept) - 4;
        }
        if (html != null && left > 8) {
            String kept = prefixWithin(html, left - 2 + 4);
            cut.put(MessageSchema.FIELD_HTML, kept);
            left -= json(kept) - 4;
        }
        if (raw != null && rawIsTheContent && left > 8) {
            int n = (int) Math.min(raw.length, (left - 2 + 4) / 4 * 3);
            byte[] kept = java.util.Arrays.copyOf(raw, Math.max(0, n));
            cut.put(MessageSchema.FIELD_RAW, kept);
        }
        return new Fitted(cut, estimate(cut));
    }

    /** Upper estimate of the record's size as the JSON converter writes it, envelope included. */
    public static long estimate(Struct value) {
        return ENVELOPE_BYTES + json(value);
    }

    static long json(Object value) {
        return size(value, RecordBudget::jsonChars);
    }

    /** Like {@link #json} but from lengths only: every character counted at its worst, six octets. */
    static long quickBound(Object value) {
        return size(value, text -> 6L * text.length());
    }

    /** The JSON size of {@code value}, its strings' characters counted by {@code chars} (quotes added here). */
    private static long size(Object value, ToLongFunction<String> chars) {
        if (value == null) {
            return 4;
        }
        if (value instanceof String s) {
            return 2 + chars.applyAsLong(s);
        }
        if (value instanceof Boolean) {
            return 5;
        }
        if (value instanceof Number) {
            return 20;
        }
        if (value instanceof byte[] || value instanceof ByteBuffer) {
            long n = bytes(value).length;
            return 2 + (n + 2) / 3 * 4;
        }
        if (value instanceof Struct s) {
            long size = 2;
            for (Field f : s.schema().fields()) {
                size += f.name().length() + 4 + size(s.get(f), chars);
            }
            return size;
        }
        if (value instanceof List<?> list) {
            long size = 2;
            for (Object o : list) {
                size += size(o, chars) + 1;
            }
            return size;
        }
        if (value instanceof Map<?, ?> map) {
            long size = 2;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                size += size(e.getKey(), chars) + 2 + size(e.getValue(), chars);
            }
            return size;
        }
        return 2 + chars.applyAsLong(value.toString());
    }

    /** Octets of {@code s} in a JSON string: UTF-8, with Jackson's escapes for quotes and control characters. */
    static long jsonChars(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            n += charCost(s.charAt(i));
        }
        return n;
    }

    private static int charCost(char c) {
        if (c < 0x20) {
            return c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f' ? 2 : 6;
        }
        if (c == '"' || c == '\\') {
            return 2;
        }
        if (c < 0x80) {
            return 1;
        }
        if (Character.isSurrogate(c)) {
            return 6; // the JSON converter escapes each half of a pair beyond the BMP as six characters
        }
        if (c < 0x800) {
            return 2;
        }
        return 3;
    }

    /** The longest prefix of {@code s} whose JSON string (quotes included) fits in {@code budget} octets. */
    static String prefixWithin(String s, long budget) {
        long used = 2;
        int i = 0;
        while (i < s.length()) {
            int cost = charCost(s.charAt(i));
            int step = 1;
            if (Character.isHighSurrogate(s.charAt(i)) && i + 1 < s.length()) {
                cost += charCost(s.charAt(i + 1));
                step = 2;
            }
            if (used + cost > budget) {
                break;
            }
            used += cost;
            i += step;
        }
        return s.substring(0, i);
    }

    private static List<Object> headersWithin(List<Object> headers, long over) {
        List<Object> out = new ArrayList<>(headers);
        long excess = -over;
        while (!out.isEmpty() && excess > 0) {
            excess -= json(out.remove(out.size() - 1)) + 1;
        }
        return out;
    }

    private static List<Struct> withoutContent(List<Object> attachments) {
        List<Struct> out = new ArrayList<>(attachments.size());
        for (Object o : attachments) {
            Struct a = copy((Struct) o);
            a.put(MessageSchema.FIELD_CONTENT, null);
            out.add(a);
        }
        return out;
    }

    private static Struct copy(Struct s) {
        Schema schema = s.schema();
        Struct out = new Struct(schema);
        for (Field f : schema.fields()) {
            out.put(f, s.get(f));
        }
        return out;
    }

    private static byte[] bytes(Object value) {
        if (value == null) {
            return null;
        }
        if (value instanceof ByteBuffer b) {
            byte[] out = new byte[b.remaining()];
            b.duplicate().get(out);
            return out;
        }
        return (byte[]) value;
    }
}
