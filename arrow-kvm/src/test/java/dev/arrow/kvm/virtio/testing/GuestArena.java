package dev.arrow.kvm.virtio.testing;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;

/**
 * A bump allocator over a range of guest memory, standing in for the guest kernel's allocator in
 * driver simulations: rings, indirect tables and data buffers. Not thread-safe.
 */
public final class GuestArena {
    private final GuestMemory memory;
    private final long start;
    private final long end;
    private long next;

    /** Allocates from {@code [start, start + size)}, which must lie inside guest RAM. */
    public GuestArena(GuestMemory memory, GuestAddress start, long size) {
        if (size <= 0 || !memory.isValid(start, size)) {
            throw new IllegalArgumentException("arena " + start + " + " + size + " is not inside guest RAM");
        }
        this.memory = memory;
        this.start = start.value();
        this.end = start.value() + size;
        this.next = this.start;
    }

    public GuestMemory memory() {
        return memory;
    }

    /** Zero-filled {@code bytes} aligned to {@code alignment} (a power of two). */
    public GuestAddress allocate(long bytes, long alignment) {
        if (bytes < 0 || alignment <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("bad allocation: " + bytes + " bytes aligned to " + alignment);
        }
        long address = (next + alignment - 1) & -alignment;
        if (address < next || address + bytes > end || address + bytes < address) {
            throw new IllegalStateException("guest arena exhausted: " + bytes + " bytes wanted, "
                    + (end - next) + " left");
        }
        next = address + bytes;
        memory.fill(GuestAddress.of(address), bytes, (byte) 0);
        return GuestAddress.of(address);
    }

    public GuestAddress allocate(long bytes) {
        return allocate(bytes, 8);
    }

    /** Allocates room for {@code data} and copies it there. */
    public GuestAddress put(byte[] data) {
        GuestAddress address = allocate(data.length);
        memory.write(address, data);
        return address;
    }

    /** Forgets every allocation (memory is not cleared until allocated again). */
    public void reset() {
        next = start;
    }

    public long used() {
        return next - start;
    }

    public long remaining() {
        return end - next;
    }
}
