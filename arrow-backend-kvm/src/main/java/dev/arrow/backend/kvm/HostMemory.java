package dev.arrow.backend.kvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;

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

    /** This host, now; empty if /proc/meminfo cannot be read (then no admission check is possible). */
    static Optional<HostMemory> read() {
        return read(p -> {
            try {
                return Files.readString(p);
            } catch (IOException | RuntimeException e) {
                return null;
            }
        });
    }

    /** Like {@link #read()}, with {@code files} returning a file's text or null when it cannot be read. */
    static Optional<HostMemory> read(Function<Path, String> files) {
        String meminfo = files.apply(PROC.resolve("meminfo"));
        OptionalLong available = meminfo == null ? OptionalLong.empty() : meminfoBytes(meminfo, "MemAvailable");
        if (available.isEmpty()) {
            return Optional.empty();
        }
        String cgroups = files.apply(PROC.resolve("self/cgroup"));
        if (cgroups != null) {
            for (String line : cgroups.split("\n")) {
                String[] f = line.split(":", 3);
                if (f.length != 3) {
                    continue;
                }
                if (f[0].equals("0") && f[1].isEmpty()) {
                    OptionalLong room = room(files, CGROUP_ROOT, f[2], "memory.max", "memory.current");
                    if (room.isPresent()) {
                        return Optional.of(new HostMemory(available.getAsLong(), room, "cgroup " + f[2]));
                    }
                }
                if (Arrays.asList(f[1].split(",")).contains("memory")) {
                    OptionalLong room = room(files, CGROUP_ROOT.resolve("memory"), f[2], "memory.limit_in_bytes",
                            "memory.usage_in_bytes");
                    if (room.isPresent()) {
                        return Optional.of(new HostMemory(available.getAsLong(), room, "memory cgroup " + f[2]));
                    }
                }
            }
        }
        return Optional.of(new HostMemory(available.getAsLong(), OptionalLong.empty(), "no memory cgroup limit"));
    }

    /**
     * limit - usage of the cgroup at {@code path} under {@code mount}, or under the mount itself (a
     * container sees its own cgroup there); empty without a limit or without the files.
     */
    private static OptionalLong room(Function<Path, String> files, Path mount, String path, String limitFile,
            String usageFile) {
        String relative = path.startsWith("/") ? path.substring(1) : path;
        for (Path dir : new Path[] {mount.resolve(relative), mount}) {
            String limit = files.apply(dir.resolve(limitFile));
            String usage = files.apply(dir.resolve(usageFile));
            if (limit == null || usage == null) {
                continue;
            }
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
        return OptionalLong.empty();
    }

    private static OptionalLong meminfoBytes(String meminfo, String field) {
        for (String line : meminfo.split("\n")) {
            if (line.startsWith(field + ":")) {
                String[] parts = line.substring(field.length() + 1).trim().split("\\s+");
                try {
                    return OptionalLong.of(Long.parseLong(parts[0]) * 1024);
                } catch (NumberFormatException e) {
                    return OptionalLong.empty();
                }
            }
        }
        return OptionalLong.empty();
    }
}
