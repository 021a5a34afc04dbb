package dev.arrow.kvm.virtio;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.HeapGuestMemory;
import java.nio.ByteBuffer;

/**
 * The guest driver's view of two machines that should stay identical: it reads the primary's
 * memory and, once {@link #mirrorTo} has named a copy, writes to both. Devices get the two
 * memories themselves, so what each device writes stays in its own machine. For tests that
 * restore a device from a captured state and check that it continues like the original.
 */
public final class MirroredMemory implements GuestMemory {
    private final HeapGuestMemory primary;
    private HeapGuestMemory copy;

    public MirroredMemory(HeapGuestMemory primary) {
        this.primary = primary;
    }

    /** A new memory holding the primary's current contents. */
    public static HeapGuestMemory copyOf(HeapGuestMemory memory) {
        HeapGuestMemory copy = HeapGuestMemory.ofSize(memory.size());
        copy.write(GuestAddress.of(0), memory.read(GuestAddress.of(0), Math.toIntExact(memory.size())));
        return copy;
    }

    /** From now on every driver write goes to {@code copy} too. */
    public void mirrorTo(HeapGuestMemory copy) {
        this.copy = copy;
    }

    @Override
    public long size() {
        return primary.size();
    }

    @Override
    public boolean isValid(GuestAddress address, long length) {
        return primary.isValid(address, length);
    }

    @Override
    public void read(GuestAddress address, byte[] dst, int offset, int length) {
        primary.read(address, dst, offset, length);
    }

    @Override
    public void write(GuestAddress address, byte[] src, int offset, int length) {
        primary.write(address, src, offset, length);
        if (copy != null) {
            copy.write(address, src, offset, length);
        }
    }

    @Override
    public void write(GuestAddress address, ByteBuffer src) {
        if (copy != null) {
            copy.write(address, src.duplicate());
        }
        primary.write(address, src);
    }

    @Override
    public byte readByte(GuestAddress address) {
        return primary.readByte(address);
    }

    @Override
    public short readShort(GuestAddress address) {
        return primary.readShort(address);
    }

    @Override
    public int readInt(GuestAddress address) {
        return primary.readInt(address);
    }

    @Override
    public long readLong(GuestAddress address) {
        return primary.readLong(address);
    }

    @Override
    public void writeByte(GuestAddress address, byte value) {
        primary.writeByte(address, value);
        if (copy != null) {
            copy.writeByte(address, value);
        }
    }

    @Override
    public void writeShort(GuestAddress address, short value) {
        primary.writeShort(address, value);
        if (copy != null) {
            copy.writeShort(address, value);
        }
    }

    @Override
    public void writeInt(GuestAddress address, int value) {
        primary.writeInt(address, value);
        if (copy != null) {
            copy.writeInt(address, value);
        }
    }

    @Override
    public void writeLong(GuestAddress address, long value) {
        primary.writeLong(address, value);
        if (copy != null) {
            copy.writeLong(address, value);
        }
    }

    @Override
    public void fill(GuestAddress address, long length, byte value) {
        primary.fill(address, length, value);
        if (copy != null) {
            copy.fill(address, length, value);
        }
    }

    @Override
    public void discardPages(GuestAddress address, long length) {
        primary.discardPages(address, length);
        if (copy != null) {
            copy.discardPages(address, length);
        }
    }
}
