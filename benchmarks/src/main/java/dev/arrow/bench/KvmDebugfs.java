package dev.arrow.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * KVM's own statistics of one VM, from debugfs ({@code /sys/kernel/debug/kvm/<tid>-<vm fd>/}):
 * the same counters for any VMM, so Arrow and QEMU are compared on KVM's account ({@code exits}
 * counts every exit, also those KVM handles itself; {@code io_exits}, {@code mmio_exits} the ones
 * that reached user space). The files vanish when the VM is destroyed: read them before.
 */
public final class KvmDebugfs {
    public static final Path ROOT = Path.of("/sys/kernel/debug/kvm");

    private KvmDebugfs() {
    }

    public static boolean available() {
        return Files.isDirectory(ROOT);
    }

    /**
     * The directory of the one VM process {@code pid} has; empty if it has none or several. KVM
     * names it after the thread that created the VM ({@code <tid>-<fd>}), which for a JVM is not
     * the process id: a directory belongs to {@code pid} when that thread is one of its tasks.
     */
    public static Optional<Path> vmDirectory(long pid) throws IOException {
        if (!available()) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(ROOT)) {
            List<Path> dirs = s.filter(Files::isDirectory).filter(p -> {
                String name = p.getFileName().toString();
                int dash = name.indexOf('-');
                return dash > 0 && Files.isDirectory(Path.of("/proc", String.valueOf(pid), "task", name.substring(0, dash)));
            }).toList();
            return dirs.size() == 1 ? Optional.of(dirs.get(0)) : Optional.empty();
        }
    }

    /** Every counter file of {@code vmDir} (VM-wide and summed over the vCPUs), by name. */
    public static Map<String, Long> read(Path vmDir) throws IOException {
        Map<String, Long> stats = new TreeMap<>();
        try (Stream<Path> s = Files.list(vmDir)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                try {
                    String text = Files.readString(f).trim();
                    stats.put(f.getFileName().toString(), Long.parseLong(text));
                } catch (IOException | NumberFormatException e) {
                    // not a plain counter (or not readable): skip
                }
            }
        }
        return stats;
    }

    /**
     * KVM's counters summed over every VM of this host ({@code /sys/kernel/debug/kvm/<counter>}), by name;
     * empty without debugfs. The difference of two readings is what every VM did in between.
     */
    public static Map<String, Long> readAll() throws IOException {
        return available() ? read(ROOT) : Map.of();
    }

    /** {@code after} less {@code before}, counter by counter (those in both). */
    public static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> d = new TreeMap<>();
        after.forEach((name, value) -> {
            Long was = before.get(name);
            if (was != null) {
                d.put(name, value - was);
            }
        });
        return d;
    }

    /** The counters of {@code pid}'s only VM, or empty when debugfs or the VM is not there. */
    public static Map<String, Long> readFor(long pid) throws IOException {
        Optional<Path> dir = vmDirectory(pid);
        return dir.isPresent() ? read(dir.get()) : Map.of();
    }
}
