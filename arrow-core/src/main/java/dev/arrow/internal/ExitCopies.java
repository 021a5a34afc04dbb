package dev.arrow.internal;

import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.GuestFileReceiver;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The copies of a process's {@link dev.arrow.config.ArrowSpec#copyOutOnExit()} paths, kept on the host once the guest
 * sent them: each in a private temporary directory (made when the first arrives, deleted by {@link #close()}), within
 * the spec's bound on file content for all of them together, or the reason it failed. Serves a declared path, or a path
 * below one, to a host target after the guest is gone. Thread-safe.
 */
public final class ExitCopies implements ExitCopySink {
    private final List<String> declared;
    private final long maxBytes;
    private final Map<String, Path> kept = new HashMap<>();
    private final Map<String, IOException> failed = new HashMap<>();
    private Path directory;
    private HostTreeWriter current;
    private String currentPath;
    private long used;
    private boolean closed;

    /**
     * @param declared the guest paths the guest sends after the program ended
     * @param maxBytes the most file content all of them may hold together
     */
    public ExitCopies(List<String> declared, long maxBytes) {
        this.declared = List.copyOf(declared);
        this.maxBytes = maxBytes;
    }

    @Override
    public synchronized GuestFileReceiver begin(String guestPath) {
        int index = declared.indexOf(guestPath);
        if (index < 0 || kept.containsKey(guestPath) || failed.containsKey(guestPath) || closed) {
            throw new IllegalArgumentException(guestPath + " is not a copy-out path still expected (declared: " + declared + ")");
        }
        discardCurrent();
        try {
            if (directory == null) {
                directory = Files.createTempDirectory("arrow-copy-out-");
            }
            current = new HostTreeWriter(guestPath, directory.resolve(Integer.toString(index)), maxBytes - used);
        } catch (IOException e) {
            throw new UncheckedIOException("keeping the copy of " + guestPath + " on the host failed: " + e.getMessage(), e);
        }
        currentPath = guestPath;
        return current;
    }

    @Override
    public synchronized void end(String guestPath, IOException failure) {
        if (current == null || !guestPath.equals(currentPath)) {
            return;
        }
        HostTreeWriter writer = current;
        current = null;
        if (failure != null) {
            writer.discard();
            failed.put(guestPath, failure);
            return;
        }
        try {
            writer.commit();
            used += writer.bytes();
            kept.put(guestPath, directory.resolve(Integer.toString(declared.indexOf(guestPath))));
        } catch (IOException e) {
            failed.put(guestPath, e);
        }
    }

    /** The declared path that {@code guestPath} is or lies below (the longest such), if any. */
    public Optional<String> declaredCovering(String guestPath) {
        String best = null;
        for (String d : declared) {
            boolean covers = d.equals(guestPath) || d.equals("/") || guestPath.startsWith(d + "/");
            if (covers && (best == null || d.length() > best.length())) {
                best = d;
            }
        }
        return Optional.ofNullable(best);
    }

    /**
     * Copies {@code guestPath}, which {@link #declaredCovering} covers, from what the guest sent to {@code hostTarget},
     * as {@link HostTreeWriter} writes it.
     *
     * @throws IOException why the guest's copy failed or never came, a {@link NoSuchFileException} if {@code guestPath}
     *                     is not in it, or what failed on the host
     */
    public void copyTo(String guestPath, Path hostTarget, long limit, String ending) throws IOException {
        String root = declaredCovering(guestPath).orElseThrow(() -> new IllegalArgumentException(guestPath + " is not declared"));
        Path source;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the copies sent when the program ended were deleted by close()");
            }
            IOException failure = failed.get(root);
            if (failure != null) {
                throw failure;
            }
            Path copy = kept.get(root);
            if (copy == null) {
                throw new FileSystemException(root, null, "the guest did not send it: " + ending);
            }
            source = root.equals(guestPath) ? copy : copy.resolve(guestPath.substring(root.equals("/") ? 1 : root.length() + 1));
        }
        if (!Files.exists(source, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(guestPath, null, "not in the copy of " + root + " the guest sent when its program ended");
        }
        HostTreeWriter writer = new HostTreeWriter(guestPath, hostTarget, limit);
        try {
            HostTreeWriter.replay(source, writer);
            writer.commit();
        } catch (IOException | RuntimeException e) {
            writer.discard();
            throw e;
        }
    }

    /** Deletes the copies kept; {@link #copyTo} fails afterwards. Idempotent. */
    public synchronized void close() {
        closed = true;
        discardCurrent();
        if (directory != null) {
            HostTreeWriter.deleteTree(directory);
            directory = null;
        }
    }

    private void discardCurrent() {
        if (current != null) {
            current.discard();
            current = null;
        }
    }
}
