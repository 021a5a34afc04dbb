package dev.arrow.image.cpio;

import dev.arrow.config.LinuxLimits;
import dev.arrow.image.GuestPath;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;

/**
 * An initramfs as an ordered set of guest-side entries, written as an uncompressed newc cpio
 * archive by {@link #writeTo(OutputStream)}.
 *
 * <p>The builder starts with {@code /dev} and the character device {@code /dev/console} (5:1),
 * which the kernel opens for init before any devtmpfs exists. Parent directories are added
 * automatically (mode 0755) before their children; a path may be added once (an automatic
 * directory may later be given an explicit mode). Host files are read when the archive is
 * written; their size and mode are taken at {@link Builder#build()}. Entries carry owner 0:0
 * and one fixed mtime, so equal inputs give byte-identical archives. With
 * {@link Builder#manifest(String)} the archive ends with an {@link InitramfsManifest} of every
 * entry before it, whose checksums are taken while the entries are written.
 */
public final class Initramfs {
    public static final int CONSOLE_MAJOR = 5;
    public static final int CONSOLE_MINOR = 1;
    public static final GuestPath CONSOLE = GuestPath.of("/dev/console");

    /** Bytes of content a page of the guest's file systems holds. */

    private final List<Entry> entries;
    private final long mtime;
    private final GuestPath manifest;
    private final long manifestBytes;

    private Initramfs(List<Entry> entries, long mtime, GuestPath manifest) {
        this.entries = List.copyOf(entries);
        this.mtime = mtime;
        this.manifest = manifest;
        this.manifestBytes = manifest == null ? 0 : InitramfsManifest.render(records()).length;
        if (manifestBytes > InitramfsManifest.MAX_BYTES)
            throw new InitramfsException("the manifest of " + entries.size() + " entries has " + manifestBytes
                    + " bytes, more than init reads (" + InitramfsManifest.MAX_BYTES + "): add fewer files");
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The guest paths in archive order (parents before children), the manifest last if there is one. */
    public List<GuestPath> paths() {
        List<GuestPath> result = new ArrayList<>(entries.size() + 1);
        for (Entry e : entries) result.add(e.path());
        if (manifest != null) result.add(manifest);
        return Collections.unmodifiableList(result);
    }

    /** Where the manifest goes, if the archive has one. */
    public Optional<GuestPath> manifest() {
        return Optional.ofNullable(manifest);
    }

    /** The exact number of bytes {@link #writeTo} produces, trailer included. */
    public long size() {
        long total = 0;
        for (Entry e : entries) total += CpioWriter.entryBytes(e.path().archiveName(), e.dataBytes());
        if (manifest != null) total += CpioWriter.entryBytes(manifest.archiveName(), manifestBytes);
        return total + CpioWriter.entryBytes(CpioWriter.TRAILER_NAME, 0);
    }

    /**
     * Bytes of whole pages the unpacked entries take in a page-based file system such as the guest's
     * tmpfs root: each regular file (the manifest too) rounded up to 4 KiB pages, and each symbolic
     * link whose target is longer than {@code inlineLinkBytes} one page per started 4 KiB (shorter
     * targets live in the inode).
     */
    public long unpackedPageBytes(int inlineLinkBytes) {
        long pages = manifest == null ? 0 : pages(manifestBytes);
        for (Entry e : entries) {
            if (e instanceof HostFile || e instanceof BytesFile) pages += pages(e.dataBytes());
            else if (e instanceof Symlink && e.dataBytes() > inlineLinkBytes) pages += pages(e.dataBytes());
        }
        return pages * LinuxLimits.PAGE_SIZE;
    }

    /** Entries the archive creates in the guest, the manifest included. */
    public int entryCount() {
        return entries.size() + (manifest == null ? 0 : 1);
    }

    private static long pages(long bytes) {
        return (bytes + LinuxLimits.PAGE_SIZE - 1) / LinuxLimits.PAGE_SIZE;
    }

    /** Streams the archive to {@code out} (not closed); host files are read now. */
    public void writeTo(OutputStream out) throws IOException {
        CpioWriter writer = new CpioWriter(out, mtime);
        int[] crcs = new int[entries.size()];
        for (int i = 0; i < crcs.length; i++) crcs[i] = entries.get(i).writeTo(writer);
        if (manifest != null) {
            List<InitramfsManifest.Record> records = records();
            for (int i = 0; i < crcs.length; i++) records.set(i, records.get(i).withCrc(crcs[i]));
            byte[] bytes = InitramfsManifest.render(records);
            if (bytes.length != manifestBytes)
                throw new IllegalStateException("manifest has " + bytes.length + " bytes, " + manifestBytes + " planned");
            writer.file(manifest.archiveName(), MANIFEST_MODE, bytes);
        }
        writer.finish();
    }

    private List<InitramfsManifest.Record> records() {
        List<InitramfsManifest.Record> records = new ArrayList<>(entries.size());
        for (Entry e : entries) records.add(e.record());
        return records;
    }

    /** Writes the archive to a file, replacing it. */
    public void writeTo(Path file) throws IOException {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            writeTo(out);
        }
    }

    /** Permission bits of the manifest in the guest: readable, never changed. */
    private static final int MANIFEST_MODE = 0444;

    private sealed interface Entry {
        GuestPath path();

        long dataBytes();

        /** The entry as the manifest records it, checksum 0. */
        InitramfsManifest.Record record();

        /** Writes the entry; returns the CRC-32C of its data (0 without data). */
        int writeTo(CpioWriter w) throws IOException;
    }

    private record Directory(GuestPath path, int mode, boolean explicit) implements Entry {
        public long dataBytes() {
            return 0;
        }

        public InitramfsManifest.Record record() {
            return new InitramfsManifest.Record(InitramfsManifest.Kind.DIRECTORY, path, mode, 0, 0, 0, 0);
        }

        public int writeTo(CpioWriter w) throws IOException {
            w.directory(path.archiveName(), mode);
            return 0;
        }
    }

    private record BytesFile(GuestPath path, int mode, CheckedBytes content) implements Entry {
        public long dataBytes() {
            return content.length();
        }

        public InitramfsManifest.Record record() {
            return new InitramfsManifest.Record(InitramfsManifest.Kind.FILE, path, mode, content.length(), 0, 0, 0);
        }

        public int writeTo(CpioWriter w) throws IOException {
            w.file(path.archiveName(), mode, content.shared());
            return content.crc32c();
        }
    }

    private record HostFile(GuestPath path, int mode, Path source, long size) implements Entry {
        public long dataBytes() {
            return size;
        }

        public InitramfsManifest.Record record() {
            return new InitramfsManifest.Record(InitramfsManifest.Kind.FILE, path, mode, size, 0, 0, 0);
        }

        public int writeTo(CpioWriter w) throws IOException {
            CRC32C crc = new CRC32C();
            try (InputStream in = new CheckedInputStream(Files.newInputStream(source), crc)) {
                w.file(path.archiveName(), mode, size, in);
            } catch (IOException e) {
                throw new IOException("copying host file " + source + " to guest path " + path + ": " + e.getMessage(), e);
            }
            return (int) crc.getValue();
        }
    }

    private record Device(GuestPath path, int mode, boolean block, int major, int minor) implements Entry {
        public long dataBytes() {
            return 0;
        }

        public InitramfsManifest.Record record() {
            return new InitramfsManifest.Record(block ? InitramfsManifest.Kind.BLOCK_DEVICE
                    : InitramfsManifest.Kind.CHARACTER_DEVICE, path, mode, 0, 0, major, minor);
        }

        public int writeTo(CpioWriter w) throws IOException {
            if (block) w.blockDevice(path.archiveName(), mode, major, minor);
            else w.characterDevice(path.archiveName(), mode, major, minor);
            return 0;
        }
    }

    private record Symlink(GuestPath path, String target) implements Entry {
        public long dataBytes() {
            return target.getBytes(StandardCharsets.UTF_8).length;
        }

        public InitramfsManifest.Record record() {
            return new InitramfsManifest.Record(InitramfsManifest.Kind.SYMLINK, path, 0777, dataBytes(), 0, 0, 0);
        }

        public int writeTo(CpioWriter w) throws IOException {
            w.symlink(path.archiveName(), target);
            byte[] bytes = target.getBytes(StandardCharsets.UTF_8);
            return InitramfsManifest.crc32c(bytes, 0, bytes.length);
        }
    }

    /** Collects entries; reusable, {@link #build()} snapshots it. */
    public static final class Builder {
        private final Map<GuestPath, Entry> entries = new LinkedHashMap<>();
        private long mtime;
        private GuestPath manifest;

        private Builder() {
            characterDevice(CONSOLE.value(), 0600, CONSOLE_MAJOR, CONSOLE_MINOR);
        }

        /** A regular file copied from the host, keeping the host file's permission bits. */
        public Builder file(String guestPath, Path hostFile) {
            return file(guestPath, hostFile, hostMode(hostFile));
        }

        /** A regular file copied from the host with the given permission bits (e.g. 0755). */
        public Builder file(String guestPath, Path hostFile, int mode) {
            Objects.requireNonNull(hostFile, "hostFile");
            GuestPath path = GuestPath.of(guestPath);
            if (!Files.isRegularFile(hostFile))
                throw new InitramfsException("host file " + hostFile + " for guest path " + path
                        + (Files.exists(hostFile) ? " is not a regular file" : " does not exist") + ": pass a regular file");
            if (!Files.isReadable(hostFile))
                throw new InitramfsException("host file " + hostFile + " for guest path " + path
                        + " is not readable: fix its permissions");
            long size;
            try {
                size = Files.size(hostFile);
            } catch (IOException e) {
                throw new InitramfsException("cannot read the size of host file " + hostFile + ": " + e.getMessage(), e);
            }
            if (size > CpioWriter.MAX_FILE_BYTES)
                throw new InitramfsException("host file " + hostFile + " has " + size + " bytes; an initramfs file holds at most "
                        + CpioWriter.MAX_FILE_BYTES + " bytes");
            return add(new HostFile(path, checkMode(path, mode), hostFile.toAbsolutePath(), size));
        }

        /** A regular file with the given content (copied) and permission bits. */
        public Builder file(String guestPath, byte[] content, int mode) {
            return file(guestPath, CheckedBytes.copyOf(content), mode);
        }

        /** A regular file with {@code content} (shared, not copied: it is immutable) and the given permission bits. */
        public Builder file(String guestPath, CheckedBytes content, int mode) {
            Objects.requireNonNull(content, "content");
            GuestPath path = GuestPath.of(guestPath);
            return add(new BytesFile(path, checkMode(path, mode), content));
        }

        /** A regular file holding {@code text} in UTF-8. */
        public Builder file(String guestPath, String text, int mode) {
            return file(guestPath, text.getBytes(StandardCharsets.UTF_8), mode);
        }

        /** A directory; also gives a mode to a directory that was added automatically as a parent. */
        public Builder directory(String guestPath, int mode) {
            GuestPath path = GuestPath.of(guestPath);
            if (path.isRoot()) throw new InitramfsException("the root directory / is not an archive entry: add paths below it");
            checkMode(path, mode);
            Entry existing = entries.get(path);
            if (existing instanceof Directory d && !d.explicit()) {
                entries.put(path, new Directory(path, mode, true));
                return this;
            }
            return add(new Directory(path, mode, true));
        }

        public Builder characterDevice(String guestPath, int mode, int major, int minor) {
            GuestPath path = GuestPath.of(guestPath);
            return add(new Device(path, checkMode(path, mode), false, checkMajor(path, major), checkMinor(path, minor)));
        }

        public Builder blockDevice(String guestPath, int mode, int major, int minor) {
            GuestPath path = GuestPath.of(guestPath);
            return add(new Device(path, checkMode(path, mode), true, checkMajor(path, major), checkMinor(path, minor)));
        }

        /** A symbolic link at {@code guestPath} pointing to {@code target} (any non-empty path without NUL). */
        public Builder symlink(String guestPath, String target) {
            GuestPath path = GuestPath.of(guestPath);
            if (target == null || target.isEmpty() || target.indexOf('\0') >= 0)
                throw new InitramfsException("symlink " + path + ": the target must be non-empty and free of NUL");
            return add(new Symlink(path, target));
        }

        /** The mtime (seconds since the epoch, 0..2^32-1) of every entry; 0 by default. */
        public Builder mtime(long seconds) {
            if (seconds < 0 || seconds > 0xFFFF_FFFFL)
                throw new InitramfsException("mtime " + seconds + " does not fit the 32-bit cpio field: pass 0..4294967295");
            this.mtime = seconds;
            return this;
        }

        /**
         * Ends the archive with an {@link InitramfsManifest} at {@code guestPath} (mode 0444) listing every
         * other entry, whatever is added after this call; its parent directories are added now.
         */
        public Builder manifest(String guestPath) {
            GuestPath path = GuestPath.of(guestPath);
            if (path.isRoot()) throw new InitramfsException("the manifest cannot be the root directory /: give a file path");
            Entry existing = entries.get(path);
            if (existing != null)
                throw new InitramfsException("guest path " + path + " is taken by " + describe(existing)
                        + ": the manifest needs a path of its own");
            addParents(path);
            this.manifest = path;
            return this;
        }

        public boolean contains(String guestPath) {
            GuestPath path = GuestPath.of(guestPath);
            return entries.containsKey(path) || path.equals(manifest);
        }

        public Initramfs build() {
            return new Initramfs(new ArrayList<>(entries.values()), mtime, manifest);
        }

        private Builder add(Entry entry) {
            GuestPath path = entry.path();
            if (path.isRoot()) throw new InitramfsException("the root directory / cannot be replaced: add paths below it");
            if (path.equals(manifest))
                throw new InitramfsException("guest path " + path + " is reserved for the image's manifest: choose another path");
            Entry existing = entries.get(path);
            if (existing != null)
                throw new InitramfsException("guest path " + path + " is added twice (first as " + describe(existing)
                        + ", then as " + describe(entry) + "): add each path once");
            addParents(path);
            entries.put(path, entry);
            return this;
        }

        private void addParents(GuestPath path) {
            for (GuestPath parent : path.ancestors()) {
                if (parent.equals(manifest))
                    throw new InitramfsException("cannot add " + path + ": its parent " + parent + " is the image's manifest");
                Entry e = entries.get(parent);
                if (e == null) {
                    entries.put(parent, new Directory(parent, 0755, false));
                } else if (!(e instanceof Directory)) {
                    throw new InitramfsException("cannot add " + path + ": its parent " + parent + " is " + describe(e)
                            + ", not a directory");
                }
            }
        }

        private static String describe(Entry e) {
            if (e instanceof Directory) return "a directory";
            if (e instanceof HostFile h) return "a file from host " + h.source();
            if (e instanceof BytesFile) return "a file with given content";
            if (e instanceof Device d) return (d.block() ? "a block device " : "a character device ") + d.major() + ":" + d.minor();
            if (e instanceof Symlink s) return "a symlink to " + s.target();
            return e.toString();
        }

        private static int checkMode(GuestPath path, int mode) {
            if ((mode & ~07777) != 0)
                throw new InitramfsException(String.format(
                        "mode 0%o for %s has bits outside 07777: pass permission bits only (e.g. 0755)", mode, path));
            return mode;
        }

        private static int checkMajor(GuestPath path, int major) {
            if (major < 0 || major > CpioWriter.MAX_MAJOR)
                throw new InitramfsException("device " + path + ": major " + major + " outside 0.." + CpioWriter.MAX_MAJOR);
            return major;
        }

        private static int checkMinor(GuestPath path, int minor) {
            if (minor < 0 || minor > CpioWriter.MAX_MINOR)
                throw new InitramfsException("device " + path + ": minor " + minor + " outside 0.." + CpioWriter.MAX_MINOR);
            return minor;
        }

        /** The permission bits (07777) of {@code hostFile}: what a copy of it in the guest gets unless told otherwise. */
        public static int hostMode(Path hostFile) {
            try {
                Object mode = Files.getAttribute(hostFile, "unix:mode");
                if (mode instanceof Integer m) return m & 07777;
            } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
                // not a unix file system view: fall back to the POSIX permissions below
            }
            try {
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(hostFile);
                int mode = 0;
                for (PosixFilePermission p : perms) mode |= 1 << (8 - p.ordinal());
                return mode;
            } catch (UnsupportedOperationException e) {
                return Files.isExecutable(hostFile) ? 0755 : 0644;
            } catch (NoSuchFileException e) {
                throw new InitramfsException("host file " + hostFile + " does not exist: pass an existing regular file");
            } catch (IOException e) {
                throw new InitramfsException("cannot read the mode of host file " + hostFile + ": " + e.getMessage(), e);
            }
        }
    }
}
