package dev.arrow.image.mapped;

import dev.arrow.image.erofs.ContentId;
import dev.arrow.image.erofs.ErofsWriter;
import dev.arrow.image.erofs.ImageEntry;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * A finished EROFS image in the {@link ImageCache}: a read-only ({@code 0444}) file that is never changed or replaced
 * once it has this path, to be mapped into guests read-only (virtio-pmem) and mounted there with DAX.
 *
 * @param path      the image file
 * @param length    its length in bytes, a multiple of {@link ErofsWriter#LENGTH_ALIGNMENT}
 * @param contentId the {@link ContentId} of its files (64 hex digits), also the file's name
 * @param entries   its files in name order: name, mode, size, SHA-256
 */
public record ReadOnlyImage(Path path, long length, String contentId, List<ImageEntry> entries) {
    public ReadOnlyImage {
        Objects.requireNonNull(path, "path");
        if (length <= 0 || length % ErofsWriter.LENGTH_ALIGNMENT != 0) {
            throw new IllegalArgumentException("image length " + length + " is not a positive multiple of " + ErofsWriter.LENGTH_ALIGNMENT);
        }
        Objects.requireNonNull(contentId, "contentId");
        entries = List.copyOf(entries);
    }

    /** The UUID in the image's superblock, derived from {@link #contentId()}. */
    public UUID uuid() {
        return ContentId.uuid(contentId);
    }
}
