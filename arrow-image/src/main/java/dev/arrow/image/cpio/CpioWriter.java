package dev.arrow.image.cpio;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Streams a cpio archive in the "newc" format (magic {@code 070701}), the format the Linux
 * kernel unpacks as an initramfs.
 *
 * <p>Every header is 110 ASCII bytes (the magic and 13 eight-digit hex fields), followed by the
 * NUL-terminated name and the data, each padded with NULs to a multiple of 4 bytes. Entries get
 * consecutive inode numbers starting at 1, owner 0:0, one fixed mtime (0 unless given), so the
 * same entries give the same bytes. {@link #finish()} writes the {@code TRAILER!!!} entry.
 * Names are passed as stored (relative, e.g. {@code arrow/app}); tree rules (parents, duplicates)
 * belong to {@link Initramfs}. The writer does not close the stream.
 */
public final class CpioWriter {
    public static final String MAGIC = "070701";
    public static final int HEADER_BYTES = 110;
    public static final String TRAILER_NAME = "TRAILER!!!";
    /** newc stores the file size in 32 bits. */
    public static final long MAX_FILE_BYTES = 0xFFFF_FFFFL;
    /** Linux keeps 12 bits of major and 20 bits of minor device number. */
    public static final int MAX_MAJOR = 0xFFF;
    public static final int MAX_MINOR = 0xF_FFFF;

    static final int S_IFIFO = 0010000;
    static final int S_IFCHR = 0020000;
    static final int S_IFDIR = 0040000;
    static final int S_IFBLK = 0060000;
    static final int S_IFREG = 0100000;
    static final int S_IFLNK = 0120000;
    private static final int PERMISSION_BITS = 07777;
    private static final byte[] ZEROS = new byte[4];

    private final OutputStream out;
    private final long mtime;
    private long position;
    private long nextInode = 1;
    private boolean finished;

    /** A writer with mtime 0 for every entry. */
    public CpioWriter(OutputStream out) {
        this(out, 0);
    }

    /** A writer stamping every entry with {@code mtimeSeconds} (0..2^32-1). */
    public CpioWriter(OutputStream out, long mtimeSeconds) {
        this.out = Objects.requireNonNull(out, "out");
        if (mtimeSeconds < 0 || mtimeSeconds > 0xFFFF_FFFFL)
            throw new IllegalArgumentException("mtime " + mtimeSeconds + " does not fit the 32-bit cpio field");
        this.mtime = mtimeSeconds;
    }

    public void directory(String name, int permissions) throws IOException {
        header(name, S_IFDIR | checkPermissions(permissions), 2, 0, 0, 0);
    }

    public void file(String name, int permissions, byte[] data) throws IOException {
        header(name, S_IFREG | checkPermissions(permissions), 1, data.length, 0, 0);
        out.write(data);
        position += data.length;
        pad();
    }

    /**
     * A regular file whose {@code size} bytes come from {@code in}. Fails (and leaves the archive
     * unusable) when the stream holds fewer or more bytes than announced.
     */
    public void file(String name, int permissions, long size, InputStream in) throws IOException {
        if (size < 0 || size > MAX_FILE_BYTES)
            throw new IllegalArgumentException("file " + name + " has " + size + " bytes; a newc archive holds files of at most "
                    + MAX_FILE_BYTES + " bytes");
        header(name, S_IFREG | checkPermissions(permissions), 1, size, 0, 0);
        byte[] buffer = new byte[64 * 1024];
        long left = size;
        while (left > 0) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0)
                throw new IOException("file " + name + " ended after " + (size - left) + " of " + size
                        + " announced bytes (changed while the archive was written?)");
            out.write(buffer, 0, n);
            left -= n;
            position += n;
        }
        if (in.read() >= 0)
            throw new IOException("file " + name + " holds more than the " + size
                    + " announced bytes (changed while the archive was written?)");
        pad();
    }

    public void symlink(String name, String target) throws IOException {
        Objects.requireNonNull(target, "target");
        if (target.isEmpty() || target.indexOf('\0') >= 0)
            throw new IllegalArgumentException("symlink " + name + ": target must be non-empty and free of NUL");
        byte[] data = target.getBytes(StandardCharsets.UTF_8);
        header(name, S_IFLNK | 0777, 1, data.length, 0, 0);
        out.write(data);
        position += data.length;
        pad();
    }

    public void characterDevice(String name, int permissions, int major, int minor) throws IOException {
        header(name, S_IFCHR | checkPermissions(permissions), 1, 0, checkMajor(major), checkMinor(minor));
    }

    public void blockDevice(String name, int permissions, int major, int minor) throws IOException {
        header(name, S_IFBLK | checkPermissions(permissions), 1, 0, checkMajor(major), checkMinor(minor));
    }

    public void fifo(String name, int permissions) throws IOException {
        header(name, S_IFIFO | checkPermissions(permissions), 1, 0, 0, 0);
    }

    /** Writes the trailer entry; the archive is complete and the writer accepts nothing more. */
    public void finish() throws IOException {
        ensureOpen();
        writeHeader(TRAILER_NAME, 0, 0, 1, 0, 0, 0, 0);
        finished = true;
        out.flush();
    }

    /** Bytes written so far (always a multiple of 4 between entries). */
    public long position() {
        return position;
    }

    /** The archive bytes one entry takes: header, padded name, padded data. */
    public static long entryBytes(String name, long dataBytes) {
        long nameSize = name.getBytes(StandardCharsets.UTF_8).length + 1L;
        return align4(HEADER_BYTES + nameSize) + align4(dataBytes);
    }

    static long align4(long n) {
        return (n + 3) & ~3L;
    }

    private static int checkPermissions(int permissions) {
        if ((permissions & ~PERMISSION_BITS) != 0)
            throw new IllegalArgumentException(String.format(
                    "mode 0%o has bits outside 07777: pass permission bits only, the entry type is set by the method", permissions));
        return permissions;
    }

    private static int checkMajor(int major) {
        if (major < 0 || major > MAX_MAJOR)
            throw new IllegalArgumentException("device major " + major + " outside 0.." + MAX_MAJOR);
        return major;
    }

    private static int checkMinor(int minor) {
        if (minor < 0 || minor > MAX_MINOR)
            throw new IllegalArgumentException("device minor " + minor + " outside 0.." + MAX_MINOR);
        return minor;
    }

    private void ensureOpen() {
        if (finished) throw new IllegalStateException("the archive is finished (trailer written): no more entries");
    }

    private void header(String name, int mode, int nlink, long size, int rdevMajor, int rdevMinor) throws IOException {
        ensureOpen();
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.indexOf('\0') >= 0 || name.equals(TRAILER_NAME))
            throw new IllegalArgumentException("cpio name '" + name.replace("\0", "\\0")
                    + "' is empty, contains NUL or is the trailer name");
        writeHeader(name, nextInode++, mode, nlink, size, rdevMajor, rdevMinor, mtime);
    }

    private void writeHeader(String name, long inode, int mode, int nlink, long size, int rdevMajor, int rdevMinor,
                             long mtime) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        StringBuilder h = new StringBuilder(HEADER_BYTES);
        h.append(MAGIC);
        hex(h, inode);
        hex(h, mode);
        hex(h, 0); // uid
        hex(h, 0); // gid
        hex(h, nlink);
        hex(h, mtime);
        hex(h, size);
        hex(h, 0); // devmajor
        hex(h, 0); // devminor
        hex(h, rdevMajor);
        hex(h, rdevMinor);
        hex(h, nameBytes.length + 1L);
        hex(h, 0); // check
        out.write(h.toString().getBytes(StandardCharsets.US_ASCII));
        out.write(nameBytes);
        out.write(0);
        position += HEADER_BYTES + nameBytes.length + 1L;
        pad();
    }

    private static void hex(StringBuilder h, long v) {
        String s = Long.toHexString(v & 0xFFFF_FFFFL).toUpperCase(java.util.Locale.ROOT);
        for (int i = s.length(); i < 8; i++) h.append('0');
        h.append(s);
    }

    private void pad() throws IOException {
        int n = (int) (align4(position) - position);
        out.write(ZEROS, 0, n);
        position += n;
    }
}
