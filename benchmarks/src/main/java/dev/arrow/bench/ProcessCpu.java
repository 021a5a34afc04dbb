package dev.arrow.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The CPU time a process has used so far, from {@code /proc/<pid>/stat} (all its threads): user
 * time, system time, and the part of the user time that KVM accounted as guest time (a VMM's
 * vCPU threads running the guest). The kernel counts in clock ticks ({@link #ticksPerSecond()});
 * this record holds nanoseconds.
 *
 * @param userNanos   user time, guest time included (field 14, utime)
 * @param systemNanos system time (field 15, stime)
 * @param guestNanos  time spent running a guest (field 43, guest_time), a part of {@code userNanos}
 */
record ProcessCpu(long userNanos, long systemNanos, long guestNanos) {
    /** Field numbers of {@code proc(5)}, counted from 1 (pid) and 2 (comm). */
    private static final int UTIME = 14;
    private static final int STIME = 15;
    private static final int GUEST_TIME = 43;
    private static final int FIRST_AFTER_COMM = 3;
    /** What {@code sysconf(_SC_CLK_TCK)} returns on every Linux/x86 (USER_HZ). */
    static final long DEFAULT_TICKS_PER_SECOND = 100;

    /** User plus system time. */
    long totalNanos() {
        return userNanos + systemNanos;
    }

    /** User plus system time without the guest's: what the host side itself cost. */
    long hostNanos() {
        return totalNanos() - guestNanos;
    }

    /** The CPU time used between {@code earlier} and this reading. */
    ProcessCpu minus(ProcessCpu earlier) {
        return new ProcessCpu(userNanos - earlier.userNanos, systemNanos - earlier.systemNanos,
                guestNanos - earlier.guestNanos);
    }

    /** As JSON: {@code {"userNanos":..,"systemNanos":..,"guestNanos":..}}. */
    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("userNanos", userNanos);
        m.put("systemNanos", systemNanos);
        m.put("guestNanos", guestNanos);
        return m;
    }

    /**
     * Parses one {@code /proc/<pid>/stat} line. The command name (field 2) is in parentheses and may
     * itself hold spaces and parentheses, so the fields are counted from the last ')'.
     *
     * @throws IllegalArgumentException if the line is not a stat line with the guest-time field
     */
    static ProcessCpu parse(String statLine, long ticksPerSecond) {
        int close = statLine.lastIndexOf(')');
        if (close < 0 || statLine.indexOf('(') < 0 || statLine.indexOf('(') > close) {
            throw new IllegalArgumentException("not a /proc/<pid>/stat line (no '(comm)'): " + abbreviate(statLine));
        }
        String[] fields = statLine.substring(close + 1).trim().split("\\s+");
        if (fields.length <= GUEST_TIME - FIRST_AFTER_COMM) {
            throw new IllegalArgumentException("a /proc/<pid>/stat line with " + (fields.length + 2)
                    + " fields, expected at least " + GUEST_TIME + ": " + abbreviate(statLine));
        }
        try {
            return new ProcessCpu(nanos(fields[UTIME - FIRST_AFTER_COMM], ticksPerSecond),
                    nanos(fields[STIME - FIRST_AFTER_COMM], ticksPerSecond),
                    nanos(fields[GUEST_TIME - FIRST_AFTER_COMM], ticksPerSecond));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("a /proc/<pid>/stat line with a non-numeric time field: "
                    + abbreviate(statLine), e);
        }
    }

    /** The command name (field 2) of a {@code /proc/<pid>/stat} line, or "" if it has none. */
    static String commandName(String statLine) {
        int open = statLine.indexOf('(');
        int close = statLine.lastIndexOf(')');
        return open >= 0 && close > open ? statLine.substring(open + 1, close) : "";
    }

    /** The CPU time of process {@code pid} now. */
    static ProcessCpu read(long pid, long ticksPerSecond) throws IOException {
        return parse(Files.readString(statFile(pid)), ticksPerSecond);
    }

    static Path statFile(long pid) {
        return Path.of("/proc", Long.toString(pid), "stat");
    }

    /** The kernel's clock ticks per second for /proc times ({@code getconf CLK_TCK}; 100 if that fails). */
    static long ticksPerSecond() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0) {
                long ticks = Long.parseLong(out);
                if (ticks > 0) {
                    return ticks;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall back below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return DEFAULT_TICKS_PER_SECOND;
    }

    private static long nanos(String ticks, long ticksPerSecond) {
        long t = Long.parseLong(ticks);
        if (t < 0) {
            throw new NumberFormatException("negative: " + ticks);
        }
        return Math.multiplyExact(t, 1_000_000_000L) / ticksPerSecond;
    }

    private static String abbreviate(String s) {
        String oneLine = s.strip();
        return oneLine.length() <= 120 ? oneLine : oneLine.substring(0, 120) + "...";
    }
}
