package dev.arrow.kvm.virtio.testing;

import static dev.arrow.kvm.virtio.SplitQueue.DESC_F_INDIRECT;
import static dev.arrow.kvm.virtio.SplitQueue.DESC_F_NEXT;
import static dev.arrow.kvm.virtio.SplitQueue.DESC_F_WRITE;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.virtio.QueueLayout;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The driver side of one split virtqueue, as a guest kernel would run it: rings laid out in guest
 * memory, a free list of descriptors, chains (direct or through an indirect table) published in
 * the available ring, used entries reaped with their descriptors freed, and the driver's half of
 * notification suppression (used_event, avail_event, the flags).
 *
 * <p>For hostile-guest tests it also writes raw descriptors, ring entries and indices with any
 * value; raw writes bypass the free list, so do not mix them with {@link #add} on the same
 * descriptors. Not thread-safe.
 */
public final class QueueDriver {

    /** One buffer of a chain: device-readable unless {@code writable}. */
    public record Buffer(GuestAddress address, int length, boolean writable) {
        public static Buffer readable(GuestAddress address, int length) {
            return new Buffer(address, length, false);
        }

        public static Buffer writable(GuestAddress address, int length) {
            return new Buffer(address, length, true);
        }
    }

    /** An entry of the used ring. */
    public record UsedElement(int id, long length) {
    }

    private final GuestMemory memory;
    private final QueueLayout layout;
    private final int size;
    private final long desc;
    private final long avail;
    private final long used;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final int[][] chains;
    private int availIdx;
    private int lastSeenUsed;
    private int availIdxAtLastKick;

    /** A driver for rings the caller placed; they are zeroed. */
    public QueueDriver(GuestMemory memory, QueueLayout layout) {
        this.memory = memory;
        this.layout = layout;
        this.size = layout.size();
        if (size <= 0 || size > QueueLayout.MAX_SIZE || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("queue size " + size + " is not a power of two up to 32768");
        }
        this.desc = layout.descriptorTable().value();
        this.avail = layout.availableRing().value();
        this.used = layout.usedRing().value();
        this.chains = new int[size][];
        memory.fill(layout.descriptorTable(), QueueLayout.descriptorTableBytes(size), (byte) 0);
        memory.fill(layout.availableRing(), QueueLayout.availableRingBytes(size), (byte) 0);
        memory.fill(layout.usedRing(), QueueLayout.usedRingBytes(size), (byte) 0);
        for (int i = 0; i < size; i++) {
            free.add(i);
        }
    }

    /** Allocates the three areas from {@code arena} (each 4 KiB aligned, as Linux does for the used ring). */
    public static QueueDriver create(GuestArena arena, int size) {
        GuestAddress d = arena.allocate(QueueLayout.descriptorTableBytes(size), 4096);
        GuestAddress a = arena.allocate(QueueLayout.availableRingBytes(size), 2);
        GuestAddress u = arena.allocate(QueueLayout.usedRingBytes(size), 4096);
        return new QueueDriver(arena.memory(), new QueueLayout(size, d, a, u));
    }

    public QueueLayout layout() {
        return layout;
    }

    public int size() {
        return size;
    }

    public GuestMemory memory() {
        return memory;
    }

    public int freeDescriptors() {
        return free.size();
    }

    /**
     * Writes {@code buffers} as a chain of direct descriptors and publishes it.
     *
     * @return the head index
     * @throws IllegalStateException if there are not enough free descriptors
     */
    public int add(List<Buffer> buffers) {
        if (buffers.isEmpty() || buffers.size() > free.size()) {
            throw new IllegalStateException("need " + buffers.size() + " free descriptors, have " + free.size());
        }
        int[] indices = new int[buffers.size()];
        for (int i = 0; i < indices.length; i++) {
            indices[i] = free.poll();
        }
        for (int i = 0; i < indices.length; i++) {
            Buffer b = buffers.get(i);
            boolean last = i == indices.length - 1;
            writeDescriptor(indices[i], b.address().value(), Integer.toUnsignedLong(b.length()),
                    (b.writable() ? DESC_F_WRITE : 0) | (last ? 0 : DESC_F_NEXT), last ? 0 : indices[i + 1]);
        }
        chains[indices[0]] = indices;
        publish(indices[0]);
        return indices[0];
    }

    /** Convenience for a one-buffer chain. */
    public int add(Buffer buffer) {
        return add(List.of(buffer));
    }

    /**
     * Writes {@code buffers} into an indirect table allocated from {@code arena} and publishes one
     * descriptor pointing at it.
     */
    public int addIndirect(GuestArena arena, List<Buffer> buffers) {
        if (buffers.isEmpty() || free.isEmpty()) {
            throw new IllegalStateException("need 1 free descriptor and at least one buffer");
        }
        GuestAddress table = arena.allocate((long) QueueLayout.DESCRIPTOR_SIZE * buffers.size(), 16);
        for (int i = 0; i < buffers.size(); i++) {
            Buffer b = buffers.get(i);
            boolean last = i == buffers.size() - 1;
            writeDescriptor(memory, table, i, b.address().value(), Integer.toUnsignedLong(b.length()),
                    (b.writable() ? DESC_F_WRITE : 0) | (last ? 0 : DESC_F_NEXT), last ? 0 : i + 1);
        }
        int head = free.poll();
        writeDescriptor(head, table.value(), (long) QueueLayout.DESCRIPTOR_SIZE * buffers.size(), DESC_F_INDIRECT, 0);
        chains[head] = new int[] {head};
        publish(head);
        return head;
    }

    /** The next used element the device returned (freeing its descriptors), or null. */
    public UsedElement pollUsed() {
        int usedIdx = usedIdx();
        if (usedIdx == lastSeenUsed) {
            return null;
        }
        long element = used + 4 + 8L * (lastSeenUsed & (size - 1));
        int id = memory.readInt(GuestAddress.of(element));
        long length = Integer.toUnsignedLong(memory.readInt(GuestAddress.of(element + 4)));
        lastSeenUsed = (lastSeenUsed + 1) & 0xffff;
        if (id >= 0 && id < size && chains[id] != null) {
            for (int index : chains[id]) {
                free.add(index);
            }
            chains[id] = null;
        }
        return new UsedElement(id, length);
    }

    /** Used elements the device returned that {@link #pollUsed()} has not taken yet. */
    public int pendingUsed() {
        return (usedIdx() - lastSeenUsed) & 0xffff;
    }

    /**
     * The driver's kick decision for what it published since the last call: avail_event with
     * VIRTIO_F_EVENT_IDX, otherwise the used ring's NO_NOTIFY flag.
     */
    public boolean shouldNotify(boolean eventIdx) {
        int old = availIdxAtLastKick;
        availIdxAtLastKick = availIdx;
        if (old == availIdx) {
            return false;
        }
        if (eventIdx) {
            int event = availEvent();
            return ((availIdx - event - 1) & 0xffff) < ((availIdx - old) & 0xffff);
        }
        return (usedFlags() & 1) == 0;
    }

    // ---- raw access (also for malformed chains) ----

    /** Writes descriptor {@code index} of this queue's table with any values. */
    public void writeDescriptor(int index, long address, long length, int flags, int next) {
        writeDescriptor(memory, layout.descriptorTable(), index, address, length, flags, next);
    }

    /** Writes entry {@code index} of the descriptor table (or indirect table) at {@code table}. */
    public static void writeDescriptor(GuestMemory memory, GuestAddress table, int index, long address, long length,
                                       int flags, int next) {
        long at = table.value() + (long) QueueLayout.DESCRIPTOR_SIZE * index;
        memory.writeLong(GuestAddress.of(at), address);
        memory.writeInt(GuestAddress.of(at + 8), (int) length);
        memory.writeShort(GuestAddress.of(at + 12), (short) flags);
        memory.writeShort(GuestAddress.of(at + 14), (short) next);
    }

    /** Puts {@code head} (any value) in the next available-ring slot and advances the index. */
    public void publish(int head) {
        setAvailRingEntry(availIdx & (size - 1), head);
        setAvailIdx(availIdx + 1);
    }

    public void setAvailRingEntry(int slot, int head) {
        memory.writeShort(GuestAddress.of(avail + 4 + 2L * slot), (short) head);
    }

    /** Sets the available index (any value; 16 bits are kept). */
    public void setAvailIdx(int value) {
        availIdx = value & 0xffff;
        memory.writeShort(GuestAddress.of(avail + 2), (short) availIdx);
    }

    public int availIdx() {
        return availIdx;
    }

    public void setAvailFlags(int flags) {
        memory.writeShort(GuestAddress.of(avail), (short) flags);
    }

    /** used_event: the used index at which the driver wants an interrupt (EVENT_IDX). */
    public void setUsedEvent(int value) {
        memory.writeShort(GuestAddress.of(avail + 4 + 2L * size), (short) value);
    }

    /** avail_event as the device published it (EVENT_IDX). */
    public int availEvent() {
        return Short.toUnsignedInt(memory.readShort(GuestAddress.of(used + 4 + 8L * size)));
    }

    /** The used index as the device published it. */
    public int usedIdx() {
        return Short.toUnsignedInt(memory.readShort(GuestAddress.of(used + 2)));
    }

    /** Overwrites the used index, as a misbehaving guest might. */
    public void setUsedIdx(int value) {
        memory.writeShort(GuestAddress.of(used + 2), (short) value);
    }

    public int usedFlags() {
        return Short.toUnsignedInt(memory.readShort(GuestAddress.of(used)));
    }
}
