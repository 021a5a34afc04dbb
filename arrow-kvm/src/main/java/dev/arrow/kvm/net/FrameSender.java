package dev.arrow.kvm.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A backend's transmit side: frames are queued and written in order by the sender's own thread,
 * so the device's thread never blocks on a congested host peer. That matters because the peer
 * may itself be waiting for us to read (passt stops reading while its writes to us block, and we
 * stop reading while the guest has no receive buffers, which only the device's thread refills):
 * a blocking send there closes the circle. The queue holds at most {@code maxQueuedBytes}.
 *
 * <p>Back-pressure: a caller asks {@link #hasRoom()} before it takes the next frame from its
 * source (the guest's transmit queue). While the queue cannot take a frame of the largest size,
 * the answer is no, and once the sender has written the queue down to half its bound it runs the
 * {@code onRoom} callback (once per "no"), on its own thread; the caller then resumes. A frame
 * offered to a full queue anyway is dropped and counted, as a NIC drops on a full transmit queue.
 */
final class FrameSender {
    /** Writes one whole frame to the peer, blocking as long as it takes. */
    interface Sink {
        void write(ByteBuffer frame) throws IOException;
    }

    private static final ByteBuffer END = ByteBuffer.allocate(0);

    private final Sink sink;
    private final long maxQueuedBytes;
    private final Consumer<IOException> onFailure;
    private final Runnable onRoom;
    /** Set when {@link #hasRoom()} said no: the next drain to the low-water mark runs {@link #onRoom}. */
    private final AtomicBoolean roomWanted = new AtomicBoolean();
    private final LinkedBlockingQueue<ByteBuffer> queue = new LinkedBlockingQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final BackendThread thread;
    private volatile boolean closed;

    /**
     * @param name           the sender thread's name
     * @param sink           where frames go, on the sender's thread
     * @param maxQueuedBytes the queue's bound; at least {@link NetworkBackend#MAX_FRAME_BYTES}
     * @param onFailure      told once, on the sender's thread, when a write fails
     * @param onRoom         told on the sender's thread when the queue has room again after {@link #hasRoom()} said no
     */
    FrameSender(String name, Sink sink, long maxQueuedBytes, Consumer<IOException> onFailure, Runnable onRoom) {
        this.sink = Objects.requireNonNull(sink, "sink");
        if (maxQueuedBytes < NetworkBackend.MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("a send queue of " + maxQueuedBytes
                    + " bytes cannot hold the largest frame (" + NetworkBackend.MAX_FRAME_BYTES + " bytes)");
        }
        this.maxQueuedBytes = maxQueuedBytes;
        this.onFailure = Objects.requireNonNull(onFailure, "onFailure");
        this.onRoom = Objects.requireNonNull(onRoom, "onRoom");
        this.thread = new BackendThread(name, this::loop);
    }

    void start() {
        thread.start();
    }

    /**
     * True when {@link #offer} would take a frame of the largest size. False while the queue is
     * that full; the sender then runs {@code onRoom} once it has written the queue down to half
     * its bound (or at once, should it drain meanwhile). Also true once closed: offers then drop,
     * and nobody needs to wait.
     */
    boolean hasRoom() {
        if (closed || queuedBytes.get() + NetworkBackend.MAX_FRAME_BYTES <= maxQueuedBytes) {
            return true;
        }
        roomWanted.set(true);
        // The sender may have drained between the check and the flag: look again. If there is room
        // now, the flag stays set and costs at most one needless onRoom later.
        return queuedBytes.get() + NetworkBackend.MAX_FRAME_BYTES <= maxQueuedBytes || closed;
    }

    /**
     * Queues a copy of the remaining bytes of {@code frame} (the caller may reuse its buffer).
     *
     * @return false when the frame was dropped: the queue is full or the sender is closed
     */
    boolean offer(ByteBuffer frame) {
        int n = frame.remaining();
        if (closed || queuedBytes.addAndGet(n) > maxQueuedBytes) {
            if (!closed) {
                queuedBytes.addAndGet(-n);
            }
            dropped.incrementAndGet();
            return false;
        }
        ByteBuffer copy = ByteBuffer.allocate(n);
        copy.put(frame.duplicate()).flip();
        frame.position(frame.limit());
        queue.add(copy);
        return true;
    }

    private void loop() {
        try {
            while (true) {
                ByteBuffer frame = queue.take();
                if (frame == END || closed) {
                    return;
                }
                int n = frame.remaining();
                sink.write(frame);
                long left = queuedBytes.addAndGet(-n);
                sent.incrementAndGet();
                if (left <= maxQueuedBytes / 2 && roomWanted.compareAndSet(true, false)) {
                    onRoom.run();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            if (!closed) {
                onFailure.accept(e);
            }
        }
    }

    /** Frames written to the peer. */
    long sent() {
        return sent.get();
    }

    /** Frames dropped because the queue was full (or the sender closed). */
    long dropped() {
        return dropped.get();
    }

    /** Bytes queued and not yet written. */
    long queuedBytes() {
        return queuedBytes.get();
    }

    /**
     * Stops taking frames and ends the thread; close the peer's channel first if the thread may be
     * blocked writing to it. Waits up to {@code timeoutMillis}.
     */
    void close(long timeoutMillis) {
        closed = true;
        queue.clear();
        queue.add(END);
        thread.awaitEnd(timeoutMillis);
    }

    boolean isAlive() {
        return thread.isAlive();
    }
}
