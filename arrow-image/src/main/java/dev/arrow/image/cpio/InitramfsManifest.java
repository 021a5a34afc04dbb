package dev.arrow.image.cpio;

import dev.arrow.image.GuestPath;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * The manifest an {@link Initramfs} ends with, so that the guest can prove it received every entry
 * whole before anything runs (Arrow's init checks it: {@code arrow-image/src/main/c/manifest.h}).
 *
 * <p>The kernel's unpacker does not stop at a failed write: when the root file system fills up it
 * logs one line and goes on, leaving files of the right size whose missing parts read as zeros. So
 * the manifest records each entry's type, permission bits, owner, size, and the CRC-32C of a file's
 * content or a link's target, and is itself written last and summed.
 *
 * <p>Format (version 1): NUL-terminated ASCII records, paths as stored (UTF-8):
 * <pre>
 * arrow-manifest 1
 * &lt;kind&gt; &lt;mode&gt; &lt;uid&gt; &lt;gid&gt; &lt;size&gt; &lt;crc32c&gt; &lt;major&gt; &lt;minor&gt; &lt;path&gt;   one per entry, archive order
 * end &lt;entries&gt; &lt;crc32c of every byte before this record&gt;
 * </pre>
 * kind is {@code d f l c b} (directory, regular file, symbolic link, character or block device);
 * mode four octal digits; uid, gid, size, major, minor decimal; crc32c eight lower-case hex digits
 * (0 for directories and devices). A manifest's length does not depend on the checksums, so an
 * archive's size is known before its files are read.
 */
public final class InitramfsManifest {
    /** The first record. */
    public static final String MAGIC = "arrow-manifest 1";
    /** The largest manifest init reads. */
    public static final int MAX_BYTES = 16 << 20;

    private InitramfsManifest() {
    }

    /** What an entry is, as the manifest's kind letter. */
    enum Kind {
        DIRECTORY('d'), FILE('f'), SYMLINK('l'), CHARACTER_DEVICE('c'), BLOCK_DEVICE('b');

        final char letter;

        Kind(char letter) {
            this.letter = letter;
        }
    }

    /** One entry as the guest must find it; {@code crc} is the CRC-32C of its data (0 without data). */
    record Record(Kind kind, GuestPath path, int mode, long size, int crc, int major, int minor) {
        Record withCrc(int value) {
            return new Record(kind, path, mode, size, value, major, minor);
        }
    }

    /** The manifest's bytes for {@code records}, end record included. */
    static byte[] render(List<Record> records) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 + records.size() * 64);
        record(out, MAGIC);
        for (Record r : records) {
            record(out, String.format(Locale.ROOT, "%c %04o %d %d %d %08x %d %d %s", r.kind().letter, r.mode(), 0, 0,
                    r.size(), r.crc(), r.major(), r.minor(), r.path().value()));
        }
        byte[] body = out.toByteArray();
        record(out, String.format(Locale.ROOT, "end %d %08x", records.size(), crc32c(body, 0, body.length)));
        return out.toByteArray();
    }

    /** CRC-32C of {@code len} bytes at {@code off}, as the manifest stores it. */
    static int crc32c(byte[] bytes, int off, int len) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, off, len);
        return (int) crc.getValue();
    }

    private static void record(ByteArrayOutputStream out, String text) {
        out.writeBytes(text.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }
}
