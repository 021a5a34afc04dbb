package dev.arrow.kvm.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every {@link NetworkBackend} does the same way, whatever its transport: its health, the
 * listener, failure reporting (once, never after close), the inbox, the reader thread and its loop,
 * the frame counters and the order of {@link #close()}. A backend adds its transport: how one frame
 * is read ({@link #readFrame}) and written ({@link #transmit}), how a reader blocked in the transport
 * is woken ({@link #interruptReader}) and how the transport is released ({@link #closeTransport},
 * {@link #releaseReaderResources}).
 *
 * <p>The reader claims a slot of the inbox, lets the transport fill it, drops frames shorter than an
 * Ethernet header (counted), shows the rest to the transport ({@link #received}) and publishes them,
 * telling the listener when the inbox was empty. It ends when the inbox closes, when the transport
 * says so, or on a failure, which it reports.
 *
 * <p>{@link #close()}: marks the backend closed and unhealthy, closes the inbox (a reader waiting
 * for a free slot returns), {@link #interruptReader wakes the reader} out of the transport, waits
 * for it ({@link BackendThread#awaitEnd}: not when it is blocked on the device's lock), then
 * {@link #closeTransport closes the transport}; what the reader itself uses is released once it has
 * ended, then or when it ends later ({@link #releaseReaderResources}).
 */
abstract class AbstractNetworkBackend implements NetworkBackend {
    /** How long close() waits for the reader (and a transport its process or sender). */
    static final long CLOSE_WAIT_MILLIS = 2000;

    /** The concrete backend's logger: its messages keep their backend's name. */
    private final Logger log = LoggerFactory.getLogger(getClass());
    private final FrameInbox inbox;
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean healthy = true;
    private volatile Listener listener;
    private volatile BackendThread reader;
    private volatile long framesReceived;
    private volatile long framesDroppedOnReceive;
    private final Object readerEnd = new Object();
    private boolean readerEnded; // guarded by readerEnd
    /** close() is done with the transport: what the reader used may go once the reader has ended. */
    private boolean transportClosed; // guarded by readerEnd
    private boolean readerResourcesReleased; // guarded by readerEnd

    /** @param inboxSlots frames held for the guest at most */
    AbstractNetworkBackend(int inboxSlots) {
        this.inbox = new FrameInbox(inboxSlots, MAX_FRAME_BYTES);
    }

    // ---- the transport ----

    /** The reader thread's name. */
    abstract String readerName();

    /**
     * Reads the next frame from the transport into {@code slot} (direct, cleared, {@link #MAX_FRAME_BYTES}
     * long, from offset 0), blocking until one comes.
     *
     * @return its length; -1 when the reader is to end: the backend closed, or the transport ended or
     *     failed and the transport has {@link #failed reported it}
     * @throws IOException when reading failed; reported as {@link #readFailure} unless the backend is closed
     */
    abstract int readFrame(ByteBuffer slot) throws IOException, InterruptedException;

    /** What a failed read means, for {@link Listener#failed}. */
    String readFailure(IOException e) {
        return "reading failed: " + e.getMessage();
    }

    /** Sees each frame the reader publishes ({@code length} bytes of {@code slot} from offset 0), before the device does. */
    void received(ByteBuffer slot, int length) {
    }

    /**
     * Sends a frame of the right size while the backend is healthy; same contract as {@link #send}.
     * A failure of the transport is {@link #failed reported}.
     */
    abstract boolean transmit(ByteBuffer frame);

    /** Runs once the reader has started, on {@link #start}'s thread (a backend starts its other threads here). */
    void readerStarted() {
    }

    /** Close, first step: makes a reader blocked in the transport return. */
    abstract void interruptReader();

    /** Close, second step, once the reader has ended or was given up on: releases the transport. */
    abstract void closeTransport();

    /**
     * Releases what only the reader and {@link #interruptReader} use; runs once, after {@link #closeTransport},
     * when the reader has ended (or never started).
     */
    void releaseReaderResources() {
    }

    // ---- NetworkBackend ----

    @Override
    public final void start(Listener frameListener) {
        Objects.requireNonNull(frameListener, "listener");
        if (closed.get()) {
            throw new IllegalStateException(describe() + " is closed");
        }
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException(describe() + " is already started");
        }
        listener = frameListener;
        BackendThread t = new BackendThread(readerName(), this::readLoop);
        reader = t;
        t.start();
        readerStarted();
    }

    @Override
    public final FrameInbox inbox() {
        return inbox;
    }

    @Override
    public final boolean send(ByteBuffer frame) {
        int n = frame.remaining();
        if (n < MIN_FRAME_BYTES || n > MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("frame of " + n + " bytes outside " + MIN_FRAME_BYTES + ".." + MAX_FRAME_BYTES);
        }
        return healthy && transmit(frame);
    }

    @Override
    public final boolean isHealthy() {
        return healthy;
    }

    final boolean isClosed() {
        return closed.get();
    }

    /** Frames the reader published for the guest. */
    public final long framesReceived() {
        return framesReceived;
    }

    /** Frames from the host dropped because they were shorter than an Ethernet header. */
    public final long framesDroppedOnReceive() {
        return framesDroppedOnReceive;
    }

    /** Frames written to the host. */
    public abstract long framesSent();

    /** Frames for the host dropped on the way (a full queue, or a frame the host refused). */
    public abstract long framesDroppedOnSend();

    // ---- the reader ----

    private void readLoop() {
        try {
            readFrames();
        } finally {
            synchronized (readerEnd) {
                readerEnded = true;
                if (transportClosed) { // close() gave up waiting for this reader
                    releaseReaderResourcesOnce();
                }
            }
        }
    }

    private void readFrames() {
        try {
            while (true) {
                int slot = inbox.claim();
                if (slot < 0) {
                    return;
                }
                int length = readFrame(inbox.slot(slot));
                if (length < 0) {
                    inbox.abandon();
                    return;
                }
                if (length < MIN_FRAME_BYTES) {
                    inbox.abandon();
                    framesDroppedOnReceive++;
                    log.debug("{}: dropped a {}-byte frame (shorter than an Ethernet header)", describe(), length);
                    continue;
                }
                framesReceived++;
                received(inbox.slot(slot), length);
                if (inbox.publish(length)) {
                    notifyFrames();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            if (!closed.get()) {
                failed(readFailure(e));
            }
        } catch (RuntimeException e) {
            log.error("{}: reader stopped by an unexpected error", describe(), e);
            failed("the reader stopped: " + e);
        }
    }

    // ---- the listener ----

    /** Tells the listener that the inbox went from empty to holding frames. */
    final void notifyFrames() {
        tellListener(Listener::framesAvailable, "frame");
    }

    /** Tells the listener that a send queue that was full has room again. */
    final void notifySendRoom() {
        tellListener(Listener::sendRoomAvailable, "send-room");
    }

    /** Tells the listener (if started) of an event; a listener that throws is logged, not propagated. */
    private void tellListener(Consumer<Listener> event, String what) {
        Listener l = listener;
        if (l != null) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                log.error("{}: {} listener failed", describe(), what, e);
            }
        }
    }

    /**
     * The backend stopped working: it becomes unhealthy and, unless it was closed or had failed
     * already, logs {@code reason} and tells the listener (if started). Any thread.
     */
    final void failed(String reason) {
        synchronized (this) {
            if (!healthy) {
                return;
            }
            healthy = false;
        }
        if (closed.get()) {
            return;
        }
        log.warn("{}: the guest network stopped: {}", describe(), reason);
        tellListener(l -> l.failed(reason), "failure");
    }

    // ---- close ----

    /**
     * Stops the reader and releases the transport, in the order the class comment gives. Idempotent.
     */
    @Override
    public final void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        healthy = false;
        inbox.close();
        interruptReader();
        BackendThread t = reader;
        if (t != null) {
            t.awaitEnd(CLOSE_WAIT_MILLIS);
        }
        closeTransport();
        // Not before: interruptReader() may use them even when the reader ended first (the closed inbox woke it).
        // A reader that was blocked on the device's lock ends later: it sees the closed inbox and leaves at once.
        synchronized (readerEnd) {
            transportClosed = true;
            if (t == null || readerEnded) {
                releaseReaderResourcesOnce();
            }
        }
        log.debug("{} closed: {} frames received, {} sent, {} dropped (received), {} dropped (sending){}; at most {} of"
                + " {} frames waited for the guest", describe(), framesReceived, framesSent(), framesDroppedOnReceive,
                framesDroppedOnSend(), closeNote(), inbox.allocatedSlots(), inbox.capacity());
    }

    /** More counters for the close log line, e.g. {@code ", 3 refused"}; empty by default. */
    String closeNote() {
        return "";
    }

    private void releaseReaderResourcesOnce() {
        if (!readerResourcesReleased) {
            readerResourcesReleased = true;
            releaseReaderResources();
        }
    }

    @Override
    public final String toString() {
        return describe();
    }
}
