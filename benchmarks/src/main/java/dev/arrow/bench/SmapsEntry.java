package dev.arrow.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One mapping of a {@code /proc/<pid>/smaps} file: its header line
 * ({@code start-end perms offset dev inode [pathname]}), its {@code Name: N kB} counters and its {@code VmFlags}.
 * The one parser of smaps that {@link ProcessMemory} (sums per {@link MappingGroup}) and {@link MappingKinds}
 * (Private_Dirty per kind) both read from.
 *
 * @param start    the first address
 * @param end      the address after the last
 * @param perms    {@code rwxp} and the like ({@code s} for shared, {@code -} for a permission not given)
 * @param pathname what the kernel names the mapping ({@code /memfd:NAME (deleted)}, {@code [heap]},
 *                 {@code anon_inode:kvm-vcpu:0}...), spaces included; empty for anonymous memory
 * @param counters the counter lines in bytes, in file order ({@link MemoryCounters}: {@code THPeligible} and
 *                 other lines without {@code kB} are left out)
 * @param vmFlags  the two-letter flags of the {@code VmFlags} line as the kernel writes them (separated by a
 *                 space); empty without one
 */
public record SmapsEntry(long start, long end, String perms, String pathname, MemoryCounters counters, String vmFlags) {
    private static final Pattern HEADER =
            Pattern.compile("^([0-9a-f]+)-([0-9a-f]+) (\\S+) \\S+ \\S+ \\S+ ?\\s*(.*)$");
    private static final String VM_FLAGS = "VmFlags:";

    /** The mappings of {@code smaps}, in file order; lines before the first header are ignored. */
    public static List<SmapsEntry> parse(String smaps) {
        List<SmapsEntry> entries = new ArrayList<>();
        Matcher header = null;
        Map<String, Long> counters = new LinkedHashMap<>();
        String flags = "";
        for (String line : smaps.split("\n")) {
            Matcher h = HEADER.matcher(line);
            if (h.matches()) {
                if (header != null) {
                    entries.add(of(header, counters, flags));
                }
                header = h;
                counters.clear();
                flags = "";
            } else if (header != null && !MemoryCounters.addLine(counters, line) && line.startsWith(VM_FLAGS)) {
                flags = line.substring(VM_FLAGS.length()).strip();
            }
        }
        if (header != null) {
            entries.add(of(header, counters, flags));
        }
        return entries;
    }

    /** The mappings of the smaps file {@code file} ({@code /proc/self/smaps}, or a copy of one). */
    public static List<SmapsEntry> read(Path file) throws IOException {
        return parse(ProcessMemory.text(file));
    }

    private static SmapsEntry of(Matcher header, Map<String, Long> counters, String flags) {
        return new SmapsEntry(Long.parseUnsignedLong(header.group(1), 16), Long.parseUnsignedLong(header.group(2), 16),
                header.group(3), header.group(4).strip(), new MemoryCounters(counters), flags);
    }

    /** Whether the mapping has no pathname: anonymous memory the kernel does not name. */
    public boolean anonymous() {
        return pathname.isEmpty();
    }

    /** Whether {@link #vmFlags()} has {@code flag} ({@code nr} for {@code MAP_NORESERVE}, {@code ex}...). */
    public boolean hasFlag(String flag) {
        return (" " + vmFlags + " ").contains(" " + flag + " ");
    }

    /** The counter {@code name} in bytes, 0 if the kernel did not report it for this mapping. */
    public long bytes(String name) {
        return counters.get(name).orElse(0);
    }
}
