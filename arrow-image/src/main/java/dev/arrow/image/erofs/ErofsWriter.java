package dev.arrow.image.erofs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

/**
 * Writes an uncompressed EROFS image of regular files in one root directory, which Linux (6.1 and later) mounts
 * read-only and, from a DAX-capable device such as virtio-pmem with {@code -o dax=always}, executes in place.
 *
 * <p>Every file is FLAT_PLAIN: its data starts on a 4 KiB block boundary and is contiguous, with no tail packed
 * into the metadata (the kernel enables DAX only for such files). Owners are root, times are 0, entries are in name
 * order and the superblock's UUID derives from the {@link ContentId}, so the same files give the same bytes. Host
 * files are streamed through a small buffer, never loaded whole; each file's SHA-256 is taken from the bytes written.
 */
public final class ErofsWriter {
    /** Image lengths are multiples of this (2 MiB): the guest maps persistent memory in 2 MiB sections. */
    public static final long LENGTH_ALIGNMENT = 2L << 20;
    private static final int BUFFER_SIZE = 1 << 20;

    private ErofsWriter() {
    }

    /**
     * Writes the image of {@code files} (any order) to {@code target}, created or truncated, and forces it to the
     * device before returning. The file's length is {@link WrittenImage#length()}; the padding is a hole.
     *
     * @throws ImageFileException if two files have one name, a host file is missing or unreadable, or a host file
     *                            changed its size while it was copied
     * @throws IOException        if {@code target} cannot be written
     */
    public static WrittenImage write(List<ImageFile> files, Path target) throws IOException {
        List<ImageFile> sorted = new ArrayList<>(files);
        sorted.sort(ImageFile.BY_NAME);
        List<ErofsLayout.Sized> sized = new ArrayList<>(sorted.size());
        for (ImageFile f : sorted) sized.add(new ErofsLayout.Sized(f.name(), f.mode(), f.content().size()));
        ErofsLayout layout = ErofsLayout.plan(sized);
        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_SIZE);
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(out, layout.metadata(), ErofsLayout.metadataOffset());
            List<ImageEntry> entries = new ArrayList<>(sorted.size());
            for (int i = 0; i < sorted.size(); i++) {
                ImageFile file = sorted.get(i);
                ErofsLayout.Placed placed = layout.files().get(i);
                String sha256 = copy(file, placed, out, buffer);
                entries.add(new ImageEntry(file.name(), file.mode(), placed.size(), sha256));
            }
            String contentId = ContentId.of(entries);
            writeFully(out, layout.blockZero(ContentId.uuid(contentId)), 0);
            long length = layout.paddedLength();
            if (out.size() < length) writeFully(out, ByteBuffer.allocate(1), length - 1);
            out.force(true);
            return new WrittenImage(length, contentId, entries);
        }
    }

    /**
     * The length of the image that {@link #write} gives for files with these names, modes and sizes.
     *
     * @throws ImageFileException if two entries have one name or the image would be too large for EROFS
     */
    public static long length(Collection<ImageEntry> entries) {
        return ErofsLayout.plan(entries.stream().map(e -> new ErofsLayout.Sized(e.name(), e.mode(), e.size())).toList())
                .paddedLength();
    }

    /** Copies {@code file}'s bytes to its place and returns their SHA-256 (hex). */
    private static String copy(ImageFile file, ErofsLayout.Placed placed, FileChannel out, ByteBuffer buffer) throws IOException {
        MessageDigest sha = ContentId.sha256();
        long position = placed.dataOffset();
        if (file.content() instanceof FileContent.Bytes bytes) {
            sha.update(bytes.shared());
            writeFully(out, ByteBuffer.wrap(bytes.shared()), position);
        } else {
            copyHostFile(((FileContent.HostFile) file.content()).path(), placed.size(), sha, out, position, buffer);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void copyHostFile(Path path, long size, MessageDigest sha, FileChannel out, long position, ByteBuffer buffer)
            throws IOException {
        try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ)) {
            long remaining = size;
            while (remaining > 0) {
                buffer.clear().limit((int) Math.min(buffer.capacity(), remaining));
                int n = in.read(buffer);
                if (n < 0) throw changed(path, size, "shrank");
                buffer.flip();
                sha.update(buffer.duplicate());
                writeFully(out, buffer, position);
                position += n;
                remaining -= n;
            }
            buffer.clear().limit(1);
            if (in.read(buffer) > 0) throw changed(path, size, "grew");
        } catch (NoSuchFileException e) {
            throw ImageFileException.missingHostFile(path);
        } catch (AccessDeniedException e) {
            throw ImageFileException.unreadableHostFile(path);
        }
    }

    private static ImageFileException changed(Path path, long size, String how) {
        return ImageFileException.changedWhileRead(path, how + " from " + size + " bytes");
    }

    private static void writeFully(FileChannel out, ByteBuffer bytes, long position) throws IOException {
        while (bytes.hasRemaining()) position += out.write(bytes, position);
    }
}
