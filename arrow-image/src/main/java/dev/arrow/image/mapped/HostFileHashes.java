package dev.arrow.image.mapped;

import dev.arrow.image.FileStamp;
import dev.arrow.image.erofs.ContentId;
import dev.arrow.image.erofs.ImageFileException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SHA-256 of host files, remembered per file by its path, device, inode, size, mtime and ctime: in memory and in
 * a file ({@value #STORE}) beside the images, so that neither this JVM nor the next hashes an unchanged 100 MiB
 * binary again. Any change to the file changes its ctime (and writing it, its mtime), so a changed file is hashed
 * again.
 *
 * <p>File times are coarse (a kernel tick), so a file written just before it was hashed might be written again
 * without its times changing: such a hash is used but not remembered, until the file has been still for
 * {@link #SETTLE}. JVMs sharing the store merge their entries when they save it; a lost entry only costs a hash.
 * Entries of files that changed or went away are dropped on save.
 */
final class HostFileHashes {
    static final String STORE = "host-file-hashes";
    /** How long a file must have been unchanged before its hash is remembered. */
    static final Duration SETTLE = FileStamp.SETTLE;
    private static final String HEADER = "arrow host-file-hashes 1";
    private static final Logger LOG = LoggerFactory.getLogger(HostFileHashes.class);

    /** A host file's size and SHA-256 (lower-case hex). */
    record Hash(long size, String sha256) {
    }

    private record Known(FileStamp stamp, String sha256) {
    }

    private final Path store;
    private final Clock clock;
    private final Map<Path, Known> known = new HashMap<>(); // guarded by this
    private boolean loaded; // guarded by this
    private boolean unsaved; // guarded by this
    private long filesHashed; // guarded by this

    HostFileHashes(Path store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    /**
     * The size and SHA-256 of the regular file {@code file} now: remembered if it has not changed since it was last
     * hashed, else read.
     *
     * @throws ImageFileException if it is missing, not a regular file, unreadable, or changed while it was hashed
     * @throws IOException        if it cannot be read for another reason
     */
    Hash hash(Path file) throws IOException {
        Path key = file.toAbsolutePath();
        try {
            FileStamp before = FileStamp.of(key);
            synchronized (this) {
                loadOnce();
                Known k = known.get(key);
                if (k != null && k.stamp().equals(before)) return new Hash(before.size(), k.sha256());
            }
            String sha256 = sha256(key);
            FileStamp after = FileStamp.of(key);
            if (!after.equals(before)) throw ImageFileException.changedWhileRead(file, "changed");
            synchronized (this) {
                filesHashed++;
                if (settled(after)) {
                    known.put(key, new Known(after, sha256));
                    unsaved = true;
                }
            }
            return new Hash(after.size(), sha256);
        } catch (NoSuchFileException e) {
            throw ImageFileException.missingHostFile(file);
        } catch (AccessDeniedException e) {
            throw ImageFileException.unreadableHostFile(file);
        }
    }

    /** How many files this instance has read to hash them. */
    synchronized long filesHashed() {
        return filesHashed;
    }

    /**
     * Writes what is remembered to the store (merged with what other JVMs saved there), when anything new is; drops
     * entries whose files changed or went away. The store is replaced atomically.
     */
    synchronized void save() throws IOException {
        if (!unsaved) return;
        Map<Path, Known> merged = read();
        merged.putAll(known);
        known.clear();
        for (Map.Entry<Path, Known> e : merged.entrySet()) {
            if (current(e.getKey(), e.getValue().stamp())) known.put(e.getKey(), e.getValue());
        }
        Path part = Files.createTempFile(store.getParent(), STORE + ".", ImageCache.TEMP_SUFFIX);
        try {
            try (BufferedWriter out = Files.newBufferedWriter(part, StandardCharsets.UTF_8)) {
                out.write(HEADER + "\n");
                for (Map.Entry<Path, Known> e : known.entrySet()) {
                    String path = e.getKey().toString();
                    if (path.indexOf('\n') >= 0 || path.indexOf('\r') >= 0) continue; // one entry per line
                    FileStamp s = e.getValue().stamp();
                    out.write(e.getValue().sha256() + " " + s.device() + " " + s.inode() + " " + s.size() + " " + s.mtime()
                            + " " + s.ctime() + " " + path + "\n");
                }
            }
            Files.move(part, store, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            unsaved = false;
        } finally {
            Files.deleteIfExists(part);
        }
    }

    private void loadOnce() {
        if (loaded) return;
        loaded = true;
        known.putAll(read());
    }

    /** The store's entries; an unreadable store or line is skipped (it is a cache: the files are hashed again). */
    private Map<Path, Known> read() {
        Map<Path, Known> entries = new HashMap<>();
        List<String> lines;
        try {
            if (!Files.isRegularFile(store)) return entries;
            lines = Files.readAllLines(store, StandardCharsets.UTF_8);
        } catch (IOException e) {
            LOG.warn("ignoring the host file hashes in {}: {}", store, e.toString());
            return entries;
        }
        if (lines.isEmpty() || !lines.get(0).equals(HEADER)) {
            LOG.warn("ignoring the host file hashes in {}: not a \"{}\" file", store, HEADER);
            return entries;
        }
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(" ", 7);
            try {
                if (f.length != 7 || !f[0].matches("[0-9a-f]{64}")) throw new IllegalArgumentException(line);
                FileStamp stamp = new FileStamp(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                        Long.parseLong(f[5]));
                entries.put(Path.of(f[6]), new Known(stamp, f[0]));
            } catch (IllegalArgumentException e) { // also a bad number or path
                LOG.debug("ignoring a malformed line of {}: {}", store, line);
            }
        }
        return entries;
    }

    /** Whether {@code file} has not changed for {@link #SETTLE}: later changes will show in its times. */
    private boolean settled(FileStamp stamp) {
        return stamp.settled(clock);
    }

    private static boolean current(Path file, FileStamp stamp) {
        try {
            return FileStamp.of(file).equals(stamp);
        } catch (IOException | ImageFileException e) {
            return false;
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest sha = ContentId.sha256();
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) sha.update(buffer, 0, n);
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
