package dev.arrow.backend.kvm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * What memory this host can still give, read when an arrow starts: the kernel's {@code MemAvailable}
 * and, when this process's memory cgroup has a limit, what is left under it (cgroup v2
 * {@code memory.max - memory.current}, or v1 {@code memory.limit_in_bytes - memory.usage_in_bytes}).
 * Files are read through a function so tests can give their own.
 */
record HostMemory(long availableBytes, OptionalLong cgroupRoomBytes, String cgroupDescription) {
    private static final Path PROC = Path.of("/proc");
    private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");
    /** cgroup v1 writes "no limit" as a page-aligned LONG_MAX (9223372036854771712). */
    private static final long V1_NO_LIMIT = Long.MAX_VALUE & ~0xFFFL;

    /** The least of the two: what a new guest may count on. */
    long roomBytes() {
        return cgroupRoomBytes.isPresent() ? Math.min(availableBytes, cgroupRoomBytes.getAsLong()) : availableBytes;
    }

    /**
     * This host, now; empty if /proc/meminfo cannot be read (then no admission check is possible). MemAvailable and
     * the cgroup's limit and usage are read each time; where the cgroup's files are is looked up at most once every
     * {@link Reader#RELOCATE_NANOS} ns ({@link Reader}).
     */
    static Optional<HostMemory> read() {
        return Reader.HOST.read();
    }

    /**
     * The text of file {@code p}, or null. Most of the cgroup files looked for are absent (the other cgroup version's,
     * the process's own directory or the mount's): a file that does not exist is found so by a stat, not by an
     * exception from the read, whose making cost more than the reads themselves.
     */
    static String readIfPresent(Path p) {
        if (!p.toFile().isFile()) {
            return null;
        }
        try {
            return new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1); // the kernel's files are ASCII
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Like {@link #read()}, with {@code files} returning a file's text or null when it cannot be read; nothing kept. */
    static Optional<HostMemory> read(Function<Path, String> files) {
        Optional<HostMemory> h = readLocated(files, locateCgroups(files));
        return h != null ? h : readLocated(files, List.of()); // a cgroup file went away between the two reads
    }

    /** A memory cgroup's limit and usage files, both present when they were located. */
    record CgroupFiles(Path limit, Path usage, String description) {
    }

    /**
     * The cgroup files that may limit this process's memory, in the order they are looked at: for each line of
     * {@code /proc/self/cgroup}, cgroup v2's ({@code memory.max}, {@code memory.current}) of the unified line and v1's
     * ({@code memory.limit_in_bytes}, {@code memory.usage_in_bytes}) of the memory controller's line, each in the
     * process's own directory or else at the mount's root (a container sees its own cgroup there).
     */
    static List<CgroupFiles> locateCgroups(Function<Path, String> files) {
        String cgroups = files.apply(PROC.resolve("self/cgroup"));
        if (cgroups == null) {
            return List.of();
        }
        List<CgroupFiles> found = new ArrayList<>();
        for (String line : cgroups.split("\n")) {
            String[] f = line.split(":", 3);
            if (f.length != 3) {
                continue;
            }
            if (f[0].equals("0") && f[1].isEmpty()) {
                locate(files, CGROUP_ROOT, f[2], "memory.max", "memory.current", "cgroup " + f[2]).ifPresent(found::add);
            }
            if (Arrays.asList(f[1].split(",")).contains("memory")) {
                locate(files, CGROUP_ROOT.resolve("memory"), f[2], "memory.limit_in_bytes", "memory.usage_in_bytes",
                        "memory cgroup " + f[2]).ifPresent(found::add);
            }
        }
        return found;
    }

    /** The first of the cgroup's own directory and the mount's root that has both files. */
    private static Optional<CgroupFiles> locate(Function<Path, String> files, Path mount, String path, String limitFile,
            String usageFile, String description) {
        String relative = path.startsWith("/") ? path.substring(1) : path;
        Path own = mount.resolve(relative);
        for (Path dir : own.equals(mount) ? new Path[] {mount} : new Path[] {own, mount}) {
            if (files.apply(dir.resolve(limitFile)) != null && files.apply(dir.resolve(usageFile)) != null) {
                return Optional.of(new CgroupFiles(dir.resolve(limitFile), dir.resolve(usageFile), description));
            }
        }
        return Optional.empty();
    }

    /**
     * MemAvailable and the room left under the first of {@code cgroups} that has a limit; null when one of them can no
     * longer be read (the process's cgroup changed: locate them again).
     */
    private static Optional<HostMemory> readLocated(Function<Path, String> files, List<CgroupFiles> cgroups) {
        String meminfo = files.apply(PROC.resolve("meminfo"));
        OptionalLong available = meminfo == null ? OptionalLong.empty() : meminfoBytes(meminfo, "MemAvailable");
        if (available.isEmpty()) {
            return Optional.empty();
        }
        for (CgroupFiles c : cgroups) {
            String limit = files.apply(c.limit());
            String usage = files.apply(c.usage());
            if (limit == null || usage == null) {
                return null;
            }
            OptionalLong room = room(limit, usage);
            if (room.isPresent()) {
                return Optional.of(new HostMemory(available.getAsLong(), room, c.description()));
            }
        }
        return Optional.of(new HostMemory(available.getAsLong(), OptionalLong.empty(), "no memory cgroup limit"));
    }

    /** limit - usage; empty without a limit ("max", v1's page-aligned LONG_MAX) or when they are not numbers. */
    private static OptionalLong room(String limit, String usage) {
        limit = limit.trim();
        if (limit.equals("max")) {
            return OptionalLong.empty();
        }
        try {
            long max = Long.parseLong(limit);
            long used = Long.parseLong(usage.trim());
            if (max >= V1_NO_LIMIT) {
                return OptionalLong.empty();
            }
            return OptionalLong.of(Math.max(0, max - used));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * Reads the host's memory through {@code files}, keeping where the cgroup's files are for
     * {@link #RELOCATE_NANOS}: a start then reads MemAvailable and the limit and usage, not {@code /proc/self/cgroup}
     * and the absent files of the cgroup version the host does not use (in the lab, a clone's admission took 15-25 ms
     * of its start doing that). A process moved to another cgroup, or given a memory controller, is seen within that
     * time; one whose located file goes away is located again at once. Thread-safe.
     */
    static final class Reader {
        /** How long located cgroup files are trusted: a second. */
        static final long RELOCATE_NANOS = 1_000_000_000L;
        static final Reader HOST = new Reader(HostMemory::readIfPresent, System::nanoTime);

        private record Located(List<CgroupFiles> cgroups, long atNanos) {
        }

        private final Function<Path, String> files;
        private final LongSupplier nanoClock;
        private volatile Located located;

        Reader(Function<Path, String> files, LongSupplier nanoClock) {
            this.files = files;
            this.nanoClock = nanoClock;
        }

        Optional<HostMemory> read() {
            long now = nanoClock.getAsLong();
            Located l = located;
            if (l == null || now - l.atNanos() >= RELOCATE_NANOS) {
                l = new Located(locateCgroups(files), now);
                located = l;
            }
            Optional<HostMemory> h = readLocated(files, l.cgroups());
            if (h == null) { // a located file went away: locate them again, now
                l = new Located(locateCgroups(files), now);
                located = l;
                h = readLocated(files, l.cgroups());
            }
            if (h == null) { // gone again between locating and reading: no cgroup figure this time
                located = null;
                h = readLocated(files, List.of());
            }
            return h;
        }
    }

    /**
     * The value of {@code field} in {@code /proc/meminfo}'s text, in bytes (the file gives kB). Looked up with
     * {@code indexOf}, not by splitting the text into lines and words: each start reads it, and in a JVM that has not
     * compiled this code yet the splitting cost more than reading the file.
     */
    static OptionalLong meminfoBytes(String meminfo, String field) {
        String key = field + ":";
        int at = meminfo.startsWith(key) ? 0 : meminfo.indexOf("\n" + key);
        if (at < 0) {
            return OptionalLong.empty();
        }
        int from = (at == 0 ? 0 : at + 1) + key.length();
        int end = meminfo.indexOf('\n', from);
        end = end < 0 ? meminfo.length() : end;
        while (from < end && meminfo.charAt(from) <= ' ') {
            from++;
        }
        int to = from;
        while (to < end && meminfo.charAt(to) > ' ') {
            to++;
        }
        try {
            return OptionalLong.of(Long.parseLong(meminfo.substring(from, to)) * 1024);
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
