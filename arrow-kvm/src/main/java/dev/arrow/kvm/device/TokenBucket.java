package dev.arrow.kvm.device;

import java.util.function.LongSupplier;

/**
 * A token bucket: holds up to {@code burst} tokens, gains {@code ratePerSecond} of them per second
 * of its clock, and starts full. Whatever a guest can make the host do without bound (log lines,
 * random bytes) takes tokens first; what finds the bucket empty is dropped or postponed by the
 * caller. The clock is a nanosecond counter, {@link System#nanoTime()} unless a test gives its own.
 * Whole tokens only; time that has not yet made a whole token is kept for the next one.
 *
 * <p>Not thread-safe: its owner calls it under its own lock.
 */
public final class TokenBucket {
    /** Largest rate and burst: keeps every product below 2^63. */
    public static final long MAX = 1L << 32;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final long rate;
    private final long burst;
    private final LongSupplier clock;
    private long tokens;
    /** The clock reading that the current token count corresponds to. */
    private long filledAt;

    /** A full bucket on {@link System#nanoTime()}. */
    public TokenBucket(long ratePerSecond, long burst) {
        this(ratePerSecond, burst, System::nanoTime);
    }

    /**
     * A full bucket on {@code nanoClock}.
     *
     * @throws IllegalArgumentException unless {@code 1 <= ratePerSecond, burst <= MAX}
     */
    public TokenBucket(long ratePerSecond, long burst, LongSupplier nanoClock) {
        if (ratePerSecond < 1 || ratePerSecond > MAX || burst < 1 || burst > MAX) {
            throw new IllegalArgumentException("token bucket rate and burst must be between 1 and " + MAX
                    + ", got rate " + ratePerSecond + " and burst " + burst);
        }
        if (nanoClock == null) {
            throw new IllegalArgumentException("no clock");
        }
        this.rate = ratePerSecond;
        this.burst = burst;
        this.clock = nanoClock;
        this.tokens = burst;
        this.filledAt = nanoClock.getAsLong();
    }

    public long ratePerSecond() {
        return rate;
    }

    public long burst() {
        return burst;
    }

    /** Tokens in the bucket now. */
    public long available() {
        refill();
        return tokens;
    }

    /** Takes {@code n} tokens if the bucket holds that many now; else takes none. */
    public boolean tryTake(long n) {
        requireCount(n);
        refill();
        if (tokens < n) {
            return false;
        }
        tokens -= n;
        return true;
    }

    /** Takes as many of {@code n} tokens as the bucket holds now (possibly 0) and returns how many. */
    public long takeUpTo(long n) {
        requireCount(n);
        refill();
        long taken = Math.min(n, tokens);
        tokens -= taken;
        return taken;
    }

    /**
     * Nanoseconds until the bucket holds {@code n} tokens (0 if it does now), counting nothing
     * taken meanwhile. {@code n} is capped at the burst: more never fit.
     */
    public long nanosUntil(long n) {
        requireCount(n);
        refill();
        long missing = Math.min(n, burst) - tokens;
        if (missing <= 0) {
            return 0;
        }
        // time already spent towards the next token counts
        long spent = clock.getAsLong() - filledAt;
        return Math.max(1, ceilDiv(missing * NANOS_PER_SECOND, rate) - spent);
    }

    private static void requireCount(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("negative token count " + n);
        }
    }

    private void refill() {
        long now = clock.getAsLong();
        long elapsed = now - filledAt;
        if (elapsed <= 0) {
            return; // a clock that stands still (or a test's that went back) adds nothing
        }
        long missing = burst - tokens;
        if (missing <= 0 || elapsed >= ceilDiv(missing * NANOS_PER_SECOND, rate)) {
            tokens = burst;
            filledAt = now;
            return;
        }
        // here elapsed < missing * 1e9 / rate + 1, so elapsed * rate < 2^63
        long gained = elapsed * rate / NANOS_PER_SECOND;
        if (gained > 0) {
            tokens += gained;
            filledAt += gained * NANOS_PER_SECOND / rate; // keep the remainder for the next token
        }
    }

    private static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }

    @Override
    public String toString() {
        return "token bucket " + rate + "/s, burst " + burst + ", holding " + tokens;
    }
}
