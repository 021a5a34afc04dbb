package dev.arrow.internal;

import dev.arrow.GuestFileTooLargeException;
import dev.arrow.spi.GuestFileReceiver;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes one copy out of the guest to a host path as it arrives, so that nothing partial ever appears there: the file
 * or tree is built under a hidden temporary sibling of the target, which {@link #commit()} renames onto the target and
 * {@link #discard()} deletes. It enforces the copy's limit on file content and checks every entry as guest input: the
 * root comes first, every other entry is a name (not empty, {@code .} or {@code ..}) inside a directory this copy
 * created, and nothing is created twice, so no entry lands outside the tree or goes through a link. Permission bits
 * are kept, plus read and write (and search, for directories) for the owner. Thread-safe: a copy the caller gave up
 * on is discarded while the backend may still be feeding it; later calls then fail.
 */
public final class HostTreeWriter implements GuestFileReceiver {
    private static final int CHUNK = 64 * 1024;
    private static final PosixFilePermission[] BITS = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
            PosixFilePermission.OWNER_READ};

    private final String guestPath;
    private final Path target;
    private final long maxBytes;
    private final Set<String> directories = new HashSet<>();
    private final Deque<Path> directoryOrder = new ArrayDeque<>();
    private final Deque<Integer> directoryModes = new ArrayDeque<>();
    private Path temp;
    private OutputStream file;
    private Path filePath;
    private int fileMode;
    private long bytes;
    private boolean finished;

    /**
     * @param guestPath the guest path copied, for messages
     * @param target    where the copy goes; its directory must exist, and it must not be a directory
     * @param maxBytes  the most file content the copy may hold
     * @throws IOException if the target's directory is missing or a directory is in the target's place
     */
    public HostTreeWriter(String guestPath, Path target, long maxBytes) throws IOException {
        this.guestPath = Objects.requireNonNull(guestPath, "guestPath");
        this.target = target.toAbsolutePath();
        this.maxBytes = maxBytes;
        Path parent = this.target.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new NoSuchFileException(String.valueOf(parent), null, "the directory of the host target " + target
                    + " does not exist: create it first");
        }
        checkTargetNotDirectory();
    }

    /** The bytes of file content written so far. */
    public synchronized long bytes() {
        return bytes;
    }

    @Override
    public synchronized void directory(String path, int mode) throws IOException {
        Path p = place(path);
        Files.createDirectory(p);
        directories.add(path);
        directoryOrder.push(p);
        directoryModes.push(mode);
    }

    @Override
    public synchronized void file(String path, int mode) throws IOException {
        Path p = place(path);
        file = new BufferedOutputStream(Files.newOutputStream(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), CHUNK);
        filePath = p;
        fileMode = mode;
    }

    @Override
    public synchronized void content(byte[] data, int offset, int length) throws IOException {
        checkOpen();
        if (file == null) {
            throw malformed("file content without a file");
        }
        if (length > maxBytes - bytes) {
            throw new GuestFileTooLargeException(guestPath, maxBytes, null);
        }
        bytes += length;
        file.write(data, offset, length);
    }

    @Override
    public synchronized void symlink(String path, String linkTarget) throws IOException {
        Path p = place(path);
        try {
            Files.createSymbolicLink(p, Path.of(linkTarget));
        } catch (InvalidPathException e) {
            throw malformed("link " + path + " has the target \"" + linkTarget + "\", which is no path");
        }
    }

    /**
     * Puts the finished copy at the target, replacing a file there.
     *
     * @throws IOException if the guest sent nothing, a directory is now in the target's place, or renaming fails; the
     *                     copy is discarded then
     */
    public synchronized void commit() throws IOException {
        checkOpen();
        try {
            closeFile();
            if (temp == null) {
                throw malformed("the guest sent nothing");
            }
            while (!directoryOrder.isEmpty()) { // deepest first: a directory's own bits never block its children
                setMode(directoryOrder.pop(), directoryModes.pop() | 0700);
            }
            checkTargetNotDirectory();
            if (Files.isDirectory(temp, LinkOption.NOFOLLOW_LINKS)) {
                Files.deleteIfExists(target); // rename(2) puts a directory only where none or an empty one is
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            finished = true;
        } catch (IOException | RuntimeException e) {
            discard();
            throw e;
        }
    }

    /** Deletes whatever was built; the target is left as it was. Idempotent. */
    public synchronized void discard() {
        finished = true;
        try {
            if (file != null) {
                file.close();
            }
        } catch (IOException ignored) {
            // the file is deleted below
        }
        file = null;
        if (temp != null) {
            deleteTree(temp);
            temp = null;
        }
    }

    /** Deletes {@code root} and everything below it, links as links; best effort. */
    public static void deleteTree(Path root) {
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(f);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException ignored) {
            // best effort: what is left is a hidden temporary file
        }
    }

    /** Feeds the host file or tree {@code source} into {@code into}, as the guest would send it. */
    public static void replay(Path source, GuestFileReceiver into) throws IOException {
        Files.walkFileTree(source, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                into.directory(relative(dir), mode(dir));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                if (attrs.isSymbolicLink()) {
                    into.symlink(relative(f), Files.readSymbolicLink(f).toString());
                } else if (attrs.isRegularFile()) {
                    into.file(relative(f), mode(f));
                    try (InputStream in = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS)) {
                        byte[] chunk = new byte[CHUNK];
                        int n;
                        while ((n = in.read(chunk)) > 0) {
                            into.content(chunk, 0, n);
                        }
                    }
                }
                return FileVisitResult.CONTINUE;
            }

            private String relative(Path p) {
                return source.relativize(p).toString();
            }
        });
    }

    /** Where entry {@code path} goes, after checking it as guest input; closes the file before it. */
    private Path place(String path) throws IOException {
        checkOpen();
        closeFile();
        if (temp == null) {
            if (!path.isEmpty()) {
                throw malformed("the first entry is \"" + path + "\", not the root");
            }
            String name = target.getFileName() == null ? "copy" : target.getFileName().toString();
            temp = target.resolveSibling("." + name + ".arrow-copy-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
            return temp;
        }
        int slash = path.lastIndexOf('/');
        String parent = slash < 0 ? "" : path.substring(0, slash);
        String name = path.substring(slash + 1);
        if (path.isEmpty() || slash == 0 || !directories.contains(parent)) {
            throw malformed("entry \"" + path + "\" is not inside a directory of this copy");
        }
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('\0') >= 0) {
            throw malformed("entry \"" + path + "\" has the name \"" + name + "\"");
        }
        return temp.resolve(path);
    }

    private void closeFile() throws IOException {
        if (file != null) {
            OutputStream f = file;
            file = null;
            f.close();
            setMode(filePath, fileMode | 0600);
        }
    }

    private void checkOpen() throws IOException {
        if (finished) {
            throw new IOException("the copy of " + guestPath + " was given up");
        }
    }

    private void checkTargetNotDirectory() throws IOException {
        if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(target.toString(), null,
                    "a directory is in the way of the copy of " + guestPath + ": delete it or choose another target");
        }
    }

    private IOException malformed(String what) {
        return new IOException("the copy of " + guestPath + " from the guest is malformed: " + what);
    }

    private static void setMode(Path p, int mode) throws IOException {
        Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
        for (int i = 0; i < BITS.length; i++) {
            if ((mode & (1 << i)) != 0) {
                permissions.add(BITS[i]);
            }
        }
        try {
            Files.setPosixFilePermissions(p, permissions);
        } catch (UnsupportedOperationException e) {
            // a host file system without POSIX permissions keeps its own
        }
    }

    private static int mode(Path p) throws IOException {
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
            int mode = 0;
            for (int i = 0; i < BITS.length; i++) {
                if (permissions.contains(BITS[i])) {
                    mode |= 1 << i;
                }
            }
            return mode;
        } catch (UnsupportedOperationException e) {
            return Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? 0755 : 0644;
        }
    }
}
