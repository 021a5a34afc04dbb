package dev.arrow.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A file placed into the guest's root file system before the program starts: either a copy of a
 * host file or inline content. The guest path and mode are checked when the spec is built.
 *
 * <p>A copy of a host file keeps the host file's permission bits (read when the guest starts, so an
 * executable stays executable) unless {@link #withMode(int)} sets them; inline content gets
 * {@link #DEFAULT_MODE} unless {@link #withMode(int)} says otherwise.
 *
 * <p>A large host file (and the app binary) reaches the guest through Arrow's application loader (docs/loader.md):
 * mapped read-only from a host image that every arrow shares, never copied into guest RAM; the app can read and
 * execute it but not write it ({@code EROFS}). {@link #writable()} asks for a private copy the app may change instead.
 */
public final class GuestFile {

    /** Mode given to inline content when none is asked for: {@code 0644} (rw-r--r--). */
    public static final int DEFAULT_MODE = 0644;

    /** Where the content of a guest file comes from. */
    public sealed interface Source permits HostFile, Content {
    }

    /** The content of the host file {@code path}, read when the guest starts. */
    public record HostFile(Path path) implements Source {
        public HostFile {
            Objects.requireNonNull(path, "path");
        }
    }

    /** Inline content; the array is copied in and out. */
    public static final class Content implements Source {
        private final byte[] bytes;

        Content(byte[] bytes) {
            this.bytes = bytes.clone();
        }

        /** A copy of the content. */
        public byte[] bytes() {
            return bytes.clone();
        }

        /** Length of the content in bytes. */
        public int length() {
            return bytes.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Content other && Arrays.equals(bytes, other.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Content[" + bytes.length + " bytes]";
        }
    }

    private final String guestPath;
    private final Source source;
    /** The permission bits asked for; empty for a host file that keeps its own. */
    private final OptionalInt mode;
    /** Whether the guest gets a private copy it may change, rather than a read-only mapping of a large host file. */
    private final boolean writable;

    private GuestFile(String guestPath, Source source, OptionalInt mode, boolean writable) {
        this.guestPath = Objects.requireNonNull(guestPath, "guestPath");
        this.source = Objects.requireNonNull(source, "source");
        this.mode = mode;
        this.writable = writable;
    }

    /**
     * A copy of the host file {@code hostPath} at {@code guestPath}, with the host file's permission bits
     * (taken when the guest starts); {@link #withMode(int)} sets others.
     */
    public static GuestFile fromHost(Path hostPath, String guestPath) {
        return new GuestFile(guestPath, new HostFile(hostPath), OptionalInt.empty(), false);
    }

    /** {@code content} at {@code guestPath}, mode {@code 0644}. */
    public static GuestFile ofBytes(byte[] content, String guestPath) {
        Objects.requireNonNull(content, "content");
        return new GuestFile(guestPath, new Content(content), OptionalInt.of(DEFAULT_MODE), false);
    }

    /** {@code text} encoded as UTF-8 at {@code guestPath}, mode {@code 0644}. */
    public static GuestFile ofText(String text, String guestPath) {
        Objects.requireNonNull(text, "text");
        return ofBytes(text.getBytes(StandardCharsets.UTF_8), guestPath);
    }

    /**
     * This file with permission bits {@code mode} (e.g. {@code 0755}), 0..07777 (checked when the spec is
     * built); for a host file they replace the host file's own.
     */
    public GuestFile withMode(int mode) {
        return new GuestFile(guestPath, source, OptionalInt.of(mode), writable);
    }

    /**
     * This file as a private copy in the guest that the app may change, even when it is large enough for the
     * application loader to map it read-only (the default for large host files). The copy costs guest RAM and start
     * time in proportion to its size.
     */
    public GuestFile writable() {
        return new GuestFile(guestPath, source, mode, true);
    }

    /** Whether {@link #writable()} was asked for. */
    public boolean isWritable() {
        return writable;
    }

    /** Absolute path in the guest. */
    public String guestPath() {
        return guestPath;
    }

    /** Where the content comes from. */
    public Source source() {
        return source;
    }

    /**
     * The permission bits asked for, e.g. {@code 0644}; empty for a host file that keeps the host file's
     * own bits. Inline content always has a mode ({@link #DEFAULT_MODE} unless set).
     */
    public OptionalInt mode() {
        return mode;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GuestFile other && guestPath.equals(other.guestPath)
                && source.equals(other.source) && mode.equals(other.mode) && writable == other.writable;
    }

    @Override
    public int hashCode() {
        return Objects.hash(guestPath, source, mode, writable);
    }

    @Override
    public String toString() {
        return "GuestFile[" + guestPath + " <- " + source + ", mode "
                + (mode.isPresent() ? Integer.toOctalString(mode.getAsInt()) : "of the host file") + (writable ? ", writable" : "") + "]";
    }
}
