package dev.arrow.kvm.diagnostics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What the host kernel says about one of our threads ({@code /proc/self/task/TID}): its
 * scheduler state, CPU time, the kernel function it waits in and, where readable (root), its
 * kernel stack. Tells a vCPU halted in KVM from one spinning in the guest or stuck in the kernel.
 */
public final class KernelTask {
    private static final int STACK_LINES = 12;

    private KernelTask() {
    }

    /** E.g. {@code kernel task 4711: state S, 12 ms user, 340 ms system, waits in kvm_vcpu_block}. */
    public static String describe(int tid) {
        Path dir = Path.of("/proc/self/task", Integer.toString(tid));
        StringBuilder b = new StringBuilder("kernel task ").append(tid).append(':');
        try {
            String stat = Files.readString(dir.resolve("stat"), StandardCharsets.US_ASCII);
            b.append(describeStat(stat));
        } catch (IOException e) {
            return b.append(" gone (").append(e.getMessage()).append(')').toString();
        }
        try {
            b.append(describeSchedstat(Files.readString(dir.resolve("schedstat"), StandardCharsets.US_ASCII)));
        } catch (IOException e) {
            // only with CONFIG_SCHEDSTATS
        }
        try {
            String wchan = Files.readString(dir.resolve("wchan"), StandardCharsets.US_ASCII).trim();
            if (!wchan.isEmpty() && !wchan.equals("0")) {
                b.append(", waits in ").append(wchan);
            }
        } catch (IOException e) {
            // not every kernel has wchan
        }
        try {
            String stack = Files.readAllLines(dir.resolve("stack"), StandardCharsets.US_ASCII).stream()
                    .limit(STACK_LINES).map(String::strip).collect(Collectors.joining(" < "));
            if (!stack.isEmpty()) {
                b.append(", kernel stack ").append(stack);
            }
        } catch (IOException | SecurityException e) {
            // readable by root only
        }
        return b.toString();
    }

    /**
     * The scheduler's own account of a thread ({@code schedstat}: ns on a CPU, ns runnable but
     * waiting for one, timeslices), e.g. {@code , scheduler: 2.100 s on a CPU, 0.300 s waiting for
     * one, 812 slices}. Sampled twice, a waiting time that grows as fast as the clock is a runnable
     * thread the scheduler does not pick; time on a CPU beyond the time elapsed is a clock that jumped.
     */
    public static String describeSchedstat(String schedstat) {
        String[] f = schedstat.trim().split("\\s+");
        if (f.length < 3) {
            return ", unreadable schedstat";
        }
        try {
            return String.format(Locale.ROOT, ", scheduler: %.3f s on a CPU, %.3f s waiting for one, %d slices",
                    Long.parseLong(f[0]) / 1e9, Long.parseLong(f[1]) / 1e9, Long.parseLong(f[2]));
        } catch (NumberFormatException e) {
            return ", unreadable schedstat";
        }
    }

    /**
     * The state and CPU times of a {@code stat} line ({@code pid (comm) state ... utime stime},
     * fields 3, 14 and 15; comm may hold spaces and parentheses, so fields count from the last ')').
     */
    public static String describeStat(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            return " unreadable stat";
        }
        String[] f = stat.substring(close + 1).trim().split("\\s+");
        if (f.length < 13) {
            return " unreadable stat";
        }
        long ticksPerSecond = 100; // USER_HZ on Linux
        long userMs = Long.parseLong(f[11]) * 1000 / ticksPerSecond;
        long systemMs = Long.parseLong(f[12]) * 1000 / ticksPerSecond;
        return " state " + f[0] + ", " + userMs + " ms user, " + systemMs + " ms system";
    }
}
