package dev.arrow.kvm.virtio;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import java.nio.ByteBuffer;

/**
 * A {@link GuestMemory} for tests that passes every access on to the memory it decorates, after calling
 * {@link #beforeRead} or {@link #beforeWrite} with the range: subclasses watch or interrupt accesses there.
 */
abstract class ForwardingGuestMemory implements GuestMemory {
    private final GuestMemory delegate;

    ForwardingGuestMemory(GuestMemory delegate) {
        this.delegate = delegate;
    }

    /** Called on the reading thread before a read of {@code length} bytes at {@code address}; nothing by default. */
    void beforeRead(GuestAddress address, long length) {
    }

    /** Called on the writing thread before a write of {@code length} bytes at {@code address}; nothing by default. */
    void beforeWrite(GuestAddress address, long length) {
    }

    GuestMemory delegate() {
        return delegate;
    }

    @Override
    public long size() {
        return delegate.size();
    }

    @Override
    public boolean isValid(GuestAddress address, long length) {
        return delegate.isValid(address, length);
    }

    @Override
    public void read(GuestAddress address, byte[] dst, int offset, int length) {
        beforeRead(address, length);
        delegate.read(address, dst, offset, length);
    }

    @Override
    public void write(GuestAddress address, byte[] src, int offset, int length) {
        beforeWrite(address, length);
        delegate.write(address, src, offset, length);
    }

    @Override
    public void write(GuestAddress address, ByteBuffer src) {
        beforeWrite(address, src.remaining());
        delegate.write(address, src);
    }

    @Override
    public byte readByte(GuestAddress address) {
        beforeRead(address, 1);
        return delegate.readByte(address);
    }

    @Override
    public short readShort(GuestAddress address) {
        beforeRead(address, 2);
        return delegate.readShort(address);
    }

    @Override
    public int readInt(GuestAddress address) {
        beforeRead(address, 4);
        return delegate.readInt(address);
    }

    @Override
    public long readLong(GuestAddress address) {
        beforeRead(address, 8);
        return delegate.readLong(address);
    }

    @Override
    public void writeByte(GuestAddress address, byte value) {
        beforeWrite(address, 1);
        delegate.writeByte(address, value);
    }

    @Override
    public void writeShort(GuestAddress address, short value) {
        beforeWrite(address, 2);
        delegate.writeShort(address, value);
    }

    @Override
    public void writeInt(GuestAddress address, int value) {
        beforeWrite(address, 4);
        delegate.writeInt(address, value);
    }

    @Override
    public void writeLong(GuestAddress address, long value) {
        beforeWrite(address, 8);
        delegate.writeLong(address, value);
    }

    @Override
    public void fill(GuestAddress address, long length, byte value) {
        beforeWrite(address, length);
        delegate.fill(address, length, value);
    }

    /** A discard changes what the range reads as, so it is announced as a write. */
    @Override
    public void discardPages(GuestAddress address, long length) {
        beforeWrite(address, length);
        delegate.discardPages(address, length);
    }
}
