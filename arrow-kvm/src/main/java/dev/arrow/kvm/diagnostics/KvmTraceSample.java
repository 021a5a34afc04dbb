package dev.arrow.kvm.diagnostics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What the host kernel's KVM does with one vCPU thread for a short while, from its trace events
 * ({@code tracefs: events/kvm}): how often it entered the guest, why the guest exited and at
 * which guest rip. For a vCPU that stays inside {@code KVM_RUN} through kicks, this tells a guest
 * that exits again and again (and so where KVM should have seen the kick) from one that never
 * leaves the guest.
 *
 * <p>Tracing is global to the machine, so this runs only when asked for with the system property
 * {@value #PROPERTY}{@code =true} (the lab's boot tests set it) and only as root with tracefs
 * mounted; otherwise {@link #sample} says why it did not.
 */
public final class KvmTraceSample {
    public static final String PROPERTY = "arrow.diagnostics.kvmTrace";
    private static final Path TRACEFS = Path.of("/sys/kernel/tracing");
    private static final Pattern EVENT = Pattern.compile("\\s(kvm_[a-z_]+):\\s(.*)$");
    private static final Pattern EXIT = Pattern.compile("reason (\\S+) rip (0x[0-9a-f]+)");
    private static final int RAW_LINES = 8;

    private KvmTraceSample() {
    }

    /** True when {@link #sample} would trace (asked for, and tracefs is there and writable). */
    public static boolean enabled() {
        return Boolean.getBoolean(PROPERTY) && Files.isWritable(TRACEFS.resolve("events/kvm/enable"));
    }

    /**
     * Traces KVM's events for thread {@code tid} during {@code window} and summarises them, e.g.
     * {@code kvm trace 200 ms: kvm_entry 3100, kvm_exit 3100; exits: npf 3000 (0xffffffff81001234 x2900 ...)}.
     * One sample at a time in this JVM: the trace buffer and its pid filter are the machine's.
     */
    public static synchronized String sample(int tid, Duration window) throws InterruptedException {
        if (!enabled()) {
            return "kvm trace not taken (set -D" + PROPERTY + "=true, as root with tracefs at " + TRACEFS + ")";
        }
        try {
            write("events/kvm/enable", "0");
            write("trace", "");
            write("set_event_pid", Integer.toString(tid));
            write("events/kvm/enable", "1");
            try {
                Thread.sleep(window.toMillis());
            } finally {
                write("events/kvm/enable", "0");
                write("set_event_pid", "");
            }
            List<String> lines = Files.readAllLines(TRACEFS.resolve("trace"), StandardCharsets.UTF_8);
            return summarise(lines, window);
        } catch (IOException e) {
            return "kvm trace failed: " + e;
        }
    }

    /** The event counts, the exit reasons with their most frequent rips, and the last few raw lines. */
    public static String summarise(List<String> lines, Duration window) {
        Map<String, Integer> events = new TreeMap<>();
        Map<String, Map<String, Integer>> exits = new TreeMap<>();
        List<String> raw = lines.stream().filter(l -> !l.startsWith("#")).toList();
        for (String line : raw) {
            Matcher m = EVENT.matcher(line);
            if (!m.find()) {
                continue;
            }
            events.merge(m.group(1), 1, Integer::sum);
            if (m.group(1).equals("kvm_exit")) {
                Matcher e = EXIT.matcher(m.group(2));
                if (e.find()) {
                    exits.computeIfAbsent(e.group(1), k -> new LinkedHashMap<>()).merge(e.group(2), 1, Integer::sum);
                }
            }
        }
        StringBuilder b = new StringBuilder("kvm trace ").append(window.toMillis()).append(" ms: ");
        if (events.isEmpty()) {
            return b.append("no KVM events at all (the thread neither entered nor left the guest)").toString();
        }
        b.append(events.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")));
        if (!exits.isEmpty()) {
            b.append("; exits: ").append(exits.entrySet().stream().map(e -> {
                int total = e.getValue().values().stream().mapToInt(Integer::intValue).sum();
                String rips = e.getValue().entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                        .limit(3).map(r -> r.getKey() + " x" + r.getValue()).collect(Collectors.joining(" "));
                return e.getKey() + " " + total + " (" + rips + ")";
            }).collect(Collectors.joining(", ")));
        }
        b.append("; last events:");
        raw.subList(Math.max(0, raw.size() - RAW_LINES), raw.size()).forEach(l -> b.append("\n      ").append(l.strip()));
        return b.toString();
    }

    private static void write(String file, String value) throws IOException {
        Files.writeString(TRACEFS.resolve(file), value + "\n", StandardCharsets.US_ASCII);
    }
}
