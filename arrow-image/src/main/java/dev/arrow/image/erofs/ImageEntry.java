package dev.arrow.image.erofs;

import java.util.HexFormat;
import java.util.Objects;

/**
 * One file as an image holds it: name, permission bits, size and the SHA-256 of its bytes. The entries of an image
 * are what its {@link ContentId} covers.
 *
 * @param sha256 lower-case hex, 64 digits
 */
public record ImageEntry(String name, int mode, long size, String sha256) {
    public ImageEntry {
        ImageFile.checkName(name);
        if ((mode & ~ImageFile.PERMISSION_BITS) != 0) throw new IllegalArgumentException("mode 0" + Integer.toOctalString(mode) + " is not permission bits");
        if (size < 0) throw new IllegalArgumentException("negative size " + size);
        Objects.requireNonNull(sha256, "sha256");
        if (sha256.length() != 64 || !sha256.equals(sha256.toLowerCase(java.util.Locale.ROOT))) {
            throw new IllegalArgumentException("not a lower-case hex SHA-256: " + sha256);
        }
        HexFormat.of().parseHex(sha256); // throws on a non-hex digit
    }
}
