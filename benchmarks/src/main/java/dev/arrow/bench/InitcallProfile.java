package dev.arrow.bench;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.SizeUnit;
import dev.arrow.image.GuestImage;
import dev.arrow.image.init.Stdio;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.kvm.vmm.VmOutcome;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the guest kernel's boot goes, initcall by initcall (issue 21, item 6): boots the hello image through
 * Arrow's VmBuilder with the devices {@code Arrow.start()} gives it, with {@code initcall_debug} and every kernel
 * message on the serial console, and reads the kernel's own account of each initcall ("initcall F returned R after
 * N usecs": the time inside F, the printing outside it) and the log's timestamps of the boot's milestones. Run it
 * where KVM boots Linux (the lab). The printing slows the boot as a whole (each byte is a port write); the
 * initcalls' own durations are what it is for. Without {@code CONFIG_KALLSYMS} the kernel names an initcall by its
 * address; {@code --nm FILE} (the output of {@code nm -n vmlinux}) turns addresses into names.
 *
 * <p>With {@code --compare KERNEL} it also boots the same image quietly (the usual command line) with Arrow's
 * kernel and with {@code KERNEL} in turn, {@code --quiet-boots} times each, and reports the guest's uptime when
 * init started (init's mark {@code init-start}): the before and after of a kernel trim, side by side.
 *
 * <pre>  initcalls --out FILE [--boots N] [--nm FILE] [--top K] [--compare KERNEL [--quiet-boots N]]</pre>
 */
public final class InitcallProfile {
    private static final Pattern RETURNED = Pattern.compile(
            "\\[\\s*(\\d+\\.\\d+)\\] initcall (\\S+) returned (-?\\d+) after (\\d+) usecs");
    private static final Pattern STAMPED = Pattern.compile("\\[\\s*(\\d+\\.\\d+)\\] (.*)");
    /** Log lines that mark the boot's stages, by the start of their text. */
    private static final Pattern INIT_START = Pattern.compile("arrow-mark init-start (\\d+)");
    private static final List<String> MILESTONES = List.of("Linux version", "Memory:", "rcu: ", "clocksource: Switched",
            "virtio", "Freeing unused kernel", "Run /init");

    private InitcallProfile() {
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        Path out = a.path("out");
        int boots = a.integer("boots", 3);
        int top = a.integer("top", 25);
        String nm = a.string("nm", "");
        NavigableMap<Long, String> symbols = nm.isEmpty() ? new TreeMap<>() : readNm(Path.of(nm));

        Path kernel = KernelLocator.fromEnvironment().locate().path();
        ArrowSpec spec = ArrowSpec.builder(NativePrograms.require("hello")).args("from", "Arrow")
                .memory(PeerComparison.MEMORY_MIB, SizeUnit.MiB).build();
        GuestImage image = GuestImage.assemble(spec, kernel, Stdio.VIRTIO);
        List<String> parameters = new ArrayList<>();
        for (String p : image.kernelParameters().entries()) {
            if (!p.equals("quiet") && !p.startsWith("loglevel=")) {
                parameters.add(p);
            }
        }
        parameters.addAll(List.of("loglevel=8", "initcall_debug"));

        List<Map<String, Object>> runs = new ArrayList<>();
        Map<String, List<Long>> usecsByInitcall = new LinkedHashMap<>();
        for (int i = 0; i < boots; i++) {
            String log = boot(image, parameters);
            Map<String, Object> run = new LinkedHashMap<>();
            List<Map<String, Object>> calls = new ArrayList<>();
            long total = 0;
            Matcher m = RETURNED.matcher(log);
            while (m.find()) {
                String name = symbolic(m.group(2), symbols);
                long usecs = Long.parseLong(m.group(4));
                total += usecs;
                usecsByInitcall.computeIfAbsent(name, k -> new ArrayList<>()).add(usecs);
                calls.add(Map.of("initcall", name, "at", Double.parseDouble(m.group(1)), "usecs", usecs,
                        "returned", Integer.parseInt(m.group(3))));
            }
            run.put("initcalls", calls);
            run.put("initcallUsecsTotal", total);
            run.put("milestones", milestones(log));
            run.put("log", log);
            runs.add(run);
            System.err.printf("[initcalls] boot %d: %d initcalls, %.1f ms inside them, milestones %s%n", i, calls.size(),
                    total / 1e3, run.get("milestones"));
        }

        List<Map.Entry<String, Double>> medians = new ArrayList<>();
        usecsByInitcall.forEach((name, values) -> medians.add(Map.entry(name, Stats.median(values))));
        medians.sort(Map.Entry.<String, Double>comparingByValue(Comparator.reverseOrder()));
        System.out.println("| initcall | median µs |");
        System.out.println("|---|---|");
        medians.stream().limit(top).forEach(e -> System.out.println("| " + e.getKey() + " | " + Fmt.number(e.getValue(), 0) + " |"));

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("kernel", kernel.toString());
        result.put("commandLine", String.join(" ", parameters));
        result.put("medianUsecsByInitcall", medians.stream().collect(LinkedHashMap::new,
                (map, e) -> map.put(e.getKey(), e.getValue()), Map::putAll));
        result.put("runs", runs);
        String compare = a.string("compare", "");
        if (!compare.isEmpty()) {
            result.put("quietUptimeAtInit", compareQuietly(spec, kernel, Path.of(compare), a.integer("quiet-boots", 8)));
        }
        Json.write(out, result);
    }

    /**
     * Quiet boots of {@code spec} with {@code kernel} and {@code other} in turn, {@code boots} each: the guest's
     * uptime at init's start (ms) per kernel, with their medians.
     */
    private static Map<String, Object> compareQuietly(ArrowSpec spec, Path kernel, Path other, int boots)
            throws IOException, InterruptedException {
        Map<Path, List<Double>> uptimes = new LinkedHashMap<>();
        Map<Path, GuestImage> images = new LinkedHashMap<>();
        for (Path k : List.of(kernel, other)) {
            images.put(k, GuestImage.assemble(spec, k, Stdio.VIRTIO));
            uptimes.put(k, new ArrayList<>());
        }
        for (int i = 0; i < 2 * boots + 2; i++) {
            Path k = i % 2 == 0 ? kernel : other;
            GuestImage image = images.get(k);
            List<String> status = new java.util.concurrent.CopyOnWriteArrayList<>();
            boot(image, image.kernelParameters().entries(), new ByteArrayOutputStream(), status::add);
            double uptimeMs = status.stream().map(INIT_START::matcher).filter(Matcher::find).findFirst()
                    .map(m -> Long.parseLong(m.group(1)) / 1e6)
                    .orElseThrow(() -> new IllegalStateException("no init-start mark from " + k));
            if (i >= 2) { // the first boot of each kernel warms up
                uptimes.get(k).add(uptimeMs);
            }
            System.err.printf("[initcalls] quiet boot %d, %s: init started at %.1f ms of guest uptime%n", i, k, uptimeMs);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        for (Map.Entry<Path, List<Double>> e : uptimes.entrySet()) {
            result.put(e.getKey().toString(), Map.of("uptimeAtInitMs", e.getValue(), "median", Stats.median(e.getValue())));
            System.out.printf("quiet boots, %s: uptime at init median %.1f ms over %d%n", e.getKey(),
                    Stats.median(e.getValue()), e.getValue().size());
        }
        return result;
    }

    private static String boot(GuestImage image, List<String> parameters) throws IOException, InterruptedException {
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        boot(image, parameters, serial, line -> { });
        return serial.toString(StandardCharsets.UTF_8);
    }

    private static void boot(GuestImage image, List<String> parameters, ByteArrayOutputStream serial,
            java.util.function.Consumer<String> status) throws IOException, InterruptedException {
        try (RunningVm vm = VmBuilder.start(PeerComparison.directConfig(image, parameters, serial, status))) {
            VmOutcome outcome = vm.awaitExit(Duration.ofMinutes(3))
                    .orElseThrow(() -> new IllegalStateException("the guest still runs after 3 minutes"));
            if (!outcome.isOrderly()) {
                throw new IllegalStateException("the guest ended badly: " + outcome.describe());
            }
        }
    }

    /** The first log line starting with each of {@link #MILESTONES}, by its timestamp in seconds. */
    private static Map<String, Double> milestones(String log) {
        Map<String, Double> found = new LinkedHashMap<>();
        for (String line : log.split("\r?\n")) {
            Matcher m = STAMPED.matcher(line);
            if (!m.find()) {
                continue;
            }
            for (String milestone : MILESTONES) {
                if (m.group(2).startsWith(milestone) && !found.containsKey(milestone)) {
                    found.put(milestone, Double.parseDouble(m.group(1)));
                }
            }
        }
        return found;
    }

    /** {@code nm -n} output: address → symbol, text symbols only. */
    private static NavigableMap<Long, String> readNm(Path nm) throws IOException {
        NavigableMap<Long, String> symbols = new TreeMap<>();
        for (String line : Files.readAllLines(nm)) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3 && (f[1].equalsIgnoreCase("t"))) {
                symbols.put(Long.parseUnsignedLong(f[0], 16), f[2]);
            }
        }
        return symbols;
    }

    /** An initcall as the kernel named it ({@code 0xffffffff81234567} without kallsyms), by name where known. */
    private static String symbolic(String printed, NavigableMap<Long, String> symbols) {
        if (!printed.startsWith("0x") || symbols.isEmpty()) {
            return printed;
        }
        long address = Long.parseUnsignedLong(printed.substring(2), 16);
        Map.Entry<Long, String> e = symbols.floorEntry(address);
        return e == null ? printed : e.getValue() + (e.getKey() == address ? "" : "+0x" + Long.toHexString(address - e.getKey()));
    }
}
