package dev.arrow.backend.kvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * This JVM's mappings of one file, read from {@code /proc/self/smaps}: how the application loader's tier-4 tests see
 * whether arrows share the host's pages of an image (docs/loader.md). {@code Rss} counts a resident page once per
 * mapping that holds it; {@code Pss} divides it among them, so the sum of {@code Pss} over the mappings of a file no
 * other process maps is how much of it is resident, counted once.
 *
 * @param all the mappings, in address order
 */
record FileMappings(List<Mapping> all) {
    /** A mapping's first line: range, permissions, offset, device, inode, then the path (absent for anonymous memory). */
    private static final Pattern HEADER = Pattern.compile("^[0-9a-f]+-[0-9a-f]+ \\S+ [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ (\\d+)\\s*(.*)$");

    /**
     * One mapping.
     *
     * @param path   the path smaps gives (the mapped file's, {@code (deleted)} appended once it is unlinked)
     * @param ofFile whether it maps the file asked for itself: its real path and inode (not the device, which smaps gives
     *               as the file system's and {@code stat} per subvolume on btrfs)
     */
    record Mapping(String path, boolean ofFile, long rssKiB, long pssKiB, long privateDirtyKiB) {
    }

    FileMappings {
        all = List.copyOf(all);
    }

    /**
     * The mappings whose path names {@code file}'s name: those of {@code file} itself, and those of any other file of
     * that name (a copy elsewhere, or one since unlinked), told apart by {@link Mapping#ofFile()}.
     */
    static FileMappings named(Path file) throws IOException {
        String name = file.getFileName().toString();
        String path = file.toRealPath().toString();
        String inode = Files.getAttribute(file, "unix:ino").toString();
        List<Mapping> found = new ArrayList<>();
        Matcher header = null;
        long rss = 0, pss = 0, dirty = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            Matcher m = HEADER.matcher(line);
            if (m.matches()) {
                if (header != null) found.add(mapping(header, path, inode, rss, pss, dirty));
                header = m.group(2).contains(name) ? m : null;
                rss = pss = dirty = 0;
            } else if (header != null) {
                String[] f = line.split("\\s+");
                switch (f[0]) {
                    case "Rss:" -> rss = Long.parseLong(f[1]);
                    case "Pss:" -> pss = Long.parseLong(f[1]);
                    case "Private_Dirty:" -> dirty = Long.parseLong(f[1]);
                    default -> { }
                }
            }
        }
        if (header != null) found.add(mapping(header, path, inode, rss, pss, dirty));
        return new FileMappings(found);
    }

    private static Mapping mapping(Matcher header, String path, String inode, long rss, long pss, long dirty) {
        boolean ofFile = header.group(2).equals(path) && header.group(1).equals(inode);
        return new Mapping(header.group(2), ofFile, rss, pss, dirty);
    }

    int count() {
        return all.size();
    }

    long rssKiB() {
        return all.stream().mapToLong(Mapping::rssKiB).sum();
    }

    long pssKiB() {
        return all.stream().mapToLong(Mapping::pssKiB).sum();
    }

    long privateDirtyKiB() {
        return all.stream().mapToLong(Mapping::privateDirtyKiB).sum();
    }
}
