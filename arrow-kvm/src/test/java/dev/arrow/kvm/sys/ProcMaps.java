package dev.arrow.kvm.sys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** This process's mappings as /proc/self/maps lists them, for tests that check what is mapped where. */
public final class ProcMaps {
    /** One line: {@code [start, end)} with permissions such as {@code rw-p} or {@code ---p}. */
    public record Mapping(long start, long end, String permissions) {
        boolean overlaps(long from, long to) {
            return Long.compareUnsigned(start, to) < 0 && Long.compareUnsigned(from, end) < 0;
        }
    }

    private final List<Mapping> mappings;

    private ProcMaps(List<Mapping> mappings) {
        this.mappings = mappings;
    }

    /** Reads /proc/self/maps now. */
    public static ProcMaps read() {
        List<Mapping> list = new ArrayList<>();
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            lines.forEach(line -> {
                String[] fields = line.split("\\s+", 3);
                String[] range = fields[0].split("-");
                list.add(new Mapping(Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16),
                        fields[1]));
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new ProcMaps(list);
    }

    /** The mappings that share at least one byte with {@code [from, to)}. */
    public List<Mapping> overlapping(long from, long to) {
        return mappings.stream().filter(m -> m.overlaps(from, to)).toList();
    }

    /** True when every byte of {@code [from, to)} is mapped with exactly {@code permissions}. */
    public boolean coveredWith(long from, long to, String permissions) {
        long at = from;
        for (Mapping m : mappings) { // sorted by address, as the kernel lists them
            if (Long.compareUnsigned(m.end(), at) <= 0 || Long.compareUnsigned(m.start(), to) >= 0) {
                continue;
            }
            if (Long.compareUnsigned(m.start(), at) > 0 || !m.permissions().equals(permissions)) {
                return false;
            }
            at = m.end();
            if (Long.compareUnsigned(at, to) >= 0) {
                return true;
            }
        }
        return false;
    }

    /** How many lines of /proc/self/maps, read now, contain {@code text} (a file or anon inode name). */
    public static long linesContaining(String text) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(line -> line.contains(text)).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The number of file descriptors this process has open now. */
    public static long openFds() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
