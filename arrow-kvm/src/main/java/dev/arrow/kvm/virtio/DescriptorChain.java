package dev.arrow.kvm.virtio;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.GuestMemoryException;
import java.util.Arrays;
import java.util.Objects;

/**
 * One descriptor chain popped from a {@link SplitQueue}, already walked and validated: every
 * buffer lies inside guest RAM, device-readable buffers come before device-writable ones, and the
 * total length is within the queue's limit. Indirect tables are flattened into the list.
 *
 * <p>Besides the raw buffers it offers two cursors: {@link #read} consumes the readable part in
 * order, {@link #write} fills the writable part in order; {@link #bytesWritten()} is the length
 * to return in the used ring. Not thread-safe; a chain belongs to the device that popped it.
 */
public final class DescriptorChain {
    private final GuestMemory memory;
    private final int headIndex;
    private final String queueName;
    private long[] addresses = new long[4];
    private int[] lengths = new int[4];
    private int count;
    private int readableCount;
    private long readableLength;
    private long writableLength;

    private int readBuffer;
    private long readOffset;
    private long bytesRead;
    private int writeBuffer;
    private long writeOffset;
    private long bytesWritten;

    DescriptorChain(GuestMemory memory, int headIndex, String queueName) {
        this.memory = memory;
        this.headIndex = headIndex;
        this.queueName = queueName;
    }

    /** Appends a validated buffer; readable ones must all come first (the queue enforces it). */
    void add(long address, long length, boolean writable) {
        if (count == addresses.length) {
            addresses = Arrays.copyOf(addresses, count * 2);
            lengths = Arrays.copyOf(lengths, count * 2);
        }
        addresses[count] = address;
        lengths[count] = (int) length;
        count++;
        if (writable) {
            writableLength += length;
        } else {
            readableCount++;
            readableLength += length;
        }
        if (writeBuffer < readableCount) {
            writeBuffer = readableCount;
        }
    }

    /** Index of the chain's head in the descriptor table: the id to put in the used ring. */
    public int headIndex() {
        return headIndex;
    }

    /** Number of buffers (indirect tables flattened, the indirect descriptor itself not counted). */
    public int descriptorCount() {
        return count;
    }

    public int readableCount() {
        return readableCount;
    }

    public int writableCount() {
        return count - readableCount;
    }

    public GuestAddress address(int index) {
        Objects.checkIndex(index, count);
        return GuestAddress.of(addresses[index]);
    }

    /** Length of buffer {@code index} in bytes (0 .. 2^32-1). */
    public long length(int index) {
        Objects.checkIndex(index, count);
        return Integer.toUnsignedLong(lengths[index]);
    }

    public boolean isWritable(int index) {
        Objects.checkIndex(index, count);
        return index >= readableCount;
    }

    /** Total bytes of the device-readable buffers. */
    public long readableLength() {
        return readableLength;
    }

    /** Total bytes of the device-writable buffers. */
    public long writableLength() {
        return writableLength;
    }

    public long remainingReadable() {
        return readableLength - bytesRead;
    }

    public long remainingWritable() {
        return writableLength - bytesWritten;
    }

    public long bytesRead() {
        return bytesRead;
    }

    /** Bytes written so far through {@link #write}: the used length to report. */
    public long bytesWritten() {
        return bytesWritten;
    }

    /**
     * Copies the next readable bytes into {@code dst}.
     *
     * @return bytes copied, less than {@code length} only at the end of the readable part
     */
    public int read(byte[] dst, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, dst.length);
        int done = 0;
        try {
            while (done < length && readBuffer < readableCount) {
                long left = Integer.toUnsignedLong(lengths[readBuffer]) - readOffset;
                if (left == 0) {
                    readBuffer++;
                    readOffset = 0;
                    continue;
                }
                int n = (int) Math.min(left, length - done);
                memory.read(GuestAddress.of(addresses[readBuffer] + readOffset), dst, offset + done, n);
                readOffset += n;
                done += n;
            }
        } catch (GuestMemoryException e) {
            throw new VirtioGuestException(queueName + ": " + e.getMessage(), e);
        }
        bytesRead += done;
        return done;
    }

    /** Skips up to {@code length} readable bytes without copying them; returns how many. */
    public long skip(long length) {
        long n = Math.min(Math.max(length, 0), remainingReadable());
        long left = n;
        while (left > 0) {
            long inBuffer = Integer.toUnsignedLong(lengths[readBuffer]) - readOffset;
            if (inBuffer == 0) {
                readBuffer++;
                readOffset = 0;
                continue;
            }
            long step = Math.min(inBuffer, left);
            readOffset += step;
            left -= step;
        }
        bytesRead += n;
        return n;
    }

    /**
     * Copies {@code src} into the next writable bytes.
     *
     * @return bytes copied, less than {@code length} only when the writable part is full
     */
    public int write(byte[] src, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, src.length);
        int done = 0;
        try {
            while (done < length && writeBuffer < count) {
                long left = Integer.toUnsignedLong(lengths[writeBuffer]) - writeOffset;
                if (left == 0) {
                    writeBuffer++;
                    writeOffset = 0;
                    continue;
                }
                int n = (int) Math.min(left, length - done);
                memory.write(GuestAddress.of(addresses[writeBuffer] + writeOffset), src, offset + done, n);
                writeOffset += n;
                done += n;
            }
        } catch (GuestMemoryException e) {
            throw new VirtioGuestException(queueName + ": " + e.getMessage(), e);
        }
        bytesWritten += done;
        return done;
    }

    @Override
    public String toString() {
        return String.format("chain head %d on %s: %d buffers, %d readable bytes, %d writable bytes",
                headIndex, queueName, count, readableLength, writableLength);
    }
}
