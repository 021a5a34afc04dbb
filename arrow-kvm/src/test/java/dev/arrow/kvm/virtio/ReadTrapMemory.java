package dev.arrow.kvm.virtio;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import java.nio.ByteBuffer;

/**
 * A {@link GuestMemory} decorator for tests that need a device stopped at one exact point: {@link #beforeReading}
 * arms an action that runs, once, on the thread of the first read covering a guest address, before that read. The
 * device runs the action while it is inside its work (holding whatever locks it holds there), so a test can let
 * another thread act in that very interleaving. Everything else goes straight to the memory it decorates.
 */
public final class ReadTrapMemory implements GuestMemory {
    private final GuestMemory delegate;
    private GuestAddress trapped;
    private Runnable action;

    public ReadTrapMemory(GuestMemory delegate) {
        this.delegate = delegate;
    }

    /** Runs {@code action} before the first read that covers {@code address}; replaces an armed trap. */
    public synchronized void beforeReading(GuestAddress address, Runnable action) {
        this.trapped = address;
        this.action = action;
    }

    private void reading(GuestAddress address, long length) {
        Runnable run;
        synchronized (this) {
            if (action == null || Long.compareUnsigned(trapped.value() - address.value(), length) >= 0) {
                return;
            }
            run = action;
            action = null;
        }
        run.run();
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
        reading(address, length);
        delegate.read(address, dst, offset, length);
    }

    @Override
    public void write(GuestAddress address, byte[] src, int offset, int length) {
        delegate.write(address, src, offset, length);
    }

    @Override
    public void write(GuestAddress address, ByteBuffer src) {
        delegate.write(address, src);
    }

    @Override
    public byte readByte(GuestAddress address) {
        reading(address, 1);
        return delegate.readByte(address);
    }

    @Override
    public short readShort(GuestAddress address) {
        reading(address, 2);
        return delegate.readShort(address);
    }

    @Override
    public int readInt(GuestAddress address) {
        reading(address, 4);
        return delegate.readInt(address);
    }

    @Override
    public long readLong(GuestAddress address) {
        reading(address, 8);
        return delegate.readLong(address);
    }

    @Override
    public void writeByte(GuestAddress address, byte value) {
        delegate.writeByte(address, value);
    }

    @Override
    public void writeShort(GuestAddress address, short value) {
        delegate.writeShort(address, value);
    }

    @Override
    public void writeInt(GuestAddress address, int value) {
        delegate.writeInt(address, value);
    }

    @Override
    public void writeLong(GuestAddress address, long value) {
        delegate.writeLong(address, value);
    }

    @Override
    public void fill(GuestAddress address, long length, byte value) {
        delegate.fill(address, length, value);
    }
}
