package dev.arrow.bench;

import java.util.Map;
import java.util.TreeMap;

/**
 * The arithmetic of throughput figures: MiB/s, counts per MiB, CPU seconds per GiB, and the change
 * of a set of counters between two readings. NaN where a figure has no meaning (nothing moved).
 */
final class Rates {
    static final double MIB = 1 << 20;
    static final double GIB = 1 << 30;

    private Rates() {
    }

    /** {@code bytes} moved in {@code nanos}, in MiB per second. */
    static double mibPerSecond(long bytes, long nanos) {
        return nanos <= 0 || bytes <= 0 ? Double.NaN : bytes / MIB / (nanos / 1e9);
    }

    /** {@code count} events while {@code bytes} moved, per MiB. */
    static double perMib(long count, long bytes) {
        return bytes <= 0 ? Double.NaN : count / (bytes / MIB);
    }

    /** {@code cpuNanos} of CPU time spent while {@code bytes} moved, in CPU seconds per GiB. */
    static double secondsPerGib(long cpuNanos, long bytes) {
        return bytes <= 0 ? Double.NaN : cpuNanos / 1e9 / (bytes / GIB);
    }

    /** {@code after − before} for every counter of {@code after} (a counter missing before counts from 0). */
    static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> d = new TreeMap<>();
        after.forEach((name, value) -> d.put(name, value - before.getOrDefault(name, 0L)));
        return d;
    }
}
