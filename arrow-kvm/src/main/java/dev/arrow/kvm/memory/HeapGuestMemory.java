package dev.arrow.kvm.memory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * Guest memory backed by Java byte arrays, for unit tests of anything that reads or writes guest
 * RAM (loaders, boot structures, virtio queues) without KVM. Same bounds checks and behaviour as
 * {@link MmapGuestMemory}. Each region may hold up to 1 GiB. Not thread-safe for overlapping
 * accesses (neither is guest RAM).
 */
public final class HeapGuestMemory extends RegionBackedMemory {
    /** Largest region this implementation accepts. */
    public static final long MAX_REGION_SIZE = 1L << 30;

    private final ByteBuffer[] storage;

    /** Memory with the given (non-overlapping) regions, all zero. */
    public HeapGuestMemory(List<MemoryRegion> regions) {
        super(new GuestRegions(regions));
        storage = new ByteBuffer[this.regions.count()];
        for (int i = 0; i < storage.length; i++) {
            long size = this.regions.region(i).size();
            if (size > MAX_REGION_SIZE) {
                throw new IllegalArgumentException("heap guest memory region " + this.regions.region(i)
                        + " is larger than " + MAX_REGION_SIZE + " bytes; use MmapGuestMemory");
            }
            storage[i] = ByteBuffer.wrap(new byte[(int) size]).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** One region of {@code size} bytes at {@code start}. */
    public HeapGuestMemory(GuestAddress start, long size) {
        this(List.of(new MemoryRegion(start, size)));
    }

    /** One region of {@code size} bytes at guest address 0. */
    public static HeapGuestMemory ofSize(long size) {
        return new HeapGuestMemory(GuestAddress.of(0), size);
    }

    @Override
    void copyOut(int region, long offset, byte[] dst, int dstOffset, int length) {
        storage[region].get((int) offset, dst, dstOffset, length);
    }

    @Override
    void copyIn(int region, long offset, byte[] src, int srcOffset, int length) {
        storage[region].put((int) offset, src, srcOffset, length);
    }

    @Override
    void copyIn(int region, long offset, ByteBuffer src, int length) {
        storage[region].put((int) offset, src, src.position(), length);
        src.position(src.position() + length);
    }

    @Override
    long getLittleEndian(int region, long offset, int size) {
        ByteBuffer b = storage[region];
        int i = (int) offset;
        return switch (size) {
            case 1 -> b.get(i) & 0xFFL;
            case 2 -> b.getShort(i) & 0xFFFFL;
            case 4 -> b.getInt(i) & 0xFFFF_FFFFL;
            default -> b.getLong(i);
        };
    }

    @Override
    void putLittleEndian(int region, long offset, int size, long value) {
        ByteBuffer b = storage[region];
        int i = (int) offset;
        switch (size) {
            case 1 -> b.put(i, (byte) value);
            case 2 -> b.putShort(i, (short) value);
            case 4 -> b.putInt(i, (int) value);
            default -> b.putLong(i, value);
        }
    }

    @Override
    void fillRange(int region, long offset, long length, byte value) {
        Arrays.fill(storage[region].array(), (int) offset, (int) (offset + length), value);
    }

    /** Zeroes the range, as anonymous host memory reads after its pages went back to the host. */
    @Override
    void discardRange(int region, long offset, long length) {
        fillRange(region, offset, length, (byte) 0);
    }
}
