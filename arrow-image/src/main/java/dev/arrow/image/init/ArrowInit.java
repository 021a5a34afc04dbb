package dev.arrow.image.init;

import dev.arrow.image.ImageException;
import dev.arrow.image.cpio.CheckedBytes;
import java.io.IOException;
import java.io.InputStream;

/**
 * Arrow's init, the static musl program that runs as PID 1 in every guest (source:
 * {@code arrow-image/src/main/c/init.c}). The Maven build compiles it into this jar as the
 * resource {@value #RESOURCE}, so users need no C compiler.
 */
public final class ArrowInit {
    public static final String RESOURCE = "/dev/arrow/image/arrow-init";
    /** Where the kernel looks for init in an initramfs. */
    public static final String GUEST_PATH = "/init";
    /** What {@link #content()} read; null until then. */
    private static volatile CheckedBytes content;

    private ArrowInit() {
    }

    /**
     * The init binary with its checksum, read from the classpath once per class loader (the resource is part of this
     * jar and does not change while it is loaded): every initramfs shares it.
     *
     * @throws ImageException if the resource is missing, empty or unreadable (then it is read again next time)
     */
    public static CheckedBytes content() {
        CheckedBytes c = content;
        if (c == null) {
            c = CheckedBytes.copyOf(load()); // threads racing here read the same resource
            content = c;
        }
        return c;
    }

    /** The init binary's bytes, read from the classpath now. */
    public static byte[] load() {
        try (InputStream in = ArrowInit.class.getResourceAsStream(RESOURCE)) {
            if (in == null)
                throw new ImageException("Arrow's init (" + RESOURCE + ") is missing from the classpath: use an arrow-image jar "
                        + "built by Maven with musl-gcc available (Debian package musl-tools)");
            byte[] bytes = in.readAllBytes();
            if (bytes.length == 0) throw new ImageException("Arrow's init (" + RESOURCE + ") is empty: rebuild arrow-image");
            return bytes;
        } catch (IOException e) {
            throw new ImageException("cannot read Arrow's init (" + RESOURCE + ") from the classpath: " + e.getMessage(), e);
        }
    }
}
