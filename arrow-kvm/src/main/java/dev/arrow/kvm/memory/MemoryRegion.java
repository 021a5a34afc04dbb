package dev.arrow.kvm.memory;

/**
 * A contiguous range of guest physical memory: {@code size} bytes from {@code start}. The range
 * may not wrap past the top of the 64-bit address space.
 */
public record MemoryRegion(GuestAddress start, long size) {

    public MemoryRegion {
        if (start == null) {
            throw new IllegalArgumentException("memory region start is null");
        }
        if (size <= 0) {
            throw new IllegalArgumentException("memory region at " + start + " must have a positive size, got " + size);
        }
        long last = start.value() + size - 1;
        if (Long.compareUnsigned(last, start.value()) < 0) {
            throw new IllegalArgumentException("memory region at " + start + " of " + size
                    + " bytes wraps past the end of the address space");
        }
    }

    public static MemoryRegion of(long start, long size) {
        return new MemoryRegion(GuestAddress.of(start), size);
    }

    /** The first address after the region, as an unsigned value (0 when the region ends at 2^64). */
    public long endValue() {
        return start.value() + size;
    }

    /** True when the two regions share at least one byte. */
    public boolean overlaps(MemoryRegion other) {
        long a = start.value();
        long b = other.start.value();
        // a's last byte >= b and b's last byte >= a (unsigned)
        return Long.compareUnsigned(a + size - 1, b) >= 0 && Long.compareUnsigned(b + other.size - 1, a) >= 0;
    }

    @Override
    public String toString() {
        return String.format("[0x%x, 0x%x)", start.value(), start.value() + size);
    }
}
