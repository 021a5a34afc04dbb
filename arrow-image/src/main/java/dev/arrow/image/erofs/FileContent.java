package dev.arrow.image.erofs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * Where the bytes of an {@link ImageFile} come from: a host file, streamed when the image is written (never loaded
 * whole), or bytes the caller holds.
 */
public sealed interface FileContent {
    /**
     * The current size in bytes.
     *
     * @throws ImageFileException if a host file is missing or is not a regular file
     * @throws UncheckedIOException if it cannot be read for another reason
     */
    long size();

    /** A host file, read when needed: its size and bytes are those it has at that moment. */
    record HostFile(Path path) implements FileContent {
        public HostFile {
            Objects.requireNonNull(path, "path");
        }

        @Override
        public long size() {
            try {
                if (!Files.isRegularFile(path)) {
                    if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
                    throw new ImageFileException("host file " + path + " is not a regular file: pass a regular file (not a directory or device)");
                }
                return Files.size(path);
            } catch (NoSuchFileException e) {
                throw new ImageFileException("host file " + path + " does not exist: fix the path or create the file");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the size of host file " + path, e);
            }
        }
    }

    /** Bytes held in memory (copied in and out, so that nobody can change them). */
    record Bytes(byte[] bytes) implements FileContent {
        public Bytes {
            bytes = bytes.clone();
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }

        @Override
        public long size() {
            return bytes.length;
        }

        /** The bytes themselves, for this package's readers that do not change them. */
        byte[] shared() {
            return bytes;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes other && Arrays.equals(bytes, other.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Bytes[" + bytes.length + " bytes]";
        }
    }
}
