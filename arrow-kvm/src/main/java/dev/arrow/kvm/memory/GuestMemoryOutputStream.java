package dev.arrow.kvm.memory;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * An {@link OutputStream} that fills the window {@code [start, start + length)} of guest memory
 * front to back, through {@link GuestMemory#write}: a producer that knows its exact size (an
 * initramfs being assembled) writes straight into the guest, without a host-side copy of the
 * whole. Writing past the window fails with an {@link IOException} and writes nothing; the
 * window itself is checked against guest memory on construction. Not thread-safe.
 */
public final class GuestMemoryOutputStream extends OutputStream {
    private final GuestMemory memory;
    private final GuestAddress start;
    private final long length;
    private long written;
    private boolean closed;

    /**
     * @throws GuestMemoryException if the window is not wholly inside guest memory
     */
    public GuestMemoryOutputStream(GuestMemory memory, GuestAddress start, long length) {
        this.memory = Objects.requireNonNull(memory, "memory");
        this.start = Objects.requireNonNull(start, "start");
        if (length < 0) {
            throw new IllegalArgumentException("window length " + length + " is negative");
        }
        if (!memory.isValid(start, length)) {
            throw new GuestMemoryException(start, length, "the window is not inside guest memory");
        }
        this.length = length;
    }

    /** Bytes written so far. */
    public long written() {
        return written;
    }

    /** Bytes the window still takes. */
    public long remaining() {
        return length - written;
    }

    @Override
    public void write(int b) throws IOException {
        checkRoom(1);
        memory.writeByte(start.plus(written), (byte) b);
        written++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        checkRoom(len);
        memory.write(start.plus(written), b, off, len);
        written += len;
    }

    @Override
    public void close() {
        closed = true;
    }

    private void checkRoom(int n) throws IOException {
        if (closed) {
            throw new IOException("the guest memory stream is closed");
        }
        if (n > length - written) {
            throw new IOException("writing " + n + " more bytes at offset " + written + " overruns the " + length
                    + "-byte guest memory window at " + start);
        }
    }
}
