package dev.arrow.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The RESULTS.md section on console throughput guest → host ({@link ConsoleThroughput}'s
 * {@code console.json}): MiB/s and VM exits per MiB of the virtio console and of the serial port,
 * medians over the runs, and their ratio.
 */
final class ConsoleSection {
    /** The two paths, in the order of the table: JSON key and what the report calls it. */
    private static final String[][] PATHS = {{"virtio", "virtio console (`Arrow.start()`)"},
            {"serial", "8250 serial port (`VmBuilder`, stdio serial)"}};

    private final StringBuilder md = new StringBuilder();

    private ConsoleSection() {
    }

    /** The section for {@code console} (null: not measured), measured on {@code where}. */
    static String render(String number, JsonNode console, KvmFlavour where) {
        ConsoleSection s = new ConsoleSection();
        s.write(number, console, where);
        return s.md.toString();
    }

    /** Figures of one path over the runs. */
    private record PathFigures(List<Double> mibPerSecond, List<Double> vmmExitsPerMib, List<Double> kvmExitsPerMib,
                               List<Double> kvmIoExitsPerMib, Map<String, List<Double>> vmmPerKindPerMib, long bytes,
                               int incomplete, List<String> badOutcomes) {
        static PathFigures of(List<JsonNode> transfers) {
            List<Double> rate = new ArrayList<>();
            List<Double> vmm = new ArrayList<>();
            List<Double> kvm = new ArrayList<>();
            List<Double> kvmIo = new ArrayList<>();
            Map<String, List<Double>> perKind = new TreeMap<>();
            List<String> bad = new ArrayList<>();
            long bytes = 0;
            int incomplete = 0;
            for (JsonNode t : transfers) {
                long b = t.path("bytes").asLong();
                bytes = Math.max(bytes, t.path("requestedBytes").asLong());
                if (!t.path("complete").asBoolean()) {
                    incomplete++;
                }
                if (!t.path("exitCode").isInt() || t.path("exitCode").asInt() != 0) {
                    bad.add(t.path("outcome").asText("no outcome recorded"));
                }
                rate.add(new ArrivalLog.Arrivals(b, 0, t.path("firstToLastNanos").asLong(),
                        t.path("firstArrivalBytes").asLong()).mibPerSecond());
                long total = 0;
                for (Map.Entry<String, JsonNode> e : iterable(t.path("vmmExits"))) {
                    total += e.getValue().asLong();
                    if (e.getValue().asLong() > 0) {
                        perKind.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(Rates.perMib(e.getValue().asLong(), b));
                    }
                }
                vmm.add(Rates.perMib(total, b));
                JsonNode stats = t.path("kvmStats");
                if (stats.has("exits")) {
                    kvm.add(Rates.perMib(stats.path("exits").asLong(), b));
                    kvmIo.add(Rates.perMib(stats.path("io_exits").asLong() + stats.path("mmio_exits").asLong(), b));
                }
            }
            return new PathFigures(rate, vmm, kvm, kvmIo, perKind, bytes, incomplete, bad);
        }
    }

    private void write(String number, JsonNode console, KvmFlavour where) {
        line("## " + number + ". Console throughput guest → host: virtio console vs serial port (" + where.tag() + ")");
        line("");
        if (console == null) {
            line("Not measured in this run: the Linux-boot part did not produce `console.json`.");
            line("");
            return;
        }
        List<JsonNode> runs = new ArrayList<>();
        console.path("runs").forEach(runs::add);
        line("`ConsoleThroughput`: the static guest program `console-flood` (src/main/c/console-flood.c) writes a"
                + " fixed number of bytes to its stdout in writes of up to 64 KiB, once with the app's stdio on the"
                + " virtio console (the normal `Arrow.start()` path; stdout through `Output.pipe()`, read and counted by"
                + " a host thread) and once on the 8250 serial port (the same program and kernel, stdio serial, booted"
                + " through `VmBuilder` with the VMM's serial output counted). Same kernel, " + console.path("memoryMiB").asInt()
                + " MiB, 1 vCPU, " + runs.size() + " run(s) of each, alternating which goes first. The program waits for"
                + " the host's go after booting, so the counters (read before the go and after the last byte) cover the"
                + " transfer only. MiB/s is host time from the first byte's arrival to the last's; exits per MiB are"
                + " the VMM's own counts (exits that reach user space) and KVM's debugfs `exits` (every exit, also those"
                + " KVM handles itself, such as the virtio queue notifications it turns into ioeventfd signals). The"
                + " serial port costs about one exit per byte, so it moves fewer bytes: " + Fmt.bytes(console.path("serialBytes").asLong())
                + " against " + Fmt.bytes(console.path("virtioBytes").asLong()) + " over virtio. " + where.figures());
        line("");
        List<JsonNode> virtio = new ArrayList<>();
        List<JsonNode> serial = new ArrayList<>();
        for (JsonNode r : runs) {
            if (r.has("virtio")) {
                virtio.add(r.path("virtio"));
            }
            if (r.has("serial")) {
                serial.add(r.path("serial"));
            }
        }
        PathFigures[] figures = {PathFigures.of(virtio), PathFigures.of(serial)};
        MarkdownTable throughput = new MarkdownTable("stdio over", "bytes per run", "runs", "MiB/s, median (min–max)",
                "VMM exits per MiB", "KVM exits per MiB (all)", "KVM io + mmio exits per MiB");
        for (int i = 0; i < PATHS.length; i++) {
            PathFigures f = figures[i];
            throughput.row(PATHS[i][1], Fmt.bytes(f.bytes),
                    f.mibPerSecond.size() + (f.incomplete > 0 ? " (" + f.incomplete + " incomplete)" : ""),
                    Fmt.significant(Stats.median(f.mibPerSecond)) + " (" + Fmt.significant(Stats.min(f.mibPerSecond)) + "–"
                            + Fmt.significant(Stats.max(f.mibPerSecond)) + ")",
                    Fmt.number(Stats.median(f.vmmExitsPerMib), 0), Fmt.number(Stats.median(f.kvmExitsPerMib), 0),
                    Fmt.number(Stats.median(f.kvmIoExitsPerMib), 0));
        }
        md.append(throughput.render());
        double speed = Stats.median(figures[0].mibPerSecond) / Stats.median(figures[1].mibPerSecond);
        double exits = Stats.median(figures[1].kvmExitsPerMib) / Stats.median(figures[0].kvmExitsPerMib);
        line("**virtio console / serial port: " + Fmt.significant(speed) + "× the throughput, " + Fmt.significant(exits)
                + "× fewer KVM exits per MiB** (medians, same run).");
        line("");
        for (int i = 0; i < PATHS.length; i++) {
            StringBuilder kinds = new StringBuilder();
            figures[i].vmmPerKindPerMib.forEach((kind, v) ->
                    kinds.append(kinds.length() == 0 ? "" : ", ").append(kind).append(' ').append(Fmt.number(Stats.median(v), 0)));
            line("- VMM exits per MiB by kind, " + PATHS[i][0] + ": " + (kinds.length() == 0 ? "none" : kinds) + ".");
        }
        for (int i = 0; i < PATHS.length; i++) {
            if (!figures[i].badOutcomes.isEmpty()) {
                line("- **" + PATHS[i][0] + ": the guest did not end with exit code 0** (" + String.join("; ", figures[i].badOutcomes)
                        + "): a defect to chase, not a figure.");
            }
        }
        if (!console.path("kvmDebugfs").asBoolean()) {
            line("- KVM's debugfs was not mounted: no KVM exit counts.");
        }
        line("");
    }

    private void line(String s) {
        md.append(s).append('\n');
    }

    private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode object) {
        return object::fields;
    }
}
