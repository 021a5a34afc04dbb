package dev.arrow.kvm.memory;

/**
 * A guest physical address. Arithmetic is overflow-checked: an address never wraps around
 * the 64-bit space silently, it fails with a {@link GuestMemoryException}.
 */
public record GuestAddress(long value) implements Comparable<GuestAddress> {

    public static GuestAddress of(long value) {
        return new GuestAddress(value);
    }

    /** This address plus {@code offset} (unsigned), failing on overflow past 2^64. */
    public GuestAddress plus(long offset) {
        long sum = value + offset;
        if (Long.compareUnsigned(sum, value) < 0) {
            throw new GuestMemoryException(this, offset, "address overflow");
        }
        return new GuestAddress(sum);
    }

    /** Unsigned distance {@code this - base}; fails when this address lies below {@code base}. */
    public long offsetFrom(GuestAddress base) {
        if (Long.compareUnsigned(value, base.value) < 0) {
            throw new GuestMemoryException(this, 0, "address below " + base);
        }
        return value - base.value;
    }

    @Override
    public int compareTo(GuestAddress other) {
        return Long.compareUnsigned(value, other.value);
    }

    @Override
    public String toString() {
        return String.format("0x%x", value);
    }
}
