package dev.arrow.kvm.diagnostics;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * How long each step of one piece of work took, measured one after the other on one thread: each
 * {@link #step} ends the step before it. Rendered as {@code "restore 1.20 ms, devices 3.40 ms (4.60 ms)"}
 * for a debug log line; not thread-safe.
 */
public final class StepTimes {
    private final LongSupplier nanoClock;
    private final long begin;
    private final List<String> names = new ArrayList<>();
    private final List<Long> nanos = new ArrayList<>();
    private long last;

    /** Starts measuring now, on {@link System#nanoTime()}. */
    public StepTimes() {
        this(System::nanoTime);
    }

    /** Starts measuring now, on {@code nanoClock} (tests). */
    public StepTimes(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        this.begin = nanoClock.getAsLong();
        this.last = begin;
    }

    /** Ends the step called {@code name}: the time since the previous step ended (or since the start). */
    public void step(String name) {
        long now = nanoClock.getAsLong();
        names.add(name);
        nanos.add(now - last);
        last = now;
    }

    /** Nanoseconds from the start to the end of the last step. */
    public long totalNanos() {
        return last - begin;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < names.size(); i++) {
            s.append(i == 0 ? "" : ", ").append(names.get(i)).append(' ').append(millis(nanos.get(i)));
        }
        return s.append(names.isEmpty() ? "" : " ").append('(').append(millis(totalNanos())).append(')').toString();
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
    }
}
