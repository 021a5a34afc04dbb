package dev.arrow.kvm.loader;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The bytes of a kernel image file as a {@link KernelLoader} reads them: positional, read-only,
 * untrusted. Names the image in every {@link KernelLoadException} it makes ({@code "kernel image
 * NAME: ..."}). Owns the open file, if any, until {@link #close()}.
 */
public final class KernelImage implements AutoCloseable {
    private static final int COPY_CHUNK = 1 << 20;

    private final String name;
    private final Source source;
    private final long size;

    private KernelImage(String name, Source source) throws IOException {
        this.name = name;
        this.source = source;
        this.size = source.size();
    }

    /**
     * Opens the image file at {@code path}.
     *
     * @throws KernelLoadException if it is missing, a directory, unreadable or cannot be opened
     */
    public static KernelImage open(Path path) {
        String name = path.toString();
        FileChannel channel;
        try {
            if (Files.isDirectory(path)) {
                throw new KernelLoadException("kernel image " + name + ": is a directory, not a kernel image");
            }
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new KernelLoadException("kernel image " + name + ": file not found", e);
        } catch (AccessDeniedException e) {
            throw new KernelLoadException("kernel image " + name + ": permission denied", e);
        } catch (IOException e) {
            throw new KernelLoadException("kernel image " + name + ": cannot open: " + e, e);
        }
        try {
            return new KernelImage(name, new ChannelSource(channel));
        } catch (IOException e) {
            closeQuietly(channel, e);
            throw new KernelLoadException("kernel image " + name + ": cannot read: " + e, e);
        }
    }

    /** An image held in memory; {@code name} is used in error messages. */
    public static KernelImage of(String name, byte[] bytes) {
        try {
            return new KernelImage(name, new ArraySource(bytes));
        } catch (IOException e) {
            throw new AssertionError("an array has a size", e);
        }
    }

    /** The image's size in bytes. */
    public long size() {
        return size;
    }

    /** Up to {@code length} bytes from the start (fewer if the image is shorter), little-endian. */
    public ByteBuffer head(int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(size, length)).order(ByteOrder.LITTLE_ENDIAN);
        source.read(0, b);
        return b.flip();
    }

    /**
     * Exactly {@code length} bytes from {@code position}, little-endian.
     *
     * @throws EOFException if the file ends first (it changed while being loaded)
     */
    public ByteBuffer read(long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        readFully(position, b);
        return b.flip();
    }

    /** Copies {@code length} bytes from {@code fileOffset} to guest {@code address}, in chunks of 1 MiB. */
    public void copyTo(GuestMemory memory, long address, long fileOffset, long length) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(COPY_CHUNK, Math.max(length, 1)));
        long done = 0;
        while (done < length) {
            int n = (int) Math.min(chunk.capacity(), length - done);
            chunk.clear().limit(n);
            readFully(fileOffset + done, chunk);
            chunk.flip();
            memory.write(GuestAddress.of(address + done), chunk);
            done += n;
        }
    }

    /** A {@link KernelLoadException} about this image: {@code "kernel image NAME: " + message}. */
    public KernelLoadException fail(String format, Object... args) {
        return new KernelLoadException("kernel image " + name + ": " + String.format(format, args));
    }

    private void readFully(long position, ByteBuffer dst) throws IOException {
        source.read(position, dst);
        if (dst.hasRemaining()) {
            throw new EOFException("file ended at " + (position + dst.position()) + " while reading " + name
                    + " (was it changed while loading?)");
        }
    }

    @Override
    public void close() throws IOException {
        source.close();
    }

    private static void closeQuietly(AutoCloseable c, Exception primary) {
        try {
            c.close();
        } catch (Exception e) {
            primary.addSuppressed(e);
        }
    }

    /** Positional, read-only access to image bytes. */
    private interface Source extends AutoCloseable {
        long size() throws IOException;

        /** Fills {@code dst} from {@code position} as far as the image allows. */
        void read(long position, ByteBuffer dst) throws IOException;

        @Override
        void close() throws IOException;
    }

    private record ChannelSource(FileChannel channel) implements Source {
        @Override
        public long size() throws IOException {
            return channel.size();
        }

        @Override
        public void read(long position, ByteBuffer dst) throws IOException {
            long pos = position;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, pos);
                if (n < 0) {
                    return;
                }
                pos += n;
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    private record ArraySource(byte[] bytes) implements Source {
        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public void read(long position, ByteBuffer dst) {
            if (position >= bytes.length) {
                return;
            }
            int n = (int) Math.min(dst.remaining(), bytes.length - position);
            dst.put(bytes, (int) position, n);
        }

        @Override
        public void close() {
        }
    }
}
