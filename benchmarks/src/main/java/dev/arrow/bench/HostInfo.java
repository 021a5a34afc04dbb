package dev.arrow.bench;

import dev.arrow.kvm.HostKvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What a set of figures was measured on: CPU, cores, memory, kernel, its clock source (the lab's
 * is its HPET since 2026-12-03, docs/lab.md), the KVM flavour (hardware, PVM, or the lab's nested
 * TCG-emulated AMD-V), Java, QEMU, date. Written next to each result file.
 *
 * <pre>  env --out FILE --where host|lab</pre>
 */
public final class HostInfo {
    private HostInfo() {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        Json.write(a.path("out"), collect(a.string("where")));
    }

    static Map<String, Object> collect(String where) throws IOException, InterruptedException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("where", where);
        m.put("date", OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        m.put("cpu", cpuModel());
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        m.put("memTotalBytes", memTotal());
        m.put("kernel", read("/proc/sys/kernel/osrelease"));
        Path clock = Path.of("/sys/devices/system/clocksource/clocksource0/current_clocksource");
        m.put("clocksource", Files.isReadable(clock) ? read(clock.toString()) : "unknown");
        HostKvm kvm = HostKvm.detect();
        m.put("kvm", kvm.name());
        m.put("kvmDescription", kvm.kind());
        m.put("kvmFlavour", flavour(where, kvm));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("qemu", qemuVersion());
        return m;
    }

    /** The flavour as RESULTS.md names it. */
    static String flavour(String where, HostKvm kvm) {
        if ("lab".equals(where)) {
            return "lab: nested KVM (kvm_amd) inside QEMU TCG emulating AMD-V";
        }
        return switch (kvm) {
            case PVM -> "PVM (kvm_pvm, no hardware virtualization)";
            default -> kvm.kind();
        };
    }

    private static String cpuModel() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("model name")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return "unknown";
    }

    private static long memTotal() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }

    private static String read(String file) throws IOException {
        return Files.readString(Path.of(file)).trim();
    }

    private static String qemuVersion() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("qemu-system-x86_64", "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(20, TimeUnit.SECONDS);
            List<String> lines = out.lines().toList();
            return lines.isEmpty() ? "unknown" : lines.get(0).trim();
        } catch (IOException e) {
            return "not installed";
        }
    }
}
