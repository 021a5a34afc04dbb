package dev.arrow.kvm.vmm;

import dev.arrow.kvm.sys.LibC;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Whether a thread has stayed asleep since it last blocked, from what the host kernel says of it in
 * {@code /proc/self/task/TID/status}: its state and its {@code voluntary_ctxt_switches} (how many times it gave up
 * its CPU to wait, which it does once per blocking). A thread that counted {@code n} such switches while it ran, and
 * now sleeps with {@code n + 1}, has blocked once since and not woken: a wake-up followed by any sleep would count
 * another. Preemptions do not count (they are involuntary). The idle probe uses it to tell a vCPU still blocked in the
 * halt in which a probe found it alive from one whose guest may have run since, without kicking it out of the guest.
 *
 * <p>A look is one {@code open}, {@code read} and {@code close} into a small array and a scan of its bytes: the idle
 * probe of every idle arrow in the JVM makes one every half minute or so, which the idle CPU of many arrows adds up
 * (until 2026-12-07 it went through {@code Files.readString} and a regular expression: most of the prober's 0.94% of a
 * lab core for 100 idle arrows, benchmarks/RESULTS.md).
 */
final class ThreadBlocks {
    /** The count cannot be read here. */
    static final long UNKNOWN = -1;
    /** A status text is about 1.4 KiB; one with a longer CPU list is read whole into a larger array. */
    private static final int FIRST_READ = 4096;
    private static final int MOST = 64 * 1024;
    /** Linux's largest thread id on 64-bit machines, plus one ({@code PID_MAX_LIMIT}). */
    private static final int PID_MAX_LIMIT = 4 * 1024 * 1024;
    private static final byte[] STATE = "\nState:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VOLUNTARY = "\nvoluntary_ctxt_switches:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OWN_STATUS = path("/proc/thread-self/status");

    private ThreadBlocks() {
    }

    /** The calling thread's voluntary context switches so far, or {@link #UNKNOWN}. */
    static long voluntarySwitchesOfCurrentThread() {
        Status status = read(OWN_STATUS);
        return status == null ? UNKNOWN : status.voluntarySwitches();
    }

    /** The path of thread {@code tid}'s status file (of this process), NUL-terminated, for {@link #asleepInFirstBlockSince}. */
    static byte[] statusPath(int tid) {
        return path("/proc/self/task/" + tid + "/status");
    }

    /**
     * True when the thread whose {@linkplain #statusPath status file} is {@code statusPath} sleeps now in the first
     * blocking since it counted {@code voluntaryBefore} voluntary switches while it ran; false when it may have woken
     * since, or when unsure.
     */
    static boolean asleepInFirstBlockSince(byte[] statusPath, long voluntaryBefore) {
        if (voluntaryBefore == UNKNOWN) {
            return false;
        }
        Status status = read(statusPath);
        return status != null && status.asleepInFirstBlockSince(voluntaryBefore);
    }

    /**
     * The CPU time thread {@code tid} (of this process) has run so far, in nanoseconds, or {@link #UNKNOWN}: one
     * {@code clock_gettime} of its CPU-time clock, no text. The host kernel adds every stretch the thread runs, however
     * short, so two equal readings mean it did not run between them. The kernel answers only for this process's own
     * threads.
     */
    static long cpuTimeNanos(int tid) {
        if (tid <= 0 || tid >= PID_MAX_LIMIT) {
            return UNKNOWN; // the clock's number would name another clock
        }
        long[] timespec = new long[2];
        return LibC.clock_gettime(LibC.threadCpuClock(tid), timespec) != 0 ? UNKNOWN
                : timespec[0] * 1_000_000_000L + timespec[1];
    }

    /** One status text, as bytes: {@code text[0, length)}. */
    record Status(byte[] text, int length) {
        static Status of(String text) {
            byte[] b = text.getBytes(StandardCharsets.US_ASCII);
            return new Status(b, b.length);
        }

        /** {@link ThreadBlocks#asleepInFirstBlockSince(byte[], long)} of this text. */
        boolean asleepInFirstBlockSince(long voluntaryBefore) {
            long now = voluntarySwitches();
            return voluntaryBefore != UNKNOWN && now != UNKNOWN && now == voluntaryBefore + 1 && state() == 'S';
        }

        /** The {@code voluntary_ctxt_switches}, or {@link #UNKNOWN}. */
        long voluntarySwitches() {
            int at = valueAfter(VOLUNTARY, lastIndexOf(VOLUNTARY)); // the second-last line: searched from the end
            long n = 0;
            int digits = 0;
            for (; at >= 0 && at < length && text[at] >= '0' && text[at] <= '9' && digits < 18; at++, digits++) {
                n = n * 10 + (text[at] - '0');
            }
            return digits == 0 ? UNKNOWN : n;
        }

        /** The letter of the {@code State:} line ({@code 'S'} asleep, {@code 'R'} running, ...), or 0. */
        char state() {
            int at = valueAfter(STATE, indexOf(STATE)); // the third line
            return at < 0 || at >= length ? 0 : (char) text[at];
        }

        /** Where the value of the line whose {@code name} ({@code "\nName:"}) was found {@code at} begins, or -1. */
        private int valueAfter(byte[] name, int at) {
            if (at < 0) {
                return -1;
            }
            at += name.length;
            while (at < length && (text[at] == '\t' || text[at] == ' ')) {
                at++;
            }
            return at;
        }

        private int indexOf(byte[] needle) {
            for (int i = 0; i + needle.length <= length; i++) {
                if (at(i, needle)) {
                    return i;
                }
            }
            return -1;
        }

        private int lastIndexOf(byte[] needle) {
            for (int i = length - needle.length; i >= 0; i--) {
                if (at(i, needle)) {
                    return i;
                }
            }
            return -1;
        }

        private boolean at(int i, byte[] needle) {
            for (int j = 0; j < needle.length; j++) {
                if (text[i + j] != needle[j]) {
                    return false;
                }
            }
            return true;
        }
    }

    private static byte[] path(String path) {
        byte[] b = path.getBytes(StandardCharsets.US_ASCII);
        return Arrays.copyOf(b, b.length + 1); // NUL-terminated
    }

    /** The whole file at {@code path}, or null when it cannot be read (the thread ended, an error). */
    private static Status read(byte[] path) {
        int fd = LibC.open(path, LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (fd < 0) {
            return null;
        }
        try {
            byte[] text = new byte[FIRST_READ];
            long n = LibC.read(fd, text, text.length);
            int length = 0;
            while (n > 0) { // to the end: one more read, which returns 0 (JNA reads into an array from its start)
                length += (int) n;
                if (length == text.length) {
                    if (text.length >= MOST) {
                        return null;
                    }
                    text = Arrays.copyOf(text, text.length * 2);
                }
                byte[] more = new byte[text.length - length];
                n = LibC.read(fd, more, more.length);
                if (n > 0) {
                    System.arraycopy(more, 0, text, length, (int) n);
                }
            }
            return n < 0 ? null : new Status(text, length);
        } finally {
            LibC.close(fd);
        }
    }
}
