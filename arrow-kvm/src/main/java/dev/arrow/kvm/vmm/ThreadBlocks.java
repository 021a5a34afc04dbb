package dev.arrow.kvm.vmm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether a thread has stayed asleep since it last blocked, from what the host kernel says of it in
 * {@code /proc/self/task/TID/status}: its state and its {@code voluntary_ctxt_switches} (how many times it gave up
 * its CPU to wait, which it does once per blocking). A thread that counted {@code n} such switches while it ran, and
 * now sleeps with {@code n + 1}, has blocked once since and not woken: a wake-up followed by any sleep would count
 * another. Preemptions do not count (they are involuntary). The idle probe uses it to tell a vCPU still blocked in the
 * halt in which a probe found it alive from one whose guest may have run since, without kicking it out of the guest.
 */
final class ThreadBlocks {
    /** The count cannot be read here. */
    static final long UNKNOWN = -1;

    private ThreadBlocks() {
    }

    /** The calling thread's voluntary context switches so far, or {@link #UNKNOWN}. */
    static long voluntarySwitchesOfCurrentThread() {
        String status = read(Path.of("/proc/thread-self/status"));
        return status == null ? UNKNOWN : voluntarySwitches(status);
    }

    /**
     * True when thread {@code tid} (of this process) sleeps now in the first blocking since it counted
     * {@code voluntaryBefore} voluntary switches while it ran; false when it may have woken since, or when unsure.
     */
    static boolean asleepInFirstBlockSince(int tid, long voluntaryBefore) {
        if (voluntaryBefore == UNKNOWN) {
            return false;
        }
        String status = read(Path.of("/proc/self/task", Integer.toString(tid), "status"));
        return status != null && asleepInFirstBlockSince(status, voluntaryBefore);
    }

    /** {@link #asleepInFirstBlockSince(int, long)} of one {@code status} text. */
    static boolean asleepInFirstBlockSince(String status, long voluntaryBefore) {
        long now = voluntarySwitches(status);
        return voluntaryBefore != UNKNOWN && now != UNKNOWN && now == voluntaryBefore + 1
                && "S".equals(field(status, "State:").split("\\s+", 2)[0]);
    }

    /** The {@code voluntary_ctxt_switches} of a {@code status} text, or {@link #UNKNOWN}. */
    static long voluntarySwitches(String status) {
        try {
            return Long.parseLong(field(status, "voluntary_ctxt_switches:"));
        } catch (NumberFormatException e) {
            return UNKNOWN;
        }
    }

    /** The value of the line that starts with {@code name}, trimmed; empty when there is none. */
    private static String field(String status, String name) {
        int at = status.startsWith(name) ? 0 : status.indexOf("\n" + name) + 1;
        if (at <= 0 && !status.startsWith(name)) {
            return "";
        }
        int end = status.indexOf('\n', at);
        return status.substring(at + name.length(), end < 0 ? status.length() : end).trim();
    }

    private static String read(Path status) {
        try {
            return Files.readString(status, StandardCharsets.US_ASCII);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
