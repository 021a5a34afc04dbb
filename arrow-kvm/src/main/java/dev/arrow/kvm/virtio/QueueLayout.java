package dev.arrow.kvm.virtio;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;

/**
 * Where the driver put one split virtqueue: its size and the guest addresses of the descriptor
 * table, the available ring ("driver area") and the used ring ("device area").
 * {@link #validate} checks it against the rules of virtio 1.x section 2.7 and against guest RAM
 * before any device touches it.
 */
public record QueueLayout(int size, GuestAddress descriptorTable, GuestAddress availableRing, GuestAddress usedRing) {

    /** Largest queue size the split ring format allows (2^15). */
    public static final int MAX_SIZE = 32768;
    public static final int DESCRIPTOR_SIZE = 16;
    public static final int DESCRIPTOR_ALIGNMENT = 16;
    public static final int AVAILABLE_ALIGNMENT = 2;
    public static final int USED_ALIGNMENT = 4;

    /** Bytes of a descriptor table of {@code size} entries. */
    public static long descriptorTableBytes(int size) {
        return (long) DESCRIPTOR_SIZE * size;
    }

    /** Bytes of an available ring of {@code size} entries: flags, idx, ring[size], used_event. */
    public static long availableRingBytes(int size) {
        return 6L + 2L * size;
    }

    /** Bytes of a used ring of {@code size} entries: flags, idx, ring[size] of (id, len), avail_event. */
    public static long usedRingBytes(int size) {
        return 6L + 8L * size;
    }

    /**
     * Checks the layout for a queue whose device offers at most {@code maxSize} entries.
     *
     * @param name used in the message, e.g. "queue 2"
     * @throws VirtioGuestException naming what is wrong: a size that is zero, above the maximum or
     *     not a power of two, a misaligned area, or an area not wholly inside one RAM region
     */
    public void validate(GuestMemory memory, int maxSize, String name) {
        checkShape(maxSize, name);
        checkInside(memory, name, "descriptor table", descriptorTable, descriptorTableBytes(size));
        checkInside(memory, name, "available ring", availableRing, availableRingBytes(size));
        checkInside(memory, name, "used ring", usedRing, usedRingBytes(size));
    }

    /**
     * The checks of {@link #validate} that need no guest memory: the size, each area's alignment,
     * and that no area runs past the end of the 64-bit address space.
     *
     * @throws VirtioGuestException naming what is wrong
     */
    public void checkShape(int maxSize, String name) {
        if (size <= 0 || size > maxSize || Integer.bitCount(size) != 1) {
            throw new VirtioGuestException(String.format(
                    "%s: size %d is not a power of two between 1 and %d", name, size, maxSize));
        }
        checkArea(name, "descriptor table", descriptorTable, descriptorTableBytes(size), DESCRIPTOR_ALIGNMENT);
        checkArea(name, "available ring", availableRing, availableRingBytes(size), AVAILABLE_ALIGNMENT);
        checkArea(name, "used ring", usedRing, usedRingBytes(size), USED_ALIGNMENT);
    }

    private static void checkArea(String name, String what, GuestAddress address, long bytes, int alignment) {
        if (address == null) {
            throw new VirtioGuestException(String.format("%s: %s has no address", name, what));
        }
        if ((address.value() & (alignment - 1)) != 0) {
            throw new VirtioGuestException(String.format(
                    "%s: %s at %s is not %d-byte aligned", name, what, address, alignment));
        }
        if (Long.compareUnsigned(address.value() + bytes, address.value()) < 0) {
            throw new VirtioGuestException(String.format(
                    "%s: %s at %s (%d bytes) runs past the end of the address space", name, what, address, bytes));
        }
    }

    private static void checkInside(GuestMemory memory, String name, String what, GuestAddress address, long bytes) {
        if (!memory.isValid(address, bytes)) {
            throw new VirtioGuestException(String.format(
                    "%s: %s at %s (%d bytes) is not inside guest RAM", name, what, address, bytes));
        }
    }
}
