package dev.arrow.kvm.net;

import java.nio.ByteBuffer;

/**
 * The host side of a guest NIC: exchanges whole Ethernet frames (no virtio header, no FCS) with
 * a network on the host. Implementations: {@link PasstBackend} (user-mode networking through a
 * passt process), {@link TapBackend} (a host TAP device).
 *
 * <p>Receiving: {@link #start} starts the backend's own reader thread, which queues frames in
 * {@link #inbox()} and tells the {@link Listener} when the inbox goes from empty to non-empty.
 * The device takes frames out of the inbox whenever it can (the guest has posted buffers); while
 * the inbox is full the reader stops reading, so the host side is slowed down instead of frames
 * being lost. Sending: {@link #send} from any thread, one frame per call. A backend that queues
 * what it sends says when its queue is full ({@link #hasSendRoom()}) and tells the listener when
 * it has room again, so the device leaves the guest's frames in the guest's transmit queue rather
 * than dropping them: the guest is slowed down, as by a real NIC's full transmit ring.
 *
 * <p>A backend owns everything it started (threads, file descriptors, child processes, sockets
 * and files) and releases all of it in {@link #close()}.
 */
public interface NetworkBackend extends AutoCloseable {

    /** Largest frame either direction carries: 14-byte header, 4-byte VLAN tag and a 65535-byte payload. */
    int MAX_FRAME_BYTES = 14 + 4 + 65535;
    /** Smallest frame: an Ethernet header. */
    int MIN_FRAME_BYTES = 14;

    /**
     * Told about received frames and failures, on the backend's reader thread (or, for a frame the
     * backend answers the guest with itself, such as a refused connection, on the thread calling
     * {@link #send}); must not block.
     */
    interface Listener {
        /** The inbox went from empty to holding at least one frame. */
        void framesAvailable();

        /** The backend stopped working (its peer went away or broke the protocol); no more frames will come. */
        void failed(String reason);

        /** {@link #hasSendRoom()} said no, and now there is room: the device may send again. */
        default void sendRoomAvailable() {
        }
    }

    /** For logs and errors, e.g. {@code passt (pid 4711)} or {@code tap arrow0}. */
    String describe();

    /**
     * Starts the reader thread that fills {@link #inbox()}; {@code listener} hears about frames and
     * failures from now on. Called at most once.
     *
     * @throws IllegalStateException if already started or closed
     */
    void start(Listener listener);

    /** Frames received and not yet taken by the device. */
    FrameInbox inbox();

    /**
     * Sends one frame: the remaining bytes of {@code frame}, between {@link #MIN_FRAME_BYTES} and
     * {@link #MAX_FRAME_BYTES}. Thread-safe. Must not block for long: the device calls it on the
     * thread that also refills the guest's receive buffers, and a host peer that waits for us to read
     * would never be read (a backend queues, and drops when its queue is full, as {@link FrameSender} does;
     * a device that asks {@link #hasSendRoom()} first never sees such a drop).
     *
     * @return false when the frame was dropped: the backend is closed or has failed, its queue is full,
     *     or it refuses such frames ({@link PasstBackend} refuses frames to the host's loopback unless allowed)
     * @throws IllegalArgumentException for a frame of the wrong size (a caller bug)
     */
    boolean send(ByteBuffer frame);

    /**
     * Whether {@link #send} can take a frame of the largest size now without dropping it. When the
     * answer is false the listener hears {@link Listener#sendRoomAvailable()} once there is room
     * again. Thread-safe. A backend that never queues (it writes or drops at once) keeps the
     * default, always true.
     */
    default boolean hasSendRoom() {
        return true;
    }

    /** True until the backend fails or is closed. */
    boolean isHealthy();

    /** Stops the reader thread and releases everything the backend owns. Idempotent. */
    @Override
    void close();
}
