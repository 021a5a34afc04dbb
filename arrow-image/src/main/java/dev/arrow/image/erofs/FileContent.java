package dev.arrow.image.erofs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
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
     * @throws IOException        if its attributes cannot be read for another reason
     */
    long size() throws IOException;

    /** A host file, read when needed: its size and bytes are those it has at that moment. */
    record HostFile(Path path) implements FileContent {
        public HostFile {
            Objects.requireNonNull(path, "path");
        }

        @Override
        public long size() throws IOException {
            try {
                BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
                if (!attributes.isRegularFile()) throw ImageFileException.notARegularFile(path);
                return attributes.size();
            } catch (NoSuchFileException e) {
                throw ImageFileException.missingHostFile(path);
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
