package dev.arrow.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

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
     */
    record DirectionFigures(List<Double> mibPerSecond, long bytes, long jvmNanos, long guestNanos, long clientNanos,
                            long passtNanos, int transfers, int incomplete) {
        static DirectionFigures of(JsonNode net, String direction) {
            List<Double> rates = new ArrayList<>();
            long bytes = 0;
            long jvm = 0;
            long guest = 0;
            long client = 0;
            long passt = 0;
            int n = 0;
            int incomplete = 0;
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
            }
            return new DirectionFigures(rates, bytes, jvm, guest, client, passt, n, incomplete);
        }

        double jvmPerGib() {
            return Rates.secondsPerGib(jvmNanos, bytes);
        }

        double passtPerGib() {
            return Rates.secondsPerGib(passtNanos, bytes);
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
                + " and the VMM's virtio-net. Host → guest: the host sends, the guest counts and answers with its count"
                + " (timed from the first byte sent to that answer); guest → host: the guest sends, the host reads (timed"
                + " from the first byte received to the last). Each transfer stops at " + Fmt.bytes(maxBytes)
                + " or " + net.path("maxSeconds").asInt() + " s, whichever comes first, after one warm-up transfer of "
                + Fmt.bytes(net.path("warmupBytes").asLong()) + " each way. CPU time is user + system from"
                + " `/proc/<pid>/stat` (clock ticks of 1/" + net.path("clockTicksPerSecond").asInt() + " s) read before and"
                + " after each transfer, summed over the transfers and divided by the GiB they moved. The JVM's time"
                + " includes the guest's: KVM accounts the time the vCPU thread runs the guest as its user time (*of which"
                + " guest*), and the harness's own socket thread (*of which client*). " + where.figures());
        line("");
        line("| direction | transfers | MiB moved | MiB/s, median (min–max) | JVM CPU s/GiB | of which guest | of which client | passt CPU s/GiB | JVM + passt s/GiB |");
        line("|---|---|---|---|---|---|---|---|---|");
        for (String[] d : DIRECTIONS) {
            DirectionFigures f = DirectionFigures.of(net, d[0]);
            line("| " + d[1] + " | " + f.transfers + (f.incomplete > 0 ? " (" + f.incomplete + " stopped by the time limit)" : "")
                    + " | " + Fmt.number(f.bytes / Rates.MIB, 1) + " | " + Fmt.number(Stats.median(f.mibPerSecond), 2)
                    + " (" + Fmt.number(Stats.min(f.mibPerSecond), 2) + "–" + Fmt.number(Stats.max(f.mibPerSecond), 2)
                    + ") | " + Fmt.number(f.jvmPerGib(), 2) + " | "
                    + Fmt.number(Rates.secondsPerGib(f.guestNanos, f.bytes), 2) + " | "
                    + Fmt.number(Rates.secondsPerGib(f.clientNanos, f.bytes), 2) + " | "
                    + Fmt.number(f.passtPerGib(), 2) + " | "
                    + Fmt.number(Rates.secondsPerGib(f.jvmNanos + f.passtNanos, f.bytes), 2) + " |");
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
