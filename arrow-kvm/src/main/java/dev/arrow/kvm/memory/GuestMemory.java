package dev.arrow.kvm.memory;

import java.nio.ByteBuffer;

/**
 * The one interface through which the VMM touches guest RAM. Every access is bounds-checked
 * against the guest's regions: an access that is not wholly inside one region fails with a
 * {@link GuestMemoryException} and never touches host memory outside the guest's mappings.
 * Integers are little-endian, as on x86.
 *
 * <p>Implementations: {@link MmapGuestMemory} (host mappings registered as KVM memory slots) and
 * {@link HeapGuestMemory} (byte arrays, for tests without KVM).
 */
public interface GuestMemory {

    /** Total bytes of guest RAM. */
    long size();

    /** True when {@code [address, address+length)} lies wholly inside one region. */
    boolean isValid(GuestAddress address, long length);

    void read(GuestAddress address, byte[] dst, int offset, int length);

    void write(GuestAddress address, byte[] src, int offset, int length);

    default byte[] read(GuestAddress address, int length) {
        byte[] b = new byte[length];
        read(address, b, 0, length);
        return b;
    }

    default void write(GuestAddress address, byte[] src) {
        write(address, src, 0, src.length);
    }

    /** Copies {@code src}'s remaining bytes to guest memory (advancing its position). */
    void write(GuestAddress address, ByteBuffer src);

    byte readByte(GuestAddress address);

    short readShort(GuestAddress address);

    int readInt(GuestAddress address);

    long readLong(GuestAddress address);

    void writeByte(GuestAddress address, byte value);

    void writeShort(GuestAddress address, short value);

    void writeInt(GuestAddress address, int value);

    void writeLong(GuestAddress address, long value);

    /** Sets {@code length} bytes from {@code address} to {@code value}. */
    void fill(GuestAddress address, long length, byte value);

    /**
     * The guest no longer needs the content of the page-aligned range {@code [address, address + length)}
     * (it reported the pages free): the host takes their memory back where it can. Afterwards each page
     * stays usable and reads as zero, as the page of the file behind it, or unchanged, whichever its
     * backing gives ({@link MmapGuestMemory#discardPages}); never as anything the guest did not have.
     *
     * @throws GuestMemoryException if the range is not wholly inside one region, or the memory is read-only
     * @throws IllegalArgumentException if the range is empty or not aligned to {@link dev.arrow.kvm.x86.Layout#PAGE_SIZE}
     */
    void discardPages(GuestAddress address, long length);
}
