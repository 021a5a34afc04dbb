package dev.arrow.bench;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * When the bytes of a guest's output stream arrive on the host, for throughput figures. The stream
 * starts with a preamble that ends with the line {@value #READY_LINE} (the guest is set up and
 * waits for the host's go); the bytes after it are counted, with the host times of the first and
 * the last arrival, until {@code target} bytes are in. Fed from any one thread (a reader, or the
 * VMM's vCPU thread for the serial port); read from others.
 */
final class ArrivalLog {
    static final String READY_LINE = "ready\n";
    /** The preamble kept for error messages (a kernel message, say) is capped at this. */
    private static final int MAX_PREAMBLE = 4096;

    /**
     * What arrived so far.
     *
     * @param bytes             bytes counted after the preamble
     * @param firstNanos        host time of the first counted arrival (0 if none)
     * @param lastNanos         host time of the latest counted arrival (0 if none)
     * @param firstArrivalBytes how many counted bytes came with the first arrival
     */
    record Arrivals(long bytes, long firstNanos, long lastNanos, long firstArrivalBytes) {
        /** From the first to the last arrival. */
        long firstToLastNanos() {
            return lastNanos - firstNanos;
        }

        /**
         * MiB per second from the first arrival to the last: the bytes of the first arrival came at
         * its start, so they are not part of the interval.
         */
        double mibPerSecond() {
            return Rates.mibPerSecond(bytes - firstArrivalBytes, firstToLastNanos());
        }
    }

    private final long target;
    private final LongSupplier clock;
    private final StringBuilder preamble = new StringBuilder();
    private final CountDownLatch ready = new CountDownLatch(1);
    private final CountDownLatch complete = new CountDownLatch(1);
    /** How many characters of {@link #READY_LINE} the preamble ends with. */
    private int matched;
    private boolean counting;
    private long bytes;
    private long firstNanos;
    private long lastNanos;
    private long firstArrivalBytes;

    /**
     * @param target how many bytes after the preamble make the transfer complete
     * @param clock  host time in ns ({@code System::nanoTime})
     */
    ArrivalLog(long target, LongSupplier clock) {
        if (target <= 0) {
            throw new IllegalArgumentException("target must be positive, got " + target);
        }
        this.target = target;
        this.clock = clock;
    }

    /** {@code len} bytes of the stream arrived. */
    synchronized void accept(byte[] b, int off, int len) {
        int i = off;
        int end = off + len;
        while (!counting && i < end) {
            char c = (char) (b[i++] & 0xff);
            if (preamble.length() < MAX_PREAMBLE) {
                preamble.append(c);
            }
            // READY_LINE has no proper prefix that is also its suffix: a mismatch restarts the match
            matched = c == READY_LINE.charAt(matched) ? matched + 1 : c == READY_LINE.charAt(0) ? 1 : 0;
            if (matched == READY_LINE.length()) {
                counting = true;
                ready.countDown();
            }
        }
        int counted = end - i;
        if (counted <= 0) {
            return;
        }
        long now = clock.getAsLong();
        if (bytes == 0) {
            firstNanos = now;
            firstArrivalBytes = counted;
        }
        lastNanos = now;
        bytes += counted;
        if (bytes >= target) {
            complete.countDown();
        }
    }

    /** Waits for the ready line; false if it did not come in time. */
    boolean awaitReady(Duration timeout) throws InterruptedException {
        return ready.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Waits until {@code target} bytes are in; false if they were not in time. */
    boolean awaitComplete(Duration timeout) throws InterruptedException {
        return complete.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    synchronized Arrivals arrivals() {
        return new Arrivals(bytes, firstNanos, lastNanos, firstArrivalBytes);
    }

    /** What came before the counted bytes (ISO-8859-1), for error messages. */
    synchronized String preamble() {
        return preamble.toString();
    }
}
