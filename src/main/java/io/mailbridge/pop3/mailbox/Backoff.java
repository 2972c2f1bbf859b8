package io.mailbridge.pop3.mailbox;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential back-off with jitter, so that many tasks whose server went away do not return in lock-step.
 */
final class Backoff {

    private final long initialMs;
    private final long maxMs;
    private int failures;

    Backoff(long initialMs, long maxMs) {
        this.initialMs = initialMs;
        this.maxMs = maxMs;
    }

    /** Counts a failure and returns how long to wait before the next attempt: ±20% around initial·2^(n-1). */
    long next() {
        failures++;
        long base = initialMs;
        for (int i = 1; i < failures && base < maxMs; i++) {
            base *= 2;
        }
        base = Math.min(base, maxMs);
        double jitter = 0.8 + 0.4 * ThreadLocalRandom.current().nextDouble();
        return Math.max(1, (long) (base * jitter));
    }

    int failures() {
        return failures;
    }

    void reset() {
        failures = 0;
    }
}
