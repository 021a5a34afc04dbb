package dev.arrow.bench;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The byte counters of a Linux {@code /proc} memory file ({@code smaps}, {@code smaps_rollup},
 * {@code meminfo}): each {@code Name:   123 kB} line as bytes under the kernel's own field name, in
 * file order. Lines of another shape (a mapping's header, {@code VmFlags}, {@code THPeligible},
 * {@code HugePages_Total}) are not counters and are left out. Which fields exist depends on the
 * kernel version ({@code SecPageTables} since 6.0, for instance): an absent field is absent here,
 * never a zero.
 *
 * @param bytes counter name to bytes; a difference ({@link #minus}) may be negative
 */
public record MemoryCounters(Map<String, Long> bytes) {
    private static final Pattern COUNTER = Pattern.compile("^([A-Za-z0-9_()]+):\\s+(-?\\d+) kB\\s*$");

    public MemoryCounters {
        bytes = Collections.unmodifiableMap(new LinkedHashMap<>(bytes));
    }

    /** No counters. */
    public static MemoryCounters none() {
        return new MemoryCounters(Map.of());
    }

    /**
     * The counters of one {@code /proc} memory file's text; a name given twice (a whole
     * {@code smaps} file) is summed.
     */
    public static MemoryCounters parse(String text) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            addLine(m, line);
        }
        return new MemoryCounters(m);
    }

    /** Adds {@code line} to {@code sums} if it is a counter line; returns whether it was one. */
    static boolean addLine(Map<String, Long> sums, String line) {
        Matcher c = COUNTER.matcher(line);
        if (!c.matches()) {
            return false;
        }
        sums.merge(c.group(1), Long.parseLong(c.group(2)) * 1024, Long::sum);
        return true;
    }

    /** The counter {@code name} in bytes, if the kernel reported it. */
    public OptionalLong get(String name) {
        Long v = bytes.get(name);
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    /** Only the counters named (those present), in the order given. */
    public MemoryCounters only(Collection<String> names) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String n : names) {
            Long v = bytes.get(n);
            if (v != null) {
                m.put(n, v);
            }
        }
        return new MemoryCounters(m);
    }

    /**
     * This minus {@code earlier}, for each counter either has; one missing on a side counts as 0 there
     * (a {@link MappingGroup} without mappings has no counters at all).
     */
    public MemoryCounters minus(MemoryCounters earlier) {
        Map<String, Long> m = new LinkedHashMap<>(bytes);
        earlier.bytes.forEach((name, e) -> m.merge(name, -e, Long::sum));
        return new MemoryCounters(m);
    }

    /** Each counter divided by {@code count} (rounded toward zero): a share per thing counted. */
    public MemoryCounters dividedBy(int count) {
        if (count <= 0) {
            throw new IllegalArgumentException("divide by a positive count, got " + count);
        }
        Map<String, Long> m = new LinkedHashMap<>();
        bytes.forEach((name, v) -> m.put(name, v / count));
        return new MemoryCounters(m);
    }
}
