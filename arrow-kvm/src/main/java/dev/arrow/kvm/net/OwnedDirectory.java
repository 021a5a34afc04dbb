package dev.arrow.kvm.net;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Private directories named after the JVM that made them, and the sweep of those whose JVM is gone.
 *
 * <p>A name is {@code PREFIX<pid>-<start>-<pidns>-<random>}: the JVM's pid, its start time (field
 * 22 of {@code /proc/<pid>/stat}, clock ticks since boot, which tells a reused pid apart) and its
 * pid namespace (the inode of {@code /proc/self/ns/pid}). A directory's JVM is gone when, in the
 * sweeping JVM's own pid namespace, no process has that pid and start time. A directory from
 * another pid namespace (a container sharing /tmp), one owned by another user, a symbolic link, or
 * any name not in this form is never touched. A JVM that dies without closing what it made
 * (SIGKILL, {@code System.exit} without close, a crash) leaves its directories behind; the next
 * JVM's first {@link #sweep} removes them.
 */
final class OwnedDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(OwnedDirectory.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern PID_NS = Pattern.compile("pid:\\[(\\d+)]");
    private static final Pattern OWNER = Pattern.compile("(\\d{1,7})-(\\d{1,19})-(\\d{1,19})-[0-9a-f]{8}");

    /** Who owns a directory: a process by pid, start time and pid namespace. */
    record Owner(long pid, long startTicks, long pidNamespace) {

        /** This JVM (read from /proc each time: cheap, once per directory). */
        static Owner self() {
            long pid = ProcessHandle.current().pid();
            OptionalLong start = readStartTicks(pid);
            if (start.isEmpty()) {
                throw new IllegalStateException("cannot read this JVM's start time from /proc/" + pid
                        + "/stat: Arrow needs a Linux /proc");
            }
            return new Owner(pid, start.getAsLong(), readPidNamespace());
        }

        /** Whether a process with this pid and start time lives in this JVM's pid namespace. */
        boolean isAlive() {
            OptionalLong start = readStartTicks(pid);
            return start.isPresent() && start.getAsLong() == startTicks;
        }

        String nameFragment() {
            return pid + "-" + startTicks + "-" + pidNamespace;
        }
    }

    private OwnedDirectory() {
    }

    /**
     * Creates a new directory {@code base/PREFIX<owner>-<random>} with {@code permissions}
     * (applied after creation, so the umask does not narrow them).
     */
    static Path create(Path base, String prefix, Set<PosixFilePermission> permissions) throws IOException {
        while (true) {
            Path dir = base.resolve(name(prefix, Owner.self()));
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(
                        Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                                PosixFilePermission.OWNER_EXECUTE)));
            } catch (FileAlreadyExistsException e) {
                continue; // 32 random bits collided: draw again
            }
            Files.setPosixFilePermissions(dir, permissions);
            return dir;
        }
    }

    /** A fresh name for a directory of {@code owner}; its length is {@link #maxNameLength} at most. */
    static String name(String prefix, Owner owner) {
        byte[] random = new byte[4];
        RANDOM.nextBytes(random);
        return prefix + owner.nameFragment() + "-" + HexFormat.of().formatHex(random);
    }

    /** The length of the names {@link #name} makes for this JVM with {@code prefix}. */
    static int nameLength(String prefix) {
        return name(prefix, Owner.self()).length();
    }

    /** The longest name {@link #name} makes with {@code prefix}, for any owner. */
    static int maxNameLength(String prefix) {
        // pid (pid_max is at most 2^22: 7 digits), start ticks and namespace inode (each a long: 19 digits), 8 hex
        return prefix.length() + 7 + 1 + 19 + 1 + 19 + 1 + 8;
    }

    /** The owner a directory name records, if it is one of {@link #name}'s names for {@code prefix}. */
    static Optional<Owner> ownerOf(String prefix, String fileName) {
        if (!fileName.startsWith(prefix)) {
            return Optional.empty();
        }
        Matcher m = OWNER.matcher(fileName.substring(prefix.length()));
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Owner(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                    Long.parseLong(m.group(3))));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Removes the directories {@code PREFIX...} in {@code base} whose owner JVM is gone (see the
     * class comment for what is never touched).
     *
     * @return the directories removed
     */
    static List<Path> sweep(Path base, String prefix) {
        List<Path> removed = new ArrayList<>();
        Owner self = Owner.self();
        if (self.pidNamespace() == 0) {
            LOG.debug("not sweeping {}* in {}: this JVM's pid namespace is unknown (/proc/self/ns/pid)", prefix, base);
            return removed;
        }
        int myUid = NetLibC.geteuid();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(base, prefix + "*")) {
            for (Path dir : entries) {
                Optional<Owner> owner = ownerOf(prefix, dir.getFileName().toString());
                if (owner.isEmpty() || owner.get().pidNamespace() != self.pidNamespace() || owner.get().isAlive()) {
                    continue;
                }
                try {
                    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
                            || ((Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS)) != myUid) {
                        continue;
                    }
                } catch (IOException | UnsupportedOperationException e) {
                    continue;
                }
                deleteTree(dir);
                if (Files.notExists(dir, LinkOption.NOFOLLOW_LINKS)) {
                    removed.add(dir);
                }
            }
        } catch (NoSuchFileException e) {
            return removed;
        } catch (IOException e) {
            LOG.warn("cannot look for stale {}* directories in {}: {}", prefix, base, e.toString());
        }
        if (!removed.isEmpty()) {
            LOG.info("removed {} {}* director{} left in {} by JVMs that ended without closing their arrows: {}",
                    removed.size(), prefix, removed.size() == 1 ? "y" : "ies", base, removed);
        }
        return removed;
    }

    /** Field 22 of /proc/PID/stat (start time in clock ticks after boot), empty when there is no such process. */
    /** Deletes {@code directory} and everything in it; what cannot be deleted is logged and left. */
    static void deleteTree(Path directory) {
        try (Stream<Path> walk = Files.walk(directory)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.warn("cannot delete {}: {}", p, e.toString());
                }
            });
        } catch (IOException e) {
            LOG.warn("cannot delete {}: {}", directory, e.toString());
        }
    }

    static OptionalLong readStartTicks(long pid) {
        try {
            return startTicksOf(Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.ISO_8859_1));
        } catch (IOException e) {
            return OptionalLong.empty();
        }
    }

    /** Field 22 of the text of a /proc/PID/stat file. */
    static OptionalLong startTicksOf(String stat) {
        // the command name (field 2) is in parentheses and may hold spaces and ')': fields 3.. follow the last ')'
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            return OptionalLong.empty();
        }
        String[] fields = stat.substring(close + 1).trim().split(" +");
        int index = 22 - 3; // fields[0] is field 3
        if (fields.length <= index) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(Long.parseLong(fields[index]));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** The inode of this process's pid namespace, 0 when /proc/self/ns/pid cannot be read. */
    static long readPidNamespace() {
        try {
            Matcher m = PID_NS.matcher(Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString());
            return m.matches() ? Long.parseLong(m.group(1)) : 0;
        } catch (IOException | UnsupportedOperationException | NumberFormatException e) {
            return 0;
        }
    }
}
