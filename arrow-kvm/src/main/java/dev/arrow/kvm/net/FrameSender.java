package dev.arrow.kvm.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A backend's transmit side: frames are queued and written in order by the sender's own thread,
 * so the device's thread never blocks on a congested host peer. That matters because the peer
 * may itself be waiting for us to read (passt stops reading while its writes to us block, and we
 * stop reading while the guest has no receive buffers, which only the device's thread refills):
 * a blocking send there closes the circle. The queue holds at most {@code maxQueuedBytes}; a
 * frame that finds it full is dropped and counted, as a NIC drops on a full transmit queue
 * (TCP in the guest retransmits).
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
    private final LinkedBlockingQueue<ByteBuffer> queue = new LinkedBlockingQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final ReaderThread thread;
    private volatile boolean closed;

    FrameSender(String name, Sink sink, long maxQueuedBytes, Consumer<IOException> onFailure) {
        this.sink = Objects.requireNonNull(sink, "sink");
        this.maxQueuedBytes = maxQueuedBytes;
        this.onFailure = Objects.requireNonNull(onFailure, "onFailure");
        this.thread = new ReaderThread(name, this::loop);
    }

    void start() {
        thread.start();
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
                queuedBytes.addAndGet(-n);
                sent.incrementAndGet();
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
