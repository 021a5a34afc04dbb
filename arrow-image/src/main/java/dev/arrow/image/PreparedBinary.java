package dev.arrow.image;

import dev.arrow.image.cpio.CheckedBytes;
import dev.arrow.image.elf.StaticBinary;
import dev.arrow.image.mapped.ReadOnlyImage;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * What an arrow's start needs of its app binary, done once for one version of the file ({@link AppBinaryCache}):
 * the binary checked ({@link dev.arrow.image.elf.StaticBinaryCheck}), and either its read-only image, when the
 * application loader maps it, or its bytes with their checksum, when it is copied into the initramfs and small
 * enough to hold.
 *
 * @param path    the binary as the spec names it
 * @param stamp   the version of the file all the rest was made from
 * @param binary  what the check found
 * @param image   the binary's image, when it is mapped ({@link LoaderPlan})
 * @param content the binary's bytes, when it is copied and held; empty: read from the file when the initramfs is written
 */
public record PreparedBinary(Path path, FileStamp stamp, StaticBinary binary, Optional<ReadOnlyImage> image,
                             Optional<CheckedBytes> content) {
    public PreparedBinary {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(stamp, "stamp");
        Objects.requireNonNull(binary, "binary");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(content, "content");
        if (image.isPresent() && content.isPresent())
            throw new IllegalArgumentException("a binary is either mapped or copied, not both");
    }

    /** Bytes of heap this holds. */
    long heapBytes() {
        return content.map(CheckedBytes::length).orElse(0);
    }
}
