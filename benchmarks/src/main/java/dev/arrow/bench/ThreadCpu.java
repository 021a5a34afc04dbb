package dev.arrow.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The CPU time of each thread of a process, from {@code /proc/<pid>/task/<tid>/stat}: where a
 * process's time went, by thread name (the JVM gives its threads' names to the kernel, cut to 15
 * characters, so the VMM's vCPU and event-loop threads, the passt connection's threads, the JIT
 * compilers and the garbage collector each show up under their own name).
 *
 * @param byThread thread id and name ({@code "4711 arrow-vcpu-0"}) to its CPU time so far
 */
record ThreadCpu(Map<String, ProcessCpu> byThread) {
    /** Thread names by CPU time, largest first (ties by name). */
    static final Comparator<Map.Entry<String, Long>> LARGEST_FIRST =
            Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey());

    /** A reading of every thread of process {@code pid} now (threads that end meanwhile are left out). */
    static ThreadCpu read(long pid, long ticksPerSecond) throws IOException {
        Map<String, ProcessCpu> m = new HashMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    m.put(task.getFileName() + " " + ProcessCpu.commandName(stat), ProcessCpu.parse(stat, ticksPerSecond));
                } catch (NoSuchFileException e) {
                    // the thread ended between the listing and the read
                }
            }
        }
        return new ThreadCpu(Map.copyOf(m));
    }

    /**
     * The CPU time each thread name used since {@code earlier}, summed over the threads of that name
     * (threads started meanwhile count from zero), largest first, at most {@code limit} names; the
     * rest summed under "others".
     */
    List<Map.Entry<String, Long>> since(ThreadCpu earlier, int limit) {
        return since(earlier, limit, UnaryOperator.identity());
    }

    /** {@link #since(ThreadCpu, int)}, summed over the thread names that {@code group} maps to the same key. */
    List<Map.Entry<String, Long>> since(ThreadCpu earlier, int limit, UnaryOperator<String> group) {
        Map<String, Long> byName = new HashMap<>();
        for (Map.Entry<String, ProcessCpu> e : byThread.entrySet()) {
            ProcessCpu before = earlier.byThread.get(e.getKey());
            long used = before == null ? e.getValue().totalNanos() : e.getValue().minus(before).totalNanos();
            if (used > 0) {
                String name = group.apply(e.getKey().substring(e.getKey().indexOf(' ') + 1));
                byName.merge(name, used, Long::sum);
            }
        }
        List<Map.Entry<String, Long>> sorted = new ArrayList<>(byName.entrySet());
        sorted.sort(LARGEST_FIRST);
        if (sorted.size() <= limit) {
            return sorted;
        }
        long others = sorted.subList(limit, sorted.size()).stream().mapToLong(Map.Entry::getValue).sum();
        List<Map.Entry<String, Long>> top = new ArrayList<>(sorted.subList(0, limit));
        top.add(Map.entry("others", others));
        return top;
    }

    /** {@link #since} as JSON: thread name to nanoseconds, in that order. */
    static Map<String, Object> toJson(List<Map.Entry<String, Long>> usage) {
        Map<String, Object> m = new LinkedHashMap<>();
        usage.forEach(e -> m.put(e.getKey(), e.getValue()));
        return m;
    }

    /** {@link #since} in one line: {@code name 1.23 s, name 0.40 s, ...}. */
    static String describe(List<Map.Entry<String, Long>> usage) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Long> e : usage) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(e.getKey()).append(' ').append(String.format(java.util.Locale.ROOT, "%.2f s", e.getValue() / 1e9));
        }
        return sb.toString();
    }
}
