package dev.arrow.kvm.vmm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How many times the host's scheduler has put a thread on a CPU: the third field of {@code schedstat} in
 * {@code /proc} (its {@code pcount}; the kernel's {@code CONFIG_SCHED_INFO}, which Debian's and most distributions'
 * kernels have). It grows only when the thread is switched in; a thread blocked all along keeps its count. The idle
 * probe uses it to tell a vCPU still blocked in the very halt a probe found it in (with interrupts on: alive) from
 * one that has run since, without kicking it out of the guest.
 */
final class ThreadRuns {
    /** The count cannot be read here (no such file, or the kernel keeps no count). */
    static final long UNKNOWN = -1;

    private ThreadRuns() {
    }

    /** The calling thread's count, or {@link #UNKNOWN}. */
    static long ofCurrentThread() {
        return read(Path.of("/proc/thread-self/schedstat"));
    }

    /** Thread {@code tid}'s count (a thread of this process), or {@link #UNKNOWN}. */
    static long of(int tid) {
        return read(Path.of("/proc/self/task", Integer.toString(tid), "schedstat"));
    }

    private static long read(Path schedstat) {
        try {
            return parse(Files.readString(schedstat, StandardCharsets.US_ASCII));
        } catch (IOException | RuntimeException e) {
            return UNKNOWN;
        }
    }

    /**
     * The run count of a {@code schedstat} line ({@code "ns-on-cpu ns-waiting runs"}); {@link #UNKNOWN} when it is not
     * such a line, or when the kernel keeps no count (it writes {@code "0 0 0"} then).
     */
    static long parse(String schedstat) {
        String[] f = schedstat.trim().split("\\s+");
        if (f.length < 3) {
            return UNKNOWN;
        }
        try {
            long runs = Long.parseLong(f[2]);
            return runs > 0 ? runs : UNKNOWN;
        } catch (NumberFormatException e) {
            return UNKNOWN;
        }
    }
}
