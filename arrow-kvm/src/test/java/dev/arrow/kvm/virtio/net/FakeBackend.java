package dev.arrow.kvm.virtio.net;

import dev.arrow.kvm.net.FrameInbox;
import dev.arrow.kvm.net.NetworkBackend;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** A backend for device tests: frames "from the network" are queued by the test, sent frames are recorded. */
final class FakeBackend implements NetworkBackend {
    final FrameInbox inbox;
    final List<byte[]> sent = new ArrayList<>();
    Listener listener;
    boolean healthy = true;
    boolean refuseSends;
    boolean closed;

    FakeBackend(int slots) {
        inbox = new FrameInbox(slots, MAX_FRAME_BYTES);
    }

    /** Queues {@code frame} as if it came from the network (the inbox must have room). */
    void receive(byte[] frame) {
        int slot;
        try {
            slot = inbox.claim();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        inbox.slot(slot).put(frame);
        if (inbox.publish(frame.length)) {
            listener.framesAvailable();
        }
    }

    void fail(String reason) {
        healthy = false;
        listener.failed(reason);
    }

    @Override
    public String describe() {
        return "fake";
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
        if (refuseSends || !healthy) {
            return false;
        }
        byte[] copy = new byte[frame.remaining()];
        frame.get(copy);
        sent.add(copy);
        return true;
    }

    @Override
    public boolean isHealthy() {
        return healthy;
    }

    @Override
    public void close() {
        closed = true;
        healthy = false;
        inbox.close();
    }
}
