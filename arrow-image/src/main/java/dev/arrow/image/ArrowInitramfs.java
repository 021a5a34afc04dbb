package dev.arrow.image;

import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.ArrowInit;
import dev.arrow.image.init.ImageMounts;
import dev.arrow.image.init.LaunchSpec;
import dev.arrow.image.init.SpecFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The layout of an Arrow guest's initramfs: Arrow's init as {@value ArrowInit#GUEST_PATH},
 * the app at its spec's executable path (default {@value LaunchSpec#DEFAULT_EXECUTABLE}, mode
 * 0755), the run spec at {@value SpecFile#GUEST_PATH} (0444), {@code /dev/console}, and last the
 * manifest at {@value #MANIFEST_PATH} (0444) that init checks every entry against before the app
 * may run. The returned builder takes further user files.
 */
public final class ArrowInitramfs {
    /** Where the image's manifest goes; init reads it from here (manifest.h's MANIFEST_PATH). */
    public static final String MANIFEST_PATH = "/arrow/manifest";
    /** Arrow's own guest paths: init, and the directory of the app, its spec and the manifest. */
    public static final List<String> RESERVED_PATHS = List.of(ArrowInit.GUEST_PATH, "/arrow");
    /** Where init mounts file systems at boot (init.c's mount_all): whatever the image has there is hidden. */
    public static final List<String> INIT_MOUNT_POINTS = List.of("/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/tmp",
            "/run");

    private ArrowInitramfs() {
    }

    /** Init, the host program {@code app} at {@code spec.executable()}, and the spec. */
    public static Initramfs.Builder builder(Path app, LaunchSpec spec) {
        return builder(spec).file(spec.executable().value(), app, 0755);
    }

    /**
     * Why a file the user gives cannot go to {@code guestPath} (an absolute, normalised path), naming the fix;
     * empty if it can: Arrow's own paths are taken, and init's mounts would hide a file under them.
     */
    public static Optional<String> userFileProblem(String guestPath) {
        String elsewhere = "put the file elsewhere, e.g. \"/data" + guestPath.substring(guestPath.lastIndexOf('/')) + "\"";
        for (String reserved : RESERVED_PATHS) {
            if (isAtOrUnder(guestPath, reserved)) {
                return Optional.of("guest path \"" + guestPath + "\" is Arrow's own (" + String.join(", ", RESERVED_PATHS)
                        + " hold init, the program, its spec and the image's manifest): " + elsewhere);
            }
        }
        for (String mount : INIT_MOUNT_POINTS) {
            if (isAtOrUnder(guestPath, mount)) {
                return Optional.of("guest path \"" + guestPath + "\" would be hidden: init mounts a file system on " + mount
                        + " at boot (" + String.join(", ", INIT_MOUNT_POINTS) + "); " + elsewhere);
            }
        }
        return Optional.empty();
    }

    private static boolean isAtOrUnder(String path, String dir) {
        return path.equals(dir) || path.startsWith(dir + "/");
    }

    /** Init and the spec only: the program named by the spec is added by the caller (or missing on purpose). */
    public static Initramfs.Builder builder(LaunchSpec spec) {
        return withSpec(SpecFile.encode(spec));
    }

    /**
     * A template's image: init, the host program {@code app} at {@value LaunchSpec#DEFAULT_EXECUTABLE} (0755) and the
     * template spec ({@link SpecFile#encodeTemplate()}); each clone's launch spec names the program.
     */
    public static Initramfs.Builder templateBuilder(Path app) {
        return templateBuilder(ImageMounts.NONE).file(LaunchSpec.DEFAULT_EXECUTABLE, app, 0755);
    }

    /**
     * A template's image without the program: init and the template spec with {@code images}, which init mounts before
     * its template point ({@link SpecFile#encodeTemplate(ImageMounts)}); the caller adds the program if it is copied.
     */
    public static Initramfs.Builder templateBuilder(ImageMounts images) {
        return withSpec(SpecFile.encodeTemplate(images));
    }

    private static Initramfs.Builder withSpec(byte[] spec) {
        return Initramfs.builder()
                .manifest(MANIFEST_PATH)
                .file(ArrowInit.GUEST_PATH, ArrowInit.content(), 0755)
                .file(SpecFile.GUEST_PATH, spec, 0444);
    }
}
