package dev.arrow.image;

import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.ArrowInit;
import dev.arrow.image.init.LaunchSpec;
import dev.arrow.image.init.SpecFile;
import java.nio.file.Path;

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

    private ArrowInitramfs() {
    }

    /** Init, the host program {@code app} at {@code spec.executable()}, and the spec. */
    public static Initramfs.Builder builder(Path app, LaunchSpec spec) {
        return builder(spec).file(spec.executable().value(), app, 0755);
    }

    /** Init and the spec only: the program named by the spec is added by the caller (or missing on purpose). */
    public static Initramfs.Builder builder(LaunchSpec spec) {
        return Initramfs.builder()
                .manifest(MANIFEST_PATH)
                .file(ArrowInit.GUEST_PATH, ArrowInit.load(), 0755)
                .file(SpecFile.GUEST_PATH, SpecFile.encode(spec), 0444);
    }
}
