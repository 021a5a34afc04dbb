package dev.arrow.kvm.diagnostics;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * How long each step of one piece of work took, measured one after the other on one thread: each
 * {@link #step} ends the step before it. Rendered as {@code "restore 1.20 ms, devices 3.40 ms (4.60 ms)"}
 * for a debug log line; not thread-safe. {@link #measuredIf}{@code (false)} gives one that reads no clock at all, for
 * work whose log line is off: a clock read is cheap on hardware but costs a system call and an emulated timer read
 * where the clock source is not the TSC (the lab's HPET: a JFR profile of its clones found a sixth of the clone
 * path's samples reading the clock for these steps).
 */
public final class StepTimes {
    private static final LongSupplier NO_CLOCK = () -> 0;

    private final LongSupplier nanoClock;
    private final boolean measuring;
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
        this(nanoClock, true);
    }

    private StepTimes(LongSupplier nanoClock, boolean measuring) {
        this.nanoClock = nanoClock;
        this.measuring = measuring;
        this.begin = nanoClock.getAsLong();
        this.last = begin;
    }

    /**
     * Step times measured on {@link System#nanoTime()} when {@code on} (say, when the log line that shows them is
     * enabled); otherwise steps that read no clock and record nothing ({@link #toString()}: "not measured").
     */
    public static StepTimes measuredIf(boolean on) {
        return on ? new StepTimes() : new StepTimes(NO_CLOCK, false);
    }

    /** Ends the step called {@code name}: the time since the previous step ended (or since the start). */
    public void step(String name) {
        if (!measuring) {
            return;
        }
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
        if (!measuring) {
            return "not measured";
        }
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
