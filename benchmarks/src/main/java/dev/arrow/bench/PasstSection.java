package dev.arrow.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The RESULTS.md section on TCP throughput through passt ({@link PasstThroughput}'s {@code net.json}):
 * per direction the median MiB/s and the CPU time per GiB moved of the JVM (with the guest's own
 * share and this client's share) and of the passt process. CPU per GiB is the sum of the CPU time
 * over the measured transfers divided by the sum of the bytes they moved.
 */
final class PasstSection {
    private static final String[][] DIRECTIONS = {{"host-to-guest", "host → guest"}, {"guest-to-host", "guest → host"}};

    private final StringBuilder md = new StringBuilder();

    private PasstSection() {
    }

    /** The section for {@code net} (null: not measured), measured on {@code where}. */
    static String render(String number, JsonNode net, KvmFlavour where) {
        PasstSection s = new PasstSection();
        s.write(number, net, where);
        return s.md.toString();
    }

    /**
     * The measured (not warm-up) transfers of one direction, summed.
     *
     * @param mibPerSecond per transfer
     * @param bytes        all bytes moved
     * @param jvmNanos     the JVM's user + system time
     * @param guestNanos   the part of it KVM accounted as guest time
     * @param clientNanos  the part of it this harness's socket thread used
     * @param passtNanos   passt's user + system time
     * @param threadNanos  the JVM's CPU time by thread name (the harness's top threads per transfer, summed)
     * @param exits        the VMM's exits by kind
     */
    record DirectionFigures(List<Double> mibPerSecond, long bytes, long jvmNanos, long guestNanos, long clientNanos,
                            long passtNanos, int transfers, int incomplete, Map<String, Long> threadNanos,
                            Map<String, Long> exits) {
        static DirectionFigures of(JsonNode net, String direction) {
            List<Double> rates = new ArrayList<>();
            long bytes = 0;
            long jvm = 0;
            long guest = 0;
            long client = 0;
            long passt = 0;
            int n = 0;
            int incomplete = 0;
            Map<String, Long> threads = new HashMap<>();
            Map<String, Long> exits = new TreeMap<>();
            for (JsonNode t : net.path("transfers")) {
                if (t.path("warmup").asBoolean() || !direction.equals(t.path("direction").asText())) {
                    continue;
                }
                n++;
                if (!t.path("complete").asBoolean()) {
                    incomplete++;
                }
                rates.add(Rates.mibPerSecond(t.path("timedBytes").asLong(), t.path("nanos").asLong()));
                bytes += t.path("bytes").asLong();
                jvm += t.path("jvmCpu").path("userNanos").asLong() + t.path("jvmCpu").path("systemNanos").asLong();
                guest += t.path("jvmCpu").path("guestNanos").asLong();
                client += t.path("clientThreadCpuNanos").asLong();
                passt += t.path("passtCpu").path("userNanos").asLong() + t.path("passtCpu").path("systemNanos").asLong();
                t.path("jvmThreadCpuNanos").fields().forEachRemaining(e -> threads.merge(e.getKey(), e.getValue().asLong(), Long::sum));
                t.path("vmExits").fields().forEachRemaining(e -> exits.merge(e.getKey(), e.getValue().asLong(), Long::sum));
            }
            return new DirectionFigures(rates, bytes, jvm, guest, client, passt, n, incomplete, threads, exits);
        }

        double jvmPerGib() {
            return Rates.secondsPerGib(jvmNanos, bytes);
        }

        double passtPerGib() {
            return Rates.secondsPerGib(passtNanos, bytes);
        }

        /** The JVM's threads by CPU time, largest first, at most {@code limit}: "name 1.23, ..." in s/GiB. */
        String threadsPerGib(int limit) {
            List<Map.Entry<String, Long>> sorted = new ArrayList<>(threadNanos.entrySet());
            sorted.sort(ThreadCpu.LARGEST_FIRST);
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<String, Long> e : sorted.subList(0, Math.min(limit, sorted.size()))) {
                sb.append(sb.length() == 0 ? "" : ", ").append('`').append(e.getKey()).append("` ")
                        .append(Fmt.number(Rates.secondsPerGib(e.getValue(), bytes), 1));
            }
            return sb.toString();
        }

        /** VMM exits per MiB by kind: "mmio-read 13.9, mmio-write 14.0". */
        String exitsPerMib() {
            StringBuilder sb = new StringBuilder();
            exits.forEach((kind, n) -> sb.append(sb.length() == 0 ? "" : ", ").append(kind).append(' ')
                    .append(Fmt.number(n / (bytes / Rates.MIB), 1)));
            return sb.toString();
        }
    }

    private void write(String number, JsonNode net, KvmFlavour where) {
        line("## " + number + ". TCP throughput host ↔ guest through passt (" + where.tag() + ")");
        line("");
        if (net == null) {
            line("Not measured in this run: the Linux-boot part did not produce `net.json`.");
            line("");
            return;
        }
        long maxBytes = net.path("maxBytes").asLong();
        line("`PasstThroughput`: one arrow of `tcp-bench` (src/main/c/tcp-bench.c, " + net.path("guestMemoryMiB").asInt()
                + " MiB, 1 vCPU) with `Net.user().forward(" + net.path("hostPort").asInt() + ", " + net.path("guestPort").asInt()
                + ")`; the harness connects to the forwarded port on the host's loopback, so every byte crosses passt"
                + " and the VMM's virtio-net (guest MTU 65520, as Arrow sets it for passt). Host → guest: the host sends, the guest counts and answers with its count"
                + " (timed from the first byte sent to that answer); guest → host: the guest sends, the host reads (timed"
                + " from the first byte received to the last). Each transfer stops at " + Fmt.bytes(maxBytes)
                + " or " + net.path("maxSeconds").asInt() + " s, whichever comes first, after one warm-up transfer of "
                + Fmt.bytes(net.path("warmupBytes").asLong()) + " each way. CPU time is user + system from"
                + " `/proc/<pid>/stat` (clock ticks of 1/" + net.path("clockTicksPerSecond").asInt() + " s) read before and"
                + " after each transfer, summed over the transfers and divided by the GiB they moved. The JVM's time"
                + " includes the guest's: KVM accounts the time the vCPU thread runs the guest as its user time (*of which"
                + " guest*), and the harness's own socket thread (*of which client*). " + where.figures());
        line("");
        MarkdownTable throughput = new MarkdownTable("direction", "transfers", "MiB moved", "MiB/s, median (min–max)",
                "JVM CPU s/GiB", "of which guest", "of which client", "passt CPU s/GiB", "JVM + passt s/GiB");
        for (String[] d : DIRECTIONS) {
            DirectionFigures f = DirectionFigures.of(net, d[0]);
            throughput.row(d[1], f.transfers + (f.incomplete > 0 ? " (" + f.incomplete + " stopped by the time limit)" : ""),
                    Fmt.number(f.bytes / Rates.MIB, 1), Fmt.number(Stats.median(f.mibPerSecond), 2)
                            + " (" + Fmt.number(Stats.min(f.mibPerSecond), 2) + "–" + Fmt.number(Stats.max(f.mibPerSecond), 2) + ")",
                    Fmt.number(f.jvmPerGib(), 2), Fmt.number(Rates.secondsPerGib(f.guestNanos, f.bytes), 2),
                    Fmt.number(Rates.secondsPerGib(f.clientNanos, f.bytes), 2), Fmt.number(f.passtPerGib(), 2),
                    Fmt.number(Rates.secondsPerGib(f.jvmNanos + f.passtNanos, f.bytes), 2));
        }
        md.append(throughput.render());
        for (String[] d : DIRECTIONS) {
            DirectionFigures f = DirectionFigures.of(net, d[0]);
            if (f.bytes > 0 && !f.threadNanos.isEmpty()) {
                line("- " + d[1] + ", the JVM's CPU by thread (s/GiB): " + f.threadsPerGib(6) + "; VMM exits per MiB: "
                        + (f.exits.isEmpty() ? "not recorded" : f.exitsPerMib()) + ".");
            }
        }
        line("");
        line("passt: `" + net.path("passtCommand").asText() + "`.");
        line("");
        List<String> failures = new ArrayList<>();
        net.path("failures").forEach(f -> failures.add(f.asText()));
        if (!failures.isEmpty()) {
            line("**The run failed: " + String.join("; ", failures) + "** (the table holds the transfers done before;"
                    + " the thread dump is in `net.log`): a defect to chase, not a figure.");
            line("");
        }
    }

    private void line(String s) {
        md.append(s).append('\n');
    }
}
