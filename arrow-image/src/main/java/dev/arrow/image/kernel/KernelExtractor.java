package dev.arrow.image.kernel;

import dev.arrow.image.ArrowCache;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Extracts a packaged kernel ({@link KernelArtifact}) to a file, once per content hash: into the first of its
 * directories that takes it, as {@code vmlinux-<sha256>}. The kernel is decompressed into a temporary file in
 * that directory, checked (size and SHA-256 against the index) and renamed over the name atomically, so that two
 * JVMs extracting at once each rename a whole, identical file and a reader never sees a partial one.
 *
 * <p>An existing file of that name and size is used without hashing it again: only a checked file is ever
 * renamed to that name, and the directory is private (hashing 17 MB costs a fresh JVM about 0.35 s, more than
 * the boot it precedes). A directory is skipped (and the next one tried) when it cannot be created or written,
 * belongs to another user or is writable by other users (who could swap the kernel). A damaged artifact fails
 * at once: no directory would help.
 */
public final class KernelExtractor {
    private static final Logger LOG = LoggerFactory.getLogger(KernelExtractor.class);
    private static final String PREFIX = "vmlinux-";

    private final List<Path> directories;

    /** An extractor trying {@code directories} in order. */
    public KernelExtractor(List<Path> directories) {
        if (directories.isEmpty()) throw new IllegalArgumentException("no directory to extract the kernel into");
        this.directories = List.copyOf(directories);
    }

    /**
     * Where Arrow extracts its packaged kernel, in order: the per-user cache ({@code <cache>/kernel/packaged},
     * under {@link ArrowCache#root}), the system-wide {@code /var/cache/arrow/kernel/packaged}
     * (for service users without a home), then {@code <tmpdir>/arrow-<user>/kernel/packaged}.
     */
    public static List<Path> defaultDirectories(Function<String, String> environment, Path home, Path tmpdir, String user) {
        return List.of(
                ArrowCache.root(environment, home).resolve("kernel").resolve("packaged"),
                Paths.get("/var/cache/arrow/kernel/packaged"),
                tmpdir.resolve("arrow-" + user.replace('/', '_')).resolve("kernel").resolve("packaged"));
    }

    /**
     * The path of {@code artifact}'s vmlinux, extracted and verified.
     *
     * @throws KernelLookupException if the artifact is corrupt (naming what is wrong), or no directory took it
     *                               (naming each directory and why)
     */
    public Path extract(KernelArtifact artifact) {
        Objects.requireNonNull(artifact, "artifact");
        List<String> refusals = new ArrayList<>();
        for (Path dir : directories) {
            try {
                return extractInto(dir, artifact);
            } catch (IOException e) {
                String why = dir + " (" + e + ")";
                LOG.debug("cannot extract the packaged kernel into {}", why);
                refusals.add(why);
            }
        }
        throw new KernelLookupException("cannot extract the packaged kernel " + artifact.image() + " into any of "
                + String.join(", ", refusals) + ": make one of them writable, set ARROW_CACHE to a writable directory,"
                + " or pass .kernel(path)");
    }

    private static Path extractInto(Path dir, KernelArtifact artifact) throws IOException {
        ArrowCache.createPrivateDirectory(dir);
        Path target = dir.resolve(PREFIX + artifact.sha256());
        if (Files.isRegularFile(target) && hasSize(target, artifact.size())) {
            LOG.debug("packaged kernel {} already extracted at {}", artifact.key(), target);
            return target;
        }
        Path part = Files.createTempFile(dir, PREFIX, ".part");
        try {
            String sha256 = copy(artifact, part);
            if (!sha256.equals(artifact.sha256())) {
                throw artifact.corrupt("its vmlinux has SHA-256 " + sha256 + ", its index gives " + artifact.sha256(), null);
            }
            PosixFileAttributeView posix = Files.getFileAttributeView(part, PosixFileAttributeView.class);
            if (posix != null) posix.setPermissions(PosixFilePermissions.fromString("rw-r--r--"));
            try {
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("no atomic rename in " + dir, e);
            }
            LOG.debug("packaged kernel {} ({}) extracted to {}", artifact.key(), artifact.source(), target);
            return target;
        } finally {
            Files.deleteIfExists(part);
        }
    }

    /**
     * Decompresses the artifact's vmlinux into {@code part}, at most its index's size, and returns its SHA-256.
     * A read or decompression failure is the artifact's ({@link KernelLookupException}); a write failure is the
     * directory's ({@link IOException}).
     */
    private static String copy(KernelArtifact artifact, Path part) throws IOException {
        MessageDigest sha = sha256();
        long total = 0;
        byte[] buffer = new byte[1 << 16];
        InputStream in;
        try {
            in = artifact.openVmlinux();
        } catch (IOException e) {
            throw artifact.corrupt("cannot open its vmlinux (" + e + ")", e);
        }
        try (in; OutputStream out = Files.newOutputStream(part)) {
            while (true) {
                int n;
                try {
                    n = in.read(buffer);
                } catch (IOException e) {
                    throw artifact.corrupt("its vmlinux does not decompress (" + e + ")", e);
                }
                if (n < 0) break;
                total += n;
                if (total > artifact.size()) {
                    throw artifact.corrupt("its vmlinux has more than the " + artifact.size() + " bytes its index gives", null);
                }
                sha.update(buffer, 0, n);
                out.write(buffer, 0, n);
            }
        }
        if (total != artifact.size()) {
            throw artifact.corrupt("its vmlinux has " + total + " bytes, its index gives " + artifact.size(), null);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Whether {@code file} has {@code size} bytes (false, not an error, when it is gone: it is extracted again). */
    private static boolean hasSize(Path file, long size) {
        try {
            return Files.size(file) == size;
        } catch (IOException e) {
            LOG.debug("extracting the kernel again over {}: {}", file, e.toString());
            return false;
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
