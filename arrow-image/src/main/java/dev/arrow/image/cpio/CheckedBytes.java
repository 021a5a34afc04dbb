package dev.arrow.image.cpio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A file's content held in memory with its CRC-32C (the checksum {@link InitramfsManifest} records), both taken once:
 * immutable, so one instance can go into every initramfs that holds the file (Arrow's init, a cached app binary)
 * without copying or checksumming it again for each archive.
 */
public final class CheckedBytes {
    private final byte[] bytes;
    private final int crc32c;

    private CheckedBytes(byte[] bytes) {
        this.bytes = bytes;
        this.crc32c = InitramfsManifest.crc32c(bytes, 0, bytes.length);
    }

    /** A copy of {@code bytes}, checksummed now. */
    public static CheckedBytes copyOf(byte[] bytes) {
        return new CheckedBytes(Objects.requireNonNull(bytes, "bytes").clone());
    }

    /** The content of {@code file} as read now, checksummed. */
    public static CheckedBytes read(Path file) throws IOException {
        return new CheckedBytes(Files.readAllBytes(file));
    }

    /** The number of bytes. */
    public int length() {
        return bytes.length;
    }

    /** The content's CRC-32C. */
    public int crc32c() {
        return crc32c;
    }

    /** A copy of the content. */
    public byte[] toByteArray() {
        return bytes.clone();
    }

    /** The content itself, for the archive writer only: never modified. */
    byte[] shared() {
        return bytes;
    }
}
