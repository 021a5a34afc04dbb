package dev.arrow.kvm.net.testing;

import dev.arrow.kvm.net.FrameInbox;
import dev.arrow.kvm.net.NetworkBackend;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A network backend for device tests, the device fuzz test and benchmarks, driven by the caller's thread:
 * frames "from the network" go into a real {@link FrameInbox} ({@link #receive}), sent frames are
 * checked against the {@link NetworkBackend#send} contract, counted and (unless
 * {@link #keepSent} is off) recorded. The test can refuse sends, take away and give back send room
 * (back-pressure) and fail the backend.
 */
public final class FakeBackend implements NetworkBackend {
    public final FrameInbox inbox;
    /** Copies of the frames sent, oldest first, while {@link #keepSent} is on. */
    public final List<byte[]> sent = new ArrayList<>();
    public Listener listener;
    public boolean healthy = true;
    /** send() answers false (a backend that lost the frame). */
    public boolean refuseSends;
    /** Record sent frames in {@link #sent}; off for long runs that only count. */
    public boolean keepSent = true;
    public boolean closed;
    public long sentCount;
    private boolean sendRoom = true;

    public FakeBackend(int slots) {
        inbox = new FrameInbox(slots, MAX_FRAME_BYTES);
    }

    /** Queues {@code frame} as if it came from the network (the inbox must have room). */
    public void receive(byte[] frame) {
        int slot = claim();
        inbox.slot(slot).put(frame);
        publish(frame.length);
    }

    /** Queues a frame of {@code length} bytes of {@code fill} (the inbox must have room). */
    public void receive(int length, byte fill) {
        int slot = claim();
        ByteBuffer buffer = inbox.slot(slot);
        for (int i = 0; i < length; i++) {
            buffer.put(fill);
        }
        publish(length);
    }

    private int claim() {
        try {
            return inbox.claim();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private void publish(int length) {
        if (inbox.publish(length)) {
            listener.framesAvailable();
        }
    }

    /** Fails the backend (link down) and tells the listener. */
    public void fail(String reason) {
        healthy = false;
        listener.failed(reason);
    }

    /** From now on {@link #hasSendRoom()} says no, as a congested backend's. */
    public void takeSendRoom() {
        sendRoom = false;
    }

    /** Room again: tells the listener, as a backend's sender thread does once it has drained. */
    public void giveSendRoom() {
        sendRoom = true;
        listener.sendRoomAvailable();
    }

    @Override
    public String describe() {
        return "fake backend";
    }

    @Override
    public void start(Listener l) {
        if (listener != null) {
            throw new IllegalStateException("started twice");
        }
        listener = l;
    }

    @Override
    public FrameInbox inbox() {
        return inbox;
    }

    @Override
    public boolean send(ByteBuffer frame) {
        if (frame.remaining() < MIN_FRAME_BYTES || frame.remaining() > MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("the device sent a frame of " + frame.remaining() + " bytes");
        }
        if (!sendRoom) {
            throw new IllegalStateException("the device sent a frame while hasSendRoom() said no");
        }
        if (refuseSends || !healthy || closed) {
            return false;
        }
        if (keepSent) {
            byte[] copy = new byte[frame.remaining()];
            frame.get(copy);
            sent.add(copy);
        } else {
            frame.position(frame.limit());
        }
        sentCount++;
        return true;
    }

    @Override
    public boolean hasSendRoom() {
        return sendRoom;
    }

    @Override
    public boolean isHealthy() {
        return healthy && !closed;
    }

    @Override
    public void close() {
        closed = true;
        healthy = false;
        inbox.close();
    }
}
