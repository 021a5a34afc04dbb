package dev.arrow.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;
import java.util.function.Function;

/**
 * Arrow's per-user cache on the host: where it is ({@code $ARROW_CACHE}, else {@code $XDG_CACHE_HOME/arrow}, else
 * {@code ~/.cache/arrow}, as in scripts/lib.sh) and how a directory in it is made private. The kernel cache
 * ({@code kernel/}) and the read-only image cache ({@code images/}) live under this root.
 */
public final class ArrowCache {
    /** Owned by the user this JVM runs as (Linux). */
    private static final Path PROCESS = Paths.get("/proc/self");
    private static final Set<PosixFilePermission> SHARED_WRITE =
            Set.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);

    private ArrowCache() {
    }

    /** {@code $ARROW_CACHE}, else {@code $XDG_CACHE_HOME/arrow}, else {@code <home>/.cache/arrow}. */
    public static Path root(Function<String, String> environment, Path home) {
        String arrow = environment.apply("ARROW_CACHE");
        if (arrow != null && !arrow.isBlank()) return Paths.get(arrow);
        String xdg = environment.apply("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) return Paths.get(xdg, "arrow");
        return home.resolve(".cache").resolve("arrow");
    }

    /** The cache root of this JVM's environment and {@code user.home}. */
    public static Path root() {
        return root(System::getenv, Paths.get(System.getProperty("user.home")));
    }

    /**
     * Creates {@code dir} (and its parents) when missing, {@code rwxr-xr-x} whatever the umask, and checks that it is
     * private: owned by this user and writable by no other, so that nothing checked in it can be swapped.
     *
     * @throws IOException naming why the directory cannot be used
     */
    public static void createPrivateDirectory(Path dir) throws IOException {
        if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            // explicit, so that a umask of 002 does not make them group-writable (which the check refuses)
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        } else {
            Files.createDirectories(dir);
        }
        PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
        if (view == null) return;
        PosixFileAttributes attributes = view.readAttributes();
        UserPrincipal self = Files.getOwner(PROCESS); // this JVM's user, also for a uid without a passwd entry
        if (!attributes.owner().equals(self)) {
            throw new IOException("owned by " + attributes.owner().getName() + ", not by this user (" + self.getName() + ")");
        }
        if (attributes.permissions().stream().anyMatch(SHARED_WRITE::contains)) {
            throw new IOException("writable by other users (" + PosixFilePermissions.toString(attributes.permissions()) + ")");
        }
    }
}
