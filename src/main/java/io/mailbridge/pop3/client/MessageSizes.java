package io.mailbridge.pop3.client;

import java.util.Arrays;

/**
 * The answer to LIST: message numbers and their sizes in octets, held in primitive arrays
 * sorted by number, so a listing of 100,000 messages costs about 1.2 MB and no boxing.
 */
public final class MessageSizes {

    private final int[] numbers;
    private final long[] sizes;

    private MessageSizes(int[] numbers, long[] sizes) {
        this.numbers = numbers;
        this.sizes = sizes;
    }

    /** Messages listed. */
    public int count() {
        return numbers.length;
    }

    /** The message number at {@code index} (0-based, ascending by number). */
    public int numberAt(int index) {
        return numbers[index];
    }

    /** The size of the message at {@code index}. */
    public long sizeAt(int index) {
        return sizes[index];
    }

    /** The size of message {@code number} in octets, or -1 if it was not listed. */
    public long size(int number) {
        int index = Arrays.binarySearch(numbers, number);
        return index < 0 ? -1 : sizes[index];
    }

    public boolean contains(int number) {
        return Arrays.binarySearch(numbers, number) >= 0;
    }

    /** Collects a listing line by line; the numbers come from the server in any order. */
    static final class Builder {
        private int[] numbers = new int[1024];
        private long[] sizes = new long[1024];
        private int count;
        private boolean sorted = true;

        int count() {
            return count;
        }

        void add(int number, long size) {
            if (count == numbers.length) {
                numbers = Arrays.copyOf(numbers, count * 2);
                sizes = Arrays.copyOf(sizes, count * 2);
            }
            if (count > 0 && number <= numbers[count - 1]) {
                sorted = false;
            }
            numbers[count] = number;
            sizes[count] = size;
            count++;
        }

        /** Returns the listing, or null when a message number occurs twice. */
        MessageSizes build() {
            int[] n = Arrays.copyOf(numbers, count);
            long[] s = Arrays.copyOf(sizes, count);
            if (!sorted) {
                sortTogether(n, s);
            }
            for (int i = 1; i < n.length; i++) {
                if (n[i] == n[i - 1]) {
                    return null;
                }
            }
            return new MessageSizes(n, s);
        }

        /** Sorts both arrays by number: packs each pair's index next to its number in one long. */
        private static void sortTogether(int[] n, long[] s) {
            long[] keyed = new long[n.length];
            for (int i = 0; i < n.length; i++) {
                keyed[i] = ((long) n[i] << 32) | i;
            }
            Arrays.sort(keyed);
            long[] sizesCopy = s.clone();
            for (int i = 0; i < keyed.length; i++) {
                n[i] = (int) (keyed[i] >>> 32);
                s[i] = sizesCopy[(int) keyed[i]];
            }
        }
    }
}
