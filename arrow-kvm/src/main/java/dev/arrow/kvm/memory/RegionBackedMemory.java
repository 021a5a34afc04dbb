package dev.arrow.kvm.memory;

import dev.arrow.kvm.x86.Layout;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;

/**
 * The shared part of our {@link GuestMemory} implementations: every public access is located
 * through {@link GuestRegions#locate} (the one bounds check) and then handed to the storage of
 * one region at a checked offset. Subclasses only move bytes. Memory made read-only refuses
 * every write here, before any storage is touched.
 */
abstract sealed class RegionBackedMemory implements GuestMemory permits HeapGuestMemory, MmapGuestMemory {
    protected final GuestRegions regions;
    private final boolean readOnly;

    RegionBackedMemory(GuestRegions regions) {
        this(regions, false);
    }

    RegionBackedMemory(GuestRegions regions, boolean readOnly) {
        this.regions = regions;
        this.readOnly = readOnly;
    }

    /** True when every write fails with a {@link GuestMemoryException}. */
    public boolean isReadOnly() {
        return readOnly;
    }

    /** The RAM regions, sorted by address. */
    public List<MemoryRegion> regions() {
        return regions.asList();
    }

    @Override
    public long size() {
        return regions.totalSize();
    }

    @Override
    public boolean isValid(GuestAddress address, long length) {
        return regions.contains(address, length);
    }

    @Override
    public void read(GuestAddress address, byte[] dst, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, dst.length);
        int r = regions.locate(address, length);
        if (length > 0) {
            copyOut(r, address.value() - regions.start(r), dst, offset, length);
        }
    }

    @Override
    public void write(GuestAddress address, byte[] src, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, src.length);
        int r = locateWritable(address, length);
        if (length > 0) {
            copyIn(r, address.value() - regions.start(r), src, offset, length);
        }
    }

    @Override
    public void write(GuestAddress address, ByteBuffer src) {
        int length = src.remaining();
        int r = locateWritable(address, length);
        if (length > 0) {
            copyIn(r, address.value() - regions.start(r), src, length);
        }
    }

    @Override
    public byte readByte(GuestAddress address) {
        return (byte) get(address, 1);
    }

    @Override
    public short readShort(GuestAddress address) {
        return (short) get(address, 2);
    }

    @Override
    public int readInt(GuestAddress address) {
        return (int) get(address, 4);
    }

    @Override
    public long readLong(GuestAddress address) {
        return get(address, 8);
    }

    @Override
    public void writeByte(GuestAddress address, byte value) {
        put(address, 1, value);
    }

    @Override
    public void writeShort(GuestAddress address, short value) {
        put(address, 2, value);
    }

    @Override
    public void writeInt(GuestAddress address, int value) {
        put(address, 4, value);
    }

    @Override
    public void writeLong(GuestAddress address, long value) {
        put(address, 8, value);
    }

    @Override
    public void fill(GuestAddress address, long length, byte value) {
        int r = locateWritable(address, length);
        if (length > 0) {
            fillRange(r, address.value() - regions.start(r), length, value);
        }
    }

    @Override
    public void discardPages(GuestAddress address, long length) {
        if (length <= 0 || ((address.value() | length) & (Layout.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(String.format("pages to discard [%s, +0x%x) are not a non-empty, "
                    + "4 KiB aligned range", address, length));
        }
        int r = locateWritable(address, length);
        discardRange(r, address.value() - regions.start(r), length);
    }

    private long get(GuestAddress address, int size) {
        int r = regions.locate(address, size);
        return getLittleEndian(r, address.value() - regions.start(r), size);
    }

    private void put(GuestAddress address, int size, long value) {
        int r = locateWritable(address, size);
        putLittleEndian(r, address.value() - regions.start(r), size, value);
    }

    /** {@link GuestRegions#locate}, and for read-only memory the refusal of the write. */
    private int locateWritable(GuestAddress address, long length) {
        int r = regions.locate(address, length);
        if (readOnly) {
            throw new GuestMemoryException(address, length, "the memory at " + regions.region(r) + " is read-only");
        }
        return r;
    }

    // Storage primitives: region index and offset are already checked; length > 0.

    abstract void copyOut(int region, long offset, byte[] dst, int dstOffset, int length);

    abstract void copyIn(int region, long offset, byte[] src, int srcOffset, int length);

    /** Copies {@code length} bytes from {@code src}'s position, advancing it. */
    abstract void copyIn(int region, long offset, ByteBuffer src, int length);

    /** Reads a 1, 2, 4 or 8-byte little-endian value, zero-extended to 64 bits. */
    abstract long getLittleEndian(int region, long offset, int size);

    abstract void putLittleEndian(int region, long offset, int size, long value);

    abstract void fillRange(int region, long offset, long length, byte value);

    /** Gives the host back the pages of a range ({@link GuestMemory#discardPages}); offset and length page aligned. */
    abstract void discardRange(int region, long offset, long length);
}
