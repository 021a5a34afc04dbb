package dev.arrow.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * This process's CPU time over a window in which it sits idle (all its threads, user + system, from
 * {@code /proc/self/stat}): what arrows that wait on stdin cost the host's CPU. The kernel counts
 * the time in clock ticks (10 ms at 100 per second), so a 10 s window resolves 0.1% of a core.
 *
 * @param windowNanos the wall time between the two readings
 * @param used        the CPU time used between them
 */
record IdleCpu(long windowNanos, ProcessCpu used) {
    /** Reads this process's CPU time, sleeps {@code window}, reads it again. */
    static IdleCpu measure(Duration window, long ticksPerSecond) throws IOException, InterruptedException {
        long pid = ProcessHandle.current().pid();
        ProcessCpu before = ProcessCpu.read(pid, ticksPerSecond);
        long t0 = System.nanoTime();
        Thread.sleep(window.toMillis());
        ProcessCpu after = ProcessCpu.read(pid, ticksPerSecond);
        return new IdleCpu(System.nanoTime() - t0, after.minus(before));
    }

    /** User plus system time over the window, in % of one core. */
    double percentOfCore() {
        return percentOfCore(used.totalNanos(), windowNanos);
    }

    /** {@code cpuNanos} used over {@code windowNanos} of wall time, in % of one core. */
    static double percentOfCore(double cpuNanos, double windowNanos) {
        return 100 * cpuNanos / windowNanos;
    }

    /** As JSON: {@code {"windowNanos":..,"userNanos":..,"systemNanos":..,"guestNanos":..}}. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("windowNanos", windowNanos);
        m.putAll(used.toJson());
        return m;
    }
}
