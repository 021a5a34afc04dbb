package dev.arrow.kvm.virtio;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.GuestMemoryException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The device side of one split virtqueue (virtio 1.x section 2.7), written for a hostile guest.
 *
 * <p>{@link #pop()} takes the next available chain and walks it with a hop limit (the queue size,
 * or an indirect table's entry count), checking every index, every buffer against guest RAM, the
 * readable-before-writable order, indirect tables (feature negotiated, length a positive multiple
 * of 16 and at most {@link #MAX_INDIRECT_DESCRIPTORS} entries, inside RAM, not nested, not
 * combined with NEXT) and the total length ({@code maxChainBytes}, below 2^32). An available index
 * that runs more than the queue size ahead of the device is an error too. Every violation is a
 * {@link VirtioGuestException}; guest memory is never accessed outside the checked ranges.
 *
 * <p>{@link #addUsed} returns a chain; {@link #needsNotification()} says whether the driver wants
 * an interrupt for what was returned since the last call (VIRTQ_AVAIL_F_NO_INTERRUPT, or
 * used_event with VIRTIO_F_EVENT_IDX). With EVENT_IDX, a {@code pop()} that finds the ring empty
 * first publishes avail_event (asking the driver to notify on its next buffer) and looks again,
 * so "pop returned null" always means "empty, and the driver will notify". The device keeps its
 * own copies of the ring indices: what the guest writes to the used ring never affects it.
 *
 * <p>Not thread-safe: the owning transport serializes all calls.
 */
public final class SplitQueue {

    public static final int DESC_F_NEXT = 1;
    public static final int DESC_F_WRITE = 2;
    public static final int DESC_F_INDIRECT = 4;
    public static final int AVAIL_F_NO_INTERRUPT = 1;
    public static final int USED_F_NO_NOTIFY = 1;
    /** Largest indirect table accepted (64 KiB of descriptors). */
    public static final int MAX_INDIRECT_DESCRIPTORS = 4096;
    /** Default cap on the bytes one chain may describe. */
    public static final long DEFAULT_MAX_CHAIN_BYTES = 16L << 20;
    /** Chains are limited to below 2^32 bytes by the specification. */
    public static final long MAX_CHAIN_BYTES = 0xFFFF_FFFFL;

    private final GuestMemory memory;
    private final QueueLayout layout;
    private final String name;
    private final int size;
    private final boolean eventIdx;
    private final boolean indirect;
    private final long maxChainBytes;
    private final long descriptorTable;
    private final long availableRing;
    private final long usedRing;
    private final byte[] descriptorBytes = new byte[QueueLayout.DESCRIPTOR_SIZE];
    private final ByteBuffer descriptor = ByteBuffer.wrap(descriptorBytes).order(ByteOrder.LITTLE_ENDIAN);

    private int nextAvail;
    private int nextUsed;
    private int signalledUsed;
    private boolean signalledValid;
    private int addedSinceCheck;
    private boolean enabled = true;

    /**
     * @param features      the negotiated features (EVENT_IDX and INDIRECT_DESC matter here)
     * @param maxChainBytes cap on one chain's total length, at most {@link #MAX_CHAIN_BYTES}
     * @param name          used in error messages, e.g. "console queue 3"
     * @throws VirtioGuestException if the layout is invalid (see {@link QueueLayout#validate})
     */
    public SplitQueue(GuestMemory memory, QueueLayout layout, long features, long maxChainBytes, String name) {
        this(memory, layout, VirtioFeatures.has(features, VirtioFeatures.EVENT_IDX),
                VirtioFeatures.has(features, VirtioFeatures.INDIRECT_DESC), maxChainBytes, name);
        try {
            if (eventIdx) {
                writeAvailEvent(0);
            }
        } catch (GuestMemoryException e) {
            throw guestError(e);
        }
    }

    private SplitQueue(GuestMemory memory, QueueLayout layout, boolean eventIdx, boolean indirect,
                       long maxChainBytes, String name) {
        if (maxChainBytes <= 0 || maxChainBytes > MAX_CHAIN_BYTES) {
            throw new IllegalArgumentException("maxChainBytes must be in 1.." + MAX_CHAIN_BYTES + ", got " + maxChainBytes);
        }
        layout.validate(memory, QueueLayout.MAX_SIZE, name);
        this.memory = memory;
        this.layout = layout;
        this.name = name;
        this.size = layout.size();
        this.eventIdx = eventIdx;
        this.indirect = indirect;
        this.maxChainBytes = maxChainBytes;
        this.descriptorTable = layout.descriptorTable().value();
        this.availableRing = layout.availableRing().value();
        this.usedRing = layout.usedRing().value();
    }

    /**
     * What the device side of a split virtqueue remembers between notifications: where the rings
     * are, the negotiated features that change how they are read, and the device's own ring
     * indices. The rings' contents live in guest memory and are captured with it, never here. A
     * queue that exists is ready: a disabled queue has no state.
     *
     * @param layout          size and ring addresses
     * @param eventIdx        VIRTIO_F_EVENT_IDX was negotiated (notification suppression by index)
     * @param indirect        VIRTIO_F_INDIRECT_DESC was negotiated
     * @param nextAvail       the next available-ring position the device reads (16-bit counter)
     * @param nextUsed        the device's used index (16-bit counter)
     * @param signalledUsed   the used index at the last notification check (EVENT_IDX)
     * @param signalledValid  whether a notification check has happened since the queue was set up
     * @param unsignalledUsed chains returned since the last notification check
     */
    public record State(QueueLayout layout, boolean eventIdx, boolean indirect, int nextAvail, int nextUsed,
                        int signalledUsed, boolean signalledValid, int unsignalledUsed) {
        /** @throws IllegalArgumentException naming the field that no device could have produced */
        public State {
            if (layout == null) {
                throw new IllegalArgumentException("queue state: layout is required");
            }
            try {
                layout.checkShape(QueueLayout.MAX_SIZE, "queue state");
            } catch (VirtioGuestException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
            checkIndex("nextAvail", nextAvail);
            checkIndex("nextUsed", nextUsed);
            checkIndex("signalledUsed", signalledUsed);
            int inFlight = (nextAvail - nextUsed) & 0xffff;
            if (inFlight > layout.size()) {
                throw new IllegalArgumentException(String.format(
                        "queue state: next available index %d is %d entries ahead of the used index %d, more than the queue size %d",
                        nextAvail, inFlight, nextUsed, layout.size()));
            }
            if (!signalledValid && signalledUsed != 0) {
                throw new IllegalArgumentException("queue state: signalledUsed " + signalledUsed + " without a notification check");
            }
            if (unsignalledUsed < 0) {
                throw new IllegalArgumentException("queue state: unsignalledUsed " + unsignalledUsed + " is negative");
            }
        }

        private static void checkIndex(String field, int value) {
            if (value < 0 || value > 0xffff) {
                throw new IllegalArgumentException("queue state: " + field + " " + value + " is not a 16-bit ring index");
            }
        }
    }

    /**
     * A queue that continues from {@code state} over {@code memory} (which holds the rings as they
     * were when the state was captured). Writes nothing to guest memory.
     *
     * @throws IllegalArgumentException if the rings do not lie inside {@code memory}
     */
    public static SplitQueue restore(GuestMemory memory, State state, long maxChainBytes, String name) {
        SplitQueue queue;
        try {
            queue = new SplitQueue(memory, state.layout(), state.eventIdx(), state.indirect(), maxChainBytes, name);
        } catch (VirtioGuestException e) {
            throw new IllegalArgumentException("cannot restore " + e.getMessage(), e);
        }
        queue.nextAvail = state.nextAvail();
        queue.nextUsed = state.nextUsed();
        queue.signalledUsed = state.signalledUsed();
        queue.signalledValid = state.signalledValid();
        queue.addedSinceCheck = state.unsignalledUsed();
        return queue;
    }

    /**
     * The device side of this queue as it stands.
     *
     * @throws IllegalStateException if the queue is disabled
     */
    public State state() {
        if (!enabled) {
            throw new IllegalStateException(name + " is disabled: a disabled queue has no state");
        }
        return new State(layout, eventIdx, indirect, nextAvail, nextUsed, signalledUsed, signalledValid, addedSinceCheck);
    }

    public int size() {
        return size;
    }

    public String name() {
        return name;
    }

    public QueueLayout layout() {
        return layout;
    }

    /** The next available-ring position the device will read (a free-running 16-bit counter). */
    public int nextAvailIndex() {
        return nextAvail;
    }

    /** The device's used index (a free-running 16-bit counter), as last published. */
    public int nextUsedIndex() {
        return nextUsed;
    }

    public boolean isEventIdx() {
        return eventIdx;
    }

    /** False once the driver disabled the queue (QueueReady = 0) or the device was reset. */
    public boolean isEnabled() {
        return enabled;
    }

    /** Stops all guest accesses through this queue; called by the transport. */
    void disable() {
        enabled = false;
    }

    /**
     * Takes the next available descriptor chain.
     *
     * @return the validated chain, or null if none is available (or the queue is disabled)
     * @throws VirtioGuestException if the ring or the chain breaks the rules
     */
    public DescriptorChain pop() {
        if (!enabled) {
            return null;
        }
        try {
            int pending = pending();
            if (pending == 0 && eventIdx) {
                writeAvailEvent(nextAvail);
                VarHandle.fullFence();
                pending = pending();
            }
            if (pending == 0) {
                return null;
            }
            VarHandle.acquireFence();
            int slot = nextAvail & (size - 1);
            int head = Short.toUnsignedInt(memory.readShort(GuestAddress.of(availableRing + 4 + 2L * slot)));
            DescriptorChain chain = walk(head);
            nextAvail = (nextAvail + 1) & 0xffff;
            return chain;
        } catch (GuestMemoryException e) {
            throw guestError(e);
        }
    }

    /**
     * Walks the chain at {@code head} again, with every check of {@link #pop()}, without touching
     * the ring indices: for a device restored from a state in which it held a chain it had taken
     * and not yet returned.
     *
     * @throws IllegalArgumentException if {@code head} is outside the queue
     * @throws VirtioGuestException if the chain breaks the rules
     */
    public DescriptorChain reopen(int head) {
        if (head < 0 || head >= size) {
            throw new IllegalArgumentException(name + ": head " + head + " outside queue of " + size);
        }
        try {
            return walk(head);
        } catch (GuestMemoryException e) {
            throw guestError(e);
        }
    }

    /** True when the driver has made chains available that {@link #pop()} has not taken yet. */
    public boolean hasAvailable() {
        if (!enabled) {
            return false;
        }
        try {
            return pending() != 0;
        } catch (GuestMemoryException e) {
            throw guestError(e);
        }
    }

    /**
     * The ring's indices, for diagnostics (a stalled queue shows which side stopped): the driver's
     * available index and the device's next, the used index, and with EVENT_IDX the driver's
     * used_event. Reads guest memory; a ring that cannot be read is described as such.
     */
    public String describeState() {
        if (!enabled) {
            return name + ": disabled";
        }
        try {
            String text = String.format("%s: avail idx %d (device at %d), used idx %d, avail flags 0x%x", name,
                    readAvailIndex(), nextAvail, nextUsed, readAvailFlags());
            if (eventIdx) {
                text += String.format(", used_event %d, last signalled at used idx %s", readUsedEvent(),
                        signalledValid ? Integer.toString(signalledUsed) : "none");
            }
            return text;
        } catch (GuestMemoryException e) {
            return name + ": ring unreadable (" + e.getMessage() + ")";
        }
    }

    /**
     * Returns chain {@code headIndex} to the driver with {@code length} bytes written.
     *
     * @throws IllegalArgumentException for a head outside the queue or a length outside 0..2^32-1
     *     (device bugs, not guest errors)
     */
    public void addUsed(int headIndex, long length) {
        if (headIndex < 0 || headIndex >= size) {
            throw new IllegalArgumentException(name + ": used head index " + headIndex + " outside queue of " + size);
        }
        if (length < 0 || length > MAX_CHAIN_BYTES) {
            throw new IllegalArgumentException(name + ": used length " + length + " out of range");
        }
        if (!enabled) {
            return;
        }
        try {
            long element = usedRing + 4 + 8L * (nextUsed & (size - 1));
            memory.writeLong(GuestAddress.of(element), (length << 32) | Integer.toUnsignedLong(headIndex));
            nextUsed = (nextUsed + 1) & 0xffff;
            VarHandle.releaseFence();
            memory.writeShort(GuestAddress.of(usedRing + 2), (short) nextUsed);
            addedSinceCheck++;
        } catch (GuestMemoryException e) {
            throw guestError(e);
        }
    }

    /** Convenience: returns {@code chain} with {@link DescriptorChain#bytesWritten()} as its length. */
    public void addUsed(DescriptorChain chain) {
        addUsed(chain.headIndex(), chain.bytesWritten());
    }

    /**
     * Whether the driver asked to be interrupted for the chains returned since the last call.
     * Call it after a batch of {@link #addUsed} and signal the interrupt if it returns true.
     */
    public boolean needsNotification() {
        if (!enabled || addedSinceCheck == 0) {
            return false;
        }
        int added = addedSinceCheck;
        addedSinceCheck = 0;
        VarHandle.fullFence();
        try {
            if (!eventIdx) {
                return (readAvailFlags() & AVAIL_F_NO_INTERRUPT) == 0;
            }
            int usedEvent = readUsedEvent();
            int old = signalledUsed;
            boolean valid = signalledValid;
            signalledUsed = nextUsed;
            signalledValid = true;
            if (!valid || added >= 0x10000) {
                return true;
            }
            // vring_need_event: did the used index pass used_event with this batch?
            return ((nextUsed - usedEvent - 1) & 0xffff) < ((nextUsed - old) & 0xffff);
        } catch (GuestMemoryException e) {
            throw guestError(e);
        }
    }

    private int pending() {
        int availIdx = readAvailIndex();
        int pending = (availIdx - nextAvail) & 0xffff;
        if (pending > size) {
            throw new VirtioGuestException(String.format(
                    "%s: available index %d is %d entries ahead of the device's %d, more than the queue size %d",
                    name, availIdx, pending, nextAvail, size));
        }
        return pending;
    }

    /** The available ring's flags (offset 0). */
    private int readAvailFlags() {
        return Short.toUnsignedInt(memory.readShort(GuestAddress.of(availableRing)));
    }

    /** The available ring's idx (offset 2): the driver's next free slot. */
    private int readAvailIndex() {
        return Short.toUnsignedInt(memory.readShort(GuestAddress.of(availableRing + 2)));
    }

    /** used_event (EVENT_IDX), after the available ring's {@code size} entries. */
    private int readUsedEvent() {
        return Short.toUnsignedInt(memory.readShort(GuestAddress.of(availableRing + 4 + 2L * size)));
    }

    private void writeAvailEvent(int value) {
        memory.writeShort(GuestAddress.of(usedRing + 4 + 8L * size), (short) value);
    }

    private DescriptorChain walk(int head) {
        if (head >= size) {
            throw new VirtioGuestException(String.format(
                    "%s: available ring entry %d names descriptor %d, outside the table of %d",
                    name, nextAvail, head, size));
        }
        DescriptorChain chain = new DescriptorChain(memory, head, name);
        long table = descriptorTable;
        int tableSize = size;
        boolean inIndirect = false;
        int index = head;
        int hops = 0;
        long total = 0;
        boolean sawWritable = false;
        while (true) {
            if (++hops > tableSize) {
                throw new VirtioGuestException(inIndirect
                        ? String.format("%s: chain at head %d runs through more than the %d entries of its indirect table (a loop?)",
                                name, head, tableSize)
                        : String.format("%s: chain at head %d is longer than the queue size %d (a loop?)", name, head, tableSize));
            }
            memory.read(GuestAddress.of(table + (long) QueueLayout.DESCRIPTOR_SIZE * index), descriptorBytes, 0,
                    QueueLayout.DESCRIPTOR_SIZE);
            long address = descriptor.getLong(0);
            long length = Integer.toUnsignedLong(descriptor.getInt(8));
            int flags = Short.toUnsignedInt(descriptor.getShort(12));
            int next = Short.toUnsignedInt(descriptor.getShort(14));

            if ((flags & DESC_F_INDIRECT) != 0) {
                checkIndirect(head, index, inIndirect, flags, address, length);
                table = address;
                tableSize = (int) (length / QueueLayout.DESCRIPTOR_SIZE);
                inIndirect = true;
                index = 0;
                hops = 0;
                continue;
            }
            boolean writable = (flags & DESC_F_WRITE) != 0;
            if (!writable && sawWritable) {
                throw new VirtioGuestException(String.format(
                        "%s: chain at head %d has a device-readable buffer after a device-writable one", name, head));
            }
            sawWritable |= writable;
            if (!memory.isValid(GuestAddress.of(address), length)) {
                throw new VirtioGuestException(String.format(
                        "%s: chain at head %d has a buffer at 0x%x of %d bytes that is not inside guest RAM",
                        name, head, address, length));
            }
            total += length;
            if (total > maxChainBytes) {
                throw new VirtioGuestException(String.format(
                        "%s: chain at head %d describes more than %d bytes", name, head, maxChainBytes));
            }
            chain.add(address, length, writable);
            if ((flags & DESC_F_NEXT) == 0) {
                return chain;
            }
            if (next >= tableSize) {
                throw new VirtioGuestException(String.format(
                        "%s: chain at head %d links to descriptor %d, outside its %s of %d entries",
                        name, head, next, inIndirect ? "indirect table" : "descriptor table", tableSize));
            }
            index = next;
        }
    }

    private void checkIndirect(int head, int index, boolean inIndirect, int flags, long address, long length) {
        if (!indirect) {
            throw new VirtioGuestException(String.format(
                    "%s: chain at head %d uses an indirect table but VIRTIO_F_INDIRECT_DESC was not negotiated", name, head));
        }
        if (inIndirect) {
            throw new VirtioGuestException(String.format(
                    "%s: chain at head %d nests an indirect table inside another (entry %d)", name, head, index));
        }
        if ((flags & DESC_F_NEXT) != 0) {
            throw new VirtioGuestException(String.format(
                    "%s: chain at head %d has a descriptor with both INDIRECT and NEXT", name, head));
        }
        if (length == 0 || length % QueueLayout.DESCRIPTOR_SIZE != 0
                || length / QueueLayout.DESCRIPTOR_SIZE > MAX_INDIRECT_DESCRIPTORS) {
            throw new VirtioGuestException(String.format(
                    "%s: chain at head %d has an indirect table of %d bytes; it must be a positive multiple of 16 of at most %d entries",
                    name, head, length, MAX_INDIRECT_DESCRIPTORS));
        }
        if (!memory.isValid(GuestAddress.of(address), length)) {
            throw new VirtioGuestException(String.format(
                    "%s: chain at head %d has an indirect table at 0x%x of %d bytes that is not inside guest RAM",
                    name, head, address, length));
        }
    }

    private VirtioGuestException guestError(GuestMemoryException e) {
        return new VirtioGuestException(name + ": " + e.getMessage(), e);
    }

    @Override
    public String toString() {
        return String.format("%s (size %d, next avail %d, next used %d%s)", name, size, nextAvail, nextUsed,
                enabled ? "" : ", disabled");
    }
}
