package dev.arrow.image.erofs;

import java.util.List;
import java.util.Objects;

/**
 * What {@link ErofsWriter} wrote: the image's length (padded), its {@link ContentId} and its files in name order,
 * each with the size and SHA-256 of the bytes actually written.
 */
public record WrittenImage(long length, String contentId, List<ImageEntry> entries) {
    public WrittenImage {
        Objects.requireNonNull(contentId, "contentId");
        entries = List.copyOf(entries);
    }
}
