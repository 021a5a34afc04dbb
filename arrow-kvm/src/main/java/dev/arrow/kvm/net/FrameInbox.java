package dev.arrow.kvm.net;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * A bounded queue of received Ethernet frames between one producer (a backend's reader thread)
 * and one consumer (the NIC device, under its transport's lock). Frames live in direct buffers
 * that are allocated only when more frames wait at once than ever before, and reused after, so
 * receiving allocates nothing per frame and an inbox sized for bursts costs memory only once
 * bursts come.
 *
 * <p>Producer: {@link #claim()} waits for a free slot, the producer fills {@link #slot(int)} and
 * {@link #publish publishes} it. Consumer: {@link #peek()} shows the oldest frame,
 * {@link #release()} frees it. {@link #close()} wakes a waiting producer for good.
 *
 * <p>Besides the producer's frames, a few small frames the backend makes itself (an answer it gives
 * the guest in its peer's place, e.g. a refused connection) can be queued from any thread with
 * {@link #offerLocal}: at most {@link #LOCAL_CAPACITY}, shown to the consumer before the
 * producer's, further ones dropped.
 */
public final class FrameInbox {
    /** The buffer of each queued (or claimed) frame, by ring position; null for a free position. */
    private final ByteBuffer[] slots;
    /** Buffers of released frames, for the next claims. */
    private final ArrayDeque<ByteBuffer> spare = new ArrayDeque<>();
    private final int[] lengths;
    private int allocated;
    private final int maxFrameBytes;
    private int head;
    private int count;
    private int claimed = -1;
    private boolean closed;
    /** Frames the backend made itself, shown before the ring's. */
    private final ArrayDeque<ByteBuffer> local = new ArrayDeque<>();
    /** Whether the last {@link #peek()} showed a local frame (which {@link #release()} then frees). */
    private boolean showingLocal;
    private long localDropped;
    /** Local frames waiting at most. */
    public static final int LOCAL_CAPACITY = 16;

    /**
     * @param slotCount     frames held at most (at least 1)
     * @param maxFrameBytes capacity of each slot
     */
    public FrameInbox(int slotCount, int maxFrameBytes) {
        if (slotCount < 1 || slotCount > 1024) {
            throw new IllegalArgumentException("slot count " + slotCount + " outside 1..1024");
        }
        if (maxFrameBytes < 1) {
            throw new IllegalArgumentException("slot size " + maxFrameBytes + " must be positive");
        }
        this.slots = new ByteBuffer[slotCount];
        this.lengths = new int[slotCount];
        this.maxFrameBytes = maxFrameBytes;
    }

    public int capacity() {
        return slots.length;
    }

    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    /**
     * The buffer of the claimed or queued slot {@code index}: direct, {@link #maxFrameBytes()}
     * long. Valid until that frame is released; the next frame in that slot may have another.
     */
    public synchronized ByteBuffer slot(int index) {
        ByteBuffer b = slots[index];
        if (b == null) {
            throw new IllegalStateException("slot " + index + " is neither claimed nor queued");
        }
        return b;
    }

    /** Buffers allocated so far: the most frames that waited (or were being read) at once. */
    public synchronized int allocatedSlots() {
        return allocated;
    }

    /**
     * Producer: waits until a slot is free and returns its index, its buffer cleared; -1 once
     * the inbox is closed.
     *
     * @throws IllegalStateException if a claimed slot was not published yet
     */
    public synchronized int claim() throws InterruptedException {
        if (claimed >= 0) {
            throw new IllegalStateException("slot " + claimed + " is claimed and not published yet");
        }
        while (!closed && count == slots.length) {
            wait();
        }
        if (closed) {
            return -1;
        }
        claimed = (head + count) % slots.length;
        if (slots[claimed] == null) { // an abandoned claim keeps its buffer
            ByteBuffer b = spare.poll();
            if (b == null) {
                b = ByteBuffer.allocateDirect(maxFrameBytes);
                allocated++;
            }
            slots[claimed] = b;
        }
        slots[claimed].clear();
        return claimed;
    }

    /**
     * Producer: queues the claimed slot holding a frame of {@code length} bytes (from offset 0).
     *
     * @return true when the inbox was empty before, i.e. the consumer must be told
     */
    public synchronized boolean publish(int length) {
        if (claimed < 0) {
            throw new IllegalStateException("no slot claimed");
        }
        if (length < 0 || length > maxFrameBytes) {
            throw new IllegalArgumentException("frame length " + length + " outside 0.." + maxFrameBytes);
        }
        lengths[claimed] = length;
        claimed = -1;
        if (closed) {
            return false;
        }
        count++;
        return count == 1;
    }

    /** Producer: gives back a claimed slot without queueing it (the read failed or was dropped). */
    public synchronized void abandon() {
        claimed = -1;
    }

    /**
     * Any thread: queues a copy of a frame the backend made itself (from position to limit), unless
     * {@link #LOCAL_CAPACITY} such frames wait already or the inbox is closed (then it is dropped
     * and counted).
     *
     * @return true when the inbox was empty before, i.e. the consumer must be told
     */
    public synchronized boolean offerLocal(ByteBuffer frame) {
        if (frame.remaining() > maxFrameBytes) {
            throw new IllegalArgumentException("frame of " + frame.remaining() + " bytes, slots hold " + maxFrameBytes);
        }
        if (closed || local.size() >= LOCAL_CAPACITY) {
            localDropped++;
            return false;
        }
        boolean wasEmpty = count == 0 && local.isEmpty();
        ByteBuffer copy = ByteBuffer.allocateDirect(frame.remaining()); // direct, as the producer's frames
        copy.put(frame.duplicate()).flip();
        local.add(copy);
        return wasEmpty;
    }

    /** Local frames dropped because {@link #LOCAL_CAPACITY} were waiting (or the inbox was closed). */
    public synchronized long localDropped() {
        return localDropped;
    }

    /**
     * Consumer: the oldest frame, positioned at 0 with its length as limit, or null when empty.
     * The buffer stays valid until {@link #release()}; the consumer may move its position but must
     * not write to it. Local frames ({@link #offerLocal}) come first.
     */
    public synchronized ByteBuffer peek() {
        if (closed) {
            return null;
        }
        if (!local.isEmpty()) {
            showingLocal = true;
            return local.peekFirst().position(0);
        }
        showingLocal = false;
        if (count == 0) {
            return null;
        }
        ByteBuffer b = slots[head];
        b.limit(lengths[head]).position(0);
        return b;
    }

    /** Consumer: frees the frame {@link #peek()} showed. */
    public synchronized void release() {
        if (showingLocal) {
            showingLocal = false;
            local.pollFirst();
            return;
        }
        if (count == 0) {
            throw new IllegalStateException("no frame to release");
        }
        spare.push(slots[head]);
        slots[head] = null;
        head = (head + 1) % slots.length;
        count--;
        notifyAll();
    }

    /** Frames queued (the producer's and local ones). */
    public synchronized int size() {
        return closed ? 0 : count + local.size();
    }

    /** Wakes the producer for good; afterwards {@link #claim()} returns -1 and {@link #peek()} null. */
    public synchronized void close() {
        closed = true;
        notifyAll();
    }

    public synchronized boolean isClosed() {
        return closed;
    }
}
