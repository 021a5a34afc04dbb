package dev.arrow.kvm.virtio;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.GuestMemoryException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link GuestMemory} decorator for tests: before every access it checks the range itself and
 * records any attempt outside guest RAM (then fails it the way real memory would). A device that
 * validates guest input completely never produces a record.
 */
public final class WatchedMemory implements GuestMemory {
    private final GuestMemory delegate;
    private final List<String> violations = new ArrayList<>();
    private long accesses;

    public WatchedMemory(GuestMemory delegate) {
        this.delegate = delegate;
    }

    public List<String> violations() {
        return violations;
    }

    public long accesses() {
        return accesses;
    }

    private void check(GuestAddress address, long length) {
        accesses++;
        if (!delegate.isValid(address, length)) {
            if (violations.size() < 20) {
                violations.add(address + "+" + length + " at " + new Throwable().getStackTrace()[2]);
            }
            throw new GuestMemoryException(address, length, "outside guest RAM (recorded by the test)");
        }
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
        check(address, length);
        delegate.read(address, dst, offset, length);
    }

    @Override
    public void write(GuestAddress address, byte[] src, int offset, int length) {
        check(address, length);
        delegate.write(address, src, offset, length);
    }

    @Override
    public void write(GuestAddress address, ByteBuffer src) {
        check(address, src.remaining());
        delegate.write(address, src);
    }

    @Override
    public byte readByte(GuestAddress address) {
        check(address, 1);
        return delegate.readByte(address);
    }

    @Override
    public short readShort(GuestAddress address) {
        check(address, 2);
        return delegate.readShort(address);
    }

    @Override
    public int readInt(GuestAddress address) {
        check(address, 4);
        return delegate.readInt(address);
    }

    @Override
    public long readLong(GuestAddress address) {
        check(address, 8);
        return delegate.readLong(address);
    }

    @Override
    public void writeByte(GuestAddress address, byte value) {
        check(address, 1);
        delegate.writeByte(address, value);
    }

    @Override
    public void writeShort(GuestAddress address, short value) {
        check(address, 2);
        delegate.writeShort(address, value);
    }

    @Override
    public void writeInt(GuestAddress address, int value) {
        check(address, 4);
        delegate.writeInt(address, value);
    }

    @Override
    public void writeLong(GuestAddress address, long value) {
        check(address, 8);
        delegate.writeLong(address, value);
    }

    @Override
    public void fill(GuestAddress address, long length, byte value) {
        check(address, length);
        delegate.fill(address, length, value);
    }
}
