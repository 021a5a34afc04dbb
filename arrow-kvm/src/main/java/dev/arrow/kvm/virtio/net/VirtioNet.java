package dev.arrow.kvm.virtio.net;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.net.FrameCapture;
import dev.arrow.kvm.net.FrameInbox;
import dev.arrow.kvm.net.MacAddress;
import dev.arrow.kvm.net.NetworkBackend;
import dev.arrow.kvm.virtio.DescriptorChain;
import dev.arrow.kvm.virtio.SplitQueue;
import dev.arrow.kvm.virtio.VirtioContext;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioDeviceState;
import dev.arrow.kvm.virtio.VirtioGuestException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A virtio network card (device type 1, virtio 1.x section 5.1) in front of a
 * {@link NetworkBackend}: queue 0 receives (frames from the backend's inbox into the guest's
 * buffers), queue 1 transmits (frames from the guest to {@link NetworkBackend#send}).
 *
 * <p>Features offered: VIRTIO_NET_F_MAC (the address of the {@code GuestNetwork} plan),
 * VIRTIO_NET_F_MTU (its MTU, 1500 by default) and VIRTIO_NET_F_STATUS (link up while the backend
 * is healthy; a failing backend takes the link down with a configuration-change interrupt).
 * No offloads (no CSUM, GSO, MRG_RXBUF, control queue or multiqueue): every frame is complete,
 * fully checksummed and carries a 12-byte header with nothing in it but num_buffers = 1.
 *
 * <p>Guest input is hostile. A chain with device-writable buffers on the transmit queue,
 * device-readable buffers on the receive queue, a transmit chain shorter than the header, a
 * header asking for an offload that was not negotiated, or a transmit chain longer than header
 * plus {@link NetworkBackend#MAX_FRAME_BYTES} fails the device ({@link VirtioGuestException}).
 * A transmitted frame shorter than an Ethernet header is dropped and counted. While the backend's
 * send queue is full ({@link NetworkBackend#hasSendRoom()}), transmit chains stay in the guest's
 * queue and the device resumes when the backend has room (back-pressure, not drops). A received frame
 * larger than the guest's next receive buffer is dropped and counted, and that buffer is kept for
 * the next frame. A card told to {@link #holdReceived()} keeps received frames in the backend's inbox until it is
 * released (the guest's interface is configured).
 *
 * <p>State: {@link #state()} captures the address and MTU the guest read and a receive buffer
 * held for the next frame as a {@link State}; {@link #restore} builds a card on a new backend
 * that continues from it. Frames on the host side (in the backend's inbox, or handed to the
 * backend and not yet sent) are not part of a state: they belong to the backend's connection,
 * which a device built from the state does not share, and a network may lose frames (the
 * guest's TCP retransmits). So capture never waits for them; the captured device keeps them.
 *
 * <p>Threading: the transport calls in with its lock held; the backend's reader thread reaches
 * the device only through {@link VirtioContext#submit}. The device owns no thread; it owns the
 * backend and closes it in {@link #close()}.
 */
public final class VirtioNet implements VirtioDevice {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioNet.class);

    public static final int DEVICE_TYPE = 1;
    public static final int RECEIVE_QUEUE = 0;
    public static final int TRANSMIT_QUEUE = 1;
    public static final int QUEUE_SIZE = 256;

    /** VIRTIO_NET_F_CSUM: the device handles partial checksums (not offered). */
    public static final long F_CSUM = 1L << 0;
    /** VIRTIO_NET_F_MTU: the configuration space holds the MTU. */
    public static final long F_MTU = 1L << 3;
    /** VIRTIO_NET_F_MAC: the configuration space holds the MAC address. */
    public static final long F_MAC = 1L << 5;
    /** VIRTIO_NET_F_MRG_RXBUF: receive frames may span buffers (not offered). */
    public static final long F_MRG_RXBUF = 1L << 15;
    /** VIRTIO_NET_F_STATUS: the configuration space holds the link status. */
    public static final long F_STATUS = 1L << 16;
    /** Everything this device offers. */
    public static final long OFFERED_FEATURES = F_MAC | F_MTU | F_STATUS;

    /** Configuration space: mac[6], status u16, max_virtqueue_pairs u16, mtu u16. */
    public static final int CONFIG_SIZE = 12;
    public static final int STATUS_LINK_UP = 1;

    /** Longest transmit chain: header plus the largest frame. */
    static final long MAX_TRANSMIT_CHAIN = VirtioNetHeader.SIZE + NetworkBackend.MAX_FRAME_BYTES;
    /** Longest receive chain accepted (Linux's "big packets" buffers are ~70 KiB). */
    static final long MAX_RECEIVE_CHAIN = 256 * 1024;
    private static final int LOGGED_DROPS = 8;

    private final MacAddress mac;
    private final int mtu;
    private final NetworkBackend backend;
    private final Optional<FrameCapture> capture;
    private final byte[] config = new byte[CONFIG_SIZE];
    private final byte[] txHeader = new byte[VirtioNetHeader.SIZE];
    private final byte[] txFrame = new byte[NetworkBackend.MAX_FRAME_BYTES];
    private final ByteBuffer txView = ByteBuffer.wrap(txFrame);
    private final ByteBuffer rxHeader = VirtioNetHeader.newReceiveHeader();
    private final Runnable drainTask = this::deliverReceived;
    private final Runnable linkDownTask = this::announceLinkDown;
    private final Runnable transmitTask = this::transmit;

    private volatile VirtioContext context;
    /** A receive chain popped but too small for the frame it was meant for; used for the next one. */
    private DescriptorChain heldChain;
    private SplitQueue heldChainQueue;
    /** The held chain's head from {@link #restore}, walked again on {@link #resume}; else {@link State#NONE}. */
    private int restoredHeld = State.NONE;
    /** While set, received frames wait in the backend's inbox: {@link #holdReceived()}, {@link #releaseReceived()}. */
    private volatile boolean receiveHeld;

    private long rxFrames;
    private long rxDropped;
    private long txFrames;
    private long txDropped;
    private long txPauses;
    private int loggedDrops;

    /**
     * A card with address {@code mac} and MTU {@code mtu} on {@code backend}, which it starts
     * (frames received before the driver is ready wait in the backend's inbox).
     */
    public VirtioNet(MacAddress mac, int mtu, NetworkBackend backend) {
        this(mac, mtu, backend, Optional.empty());
    }

    /**
     * As {@link #VirtioNet(MacAddress, int, NetworkBackend)}, recording every frame it moves
     * either way in {@code capture}, which it owns from now on and closes with the backend.
     */
    public VirtioNet(MacAddress mac, int mtu, NetworkBackend backend, Optional<FrameCapture> capture) {
        this.capture = Objects.requireNonNull(capture, "capture");
        this.mac = Objects.requireNonNull(mac, "mac");
        checkMtu(mtu);
        this.mtu = mtu;
        this.backend = Objects.requireNonNull(backend, "backend");
        backend.start(new BackendListener());
    }

    /**
     * The guest-visible state of a network card.
     *
     * @param mac          the address in the configuration space
     * @param mtu          the MTU in the configuration space
     * @param heldReceive  head of a receive chain taken from the queue and kept for the next frame
     *                     (it was too small for the last one), or {@link #NONE}
     */
    public record State(MacAddress mac, int mtu, int heldReceive) implements VirtioDeviceState {
        public static final int NONE = -1;

        /** @throws IllegalArgumentException naming the field no card could hold */
        public State {
            if (mac == null) {
                throw new IllegalArgumentException("virtio-net state: mac is required");
            }
            checkMtu(mtu);
            if (heldReceive < NONE || heldReceive >= QUEUE_SIZE) {
                throw new IllegalArgumentException("virtio-net state: held receive head " + heldReceive
                        + " outside the queue of " + QUEUE_SIZE);
            }
        }
    }

    /**
     * A card that continues from {@code state} on {@code backend}, which it starts (as the
     * constructor does), once its transport {@link #resume}s it.
     */
    public static VirtioNet restore(State state, NetworkBackend backend, Optional<FrameCapture> capture) {
        VirtioNet net = new VirtioNet(state.mac(), state.mtu(), backend, capture);
        net.restoredHeld = state.heldReceive();
        return net;
    }

    @Override
    public State state() {
        return new State(mac, mtu, heldChain != null ? heldChain.headIndex() : restoredHeld);
    }

    /** Walks the held receive chain again and delivers what the new backend has received. */
    @Override
    public void resume(VirtioContext newContext) {
        context = newContext;
        if (restoredHeld != State.NONE) {
            SplitQueue queue = newContext.queue(RECEIVE_QUEUE);
            if (queue == null) {
                throw new IllegalArgumentException("virtio-net: the state holds a receive chain but the receive queue is not ready");
            }
            heldChain = checkReceive(queue.reopen(restoredHeld));
            heldChainQueue = queue;
            restoredHeld = State.NONE;
        }
        deliverReceived();
    }

    /**
     * Keeps received frames in the backend's inbox, whatever buffers the guest posts, until {@link #releaseReceived()};
     * call it before the guest runs. For a guest that has yet to configure its interface: Linux's virtio_net posts its
     * receive buffers when the interface is opened, and processes the frames that were waiting right then, before the
     * interface is up and has its routes. A TCP segment handled then cannot be answered (no route back), so it is lost;
     * passt sends the SYN of a connection to a forwarded port only once and resets the connection after 10 s
     * (docs/networking.md). While held, a full inbox stops the backend's reader: frames wait in passt's socket.
     */
    public void holdReceived() {
        receiveHeld = true;
    }

    /** Ends {@link #holdReceived()}: the guest's interface is configured; frames that waited are delivered. Idempotent. */
    public void releaseReceived() {
        receiveHeld = false;
        VirtioContext c = context;
        if (c != null) {
            c.submit(drainTask);
        }
    }

    private static void checkMtu(int mtu) {
        if (mtu < 68 || mtu > 65535) {
            throw new IllegalArgumentException("MTU " + mtu + " is outside 68..65535");
        }
    }

    public NetworkBackend backend() {
        return backend;
    }

    public MacAddress mac() {
        return mac;
    }

    public int mtu() {
        return mtu;
    }

    // ---- VirtioDevice ----

    @Override
    public int deviceType() {
        return DEVICE_TYPE;
    }

    @Override
    public long deviceFeatures() {
        return OFFERED_FEATURES;
    }

    @Override
    public int queueCount() {
        return 2;
    }

    @Override
    public int queueMaxSize(int index) {
        return QUEUE_SIZE;
    }

    /**
     * Only the transmit queue: the driver notifies the receive queue only when the device found it
     * empty (EVENT_IDX), and a refill is served where it arrives.
     */
    @Override
    public boolean notifiesOften(int index) {
        return index == TRANSMIT_QUEUE;
    }

    @Override
    public long maxChainBytes(int index) {
        return index == TRANSMIT_QUEUE ? MAX_TRANSMIT_CHAIN : MAX_RECEIVE_CHAIN;
    }

    @Override
    public int configSize() {
        return CONFIG_SIZE;
    }

    @Override
    public void readConfig(int offset, byte[] data) {
        mac.copyTo(config, 0);
        int status = backend.isHealthy() ? STATUS_LINK_UP : 0;
        config[6] = (byte) status;
        config[7] = (byte) (status >>> 8);
        config[8] = 1; // max_virtqueue_pairs (meaningful only with VIRTIO_NET_F_MQ)
        config[9] = 0;
        config[10] = (byte) mtu;
        config[11] = (byte) (mtu >>> 8);
        System.arraycopy(config, offset, data, 0, data.length);
    }

    @Override
    public void writeConfig(int offset, byte[] data) {
        // Read-only for a virtio 1.x driver (the MAC is set through the control queue, not offered).
        LOG.debug("virtio-net: ignored configuration write at offset {} ({} bytes)", offset, data.length);
    }

    @Override
    public void activate(VirtioContext newContext) {
        context = newContext;
        dropHeldChain();
        deliverReceived(); // frames that arrived before the driver was ready
    }

    @Override
    public void queueNotify(int index) {
        if (index == RECEIVE_QUEUE) {
            deliverReceived();
        } else if (index == TRANSMIT_QUEUE) {
            transmit();
        }
    }

    @Override
    public void reset() {
        context = null;
        dropHeldChain();
    }

    /** Closes the backend (its thread, process or descriptor). */
    @Override
    public void close() {
        // The transport logged the rings' state before it reset us; what only we know is the inbox.
        LOG.debug("{} closing with {} frames in the backend's inbox", this, backend.inbox().size());
        context = null;
        dropHeldChain();
        try {
            backend.close();
        } finally {
            capture.ifPresent(FrameCapture::close);
        }
        LOG.debug("{} closed: received {} frames ({} dropped), transmitted {} ({} dropped, {} pauses for back-pressure)",
                this, rxFrames, rxDropped, txFrames, txDropped, txPauses);
    }

    // ---- statistics (read under the transport's lock or after close) ----

    /** Frames delivered to the guest. */
    public long rxFrames() {
        return rxFrames;
    }

    /** Frames from the backend dropped because the guest's buffer was too small. */
    public long rxDropped() {
        return rxDropped;
    }

    /** Frames handed to the backend. */
    public long txFrames() {
        return txFrames;
    }

    /** Frames from the guest dropped: shorter than an Ethernet header, or refused by the backend. */
    public long txDropped() {
        return txDropped;
    }

    /** Times transmitting stopped, frames left in the guest's queue, because the backend had no room. */
    public long txPauses() {
        return txPauses;
    }

    // ---- receive ----

    /** Moves frames from the backend's inbox into the guest's receive buffers while both last. */
    private void deliverReceived() {
        VirtioContext c = context;
        SplitQueue queue = c == null ? null : c.queue(RECEIVE_QUEUE);
        if (queue == null || receiveHeld) {
            return;
        }
        FrameInbox inbox = backend.inbox();
        GuestMemory memory = c.memory();
        boolean returned = false;
        ByteBuffer frame;
        while ((frame = inbox.peek()) != null) {
            DescriptorChain chain = takeHeldChain(queue);
            if (chain == null) {
                chain = queue.pop();
                if (chain == null) {
                    break; // the guest has no buffers; its next notification brings us back
                }
                checkReceive(chain);
            }
            int length = frame.remaining();
            if (chain.writableLength() < VirtioNetHeader.SIZE + (long) length) {
                rxDropped++;
                logDrop("virtio-net: dropped a received frame of {} bytes: the guest's buffer at head {} holds {} "
                        + "(header included)", length, chain.headIndex(), chain.writableLength());
                heldChain = chain;
                heldChainQueue = queue;
                inbox.release();
                continue;
            }
            if (capture.isPresent()) {
                capture.get().record(frame);
            }
            writeFrame(memory, chain, frame);
            queue.addUsed(chain.headIndex(), VirtioNetHeader.SIZE + (long) length);
            inbox.release();
            rxFrames++;
            returned = true;
        }
        if (returned && queue.needsNotification()) {
            c.signalUsed();
        }
    }

    private static DescriptorChain checkReceive(DescriptorChain chain) {
        if (chain.readableCount() > 0) {
            throw new VirtioGuestException(String.format(
                    "virtio-net: receive chain at head %d has %d device-readable buffers; receive buffers must be device-writable",
                    chain.headIndex(), chain.readableCount()));
        }
        return chain;
    }

    private DescriptorChain takeHeldChain(SplitQueue queue) {
        DescriptorChain chain = heldChain;
        if (chain == null || heldChainQueue != queue) {
            dropHeldChain();
            return null;
        }
        heldChain = null;
        heldChainQueue = null;
        return chain;
    }

    private void dropHeldChain() {
        heldChain = null;
        heldChainQueue = null;
        restoredHeld = State.NONE;
    }

    /** Scatters the header and {@code frame} over the chain's writable buffers, in order. */
    private void writeFrame(GuestMemory memory, DescriptorChain chain, ByteBuffer frame) {
        rxHeader.clear();
        ByteBuffer source = rxHeader;
        for (int i = chain.readableCount(); i < chain.descriptorCount(); i++) {
            long base = chain.address(i).value();
            long room = chain.length(i);
            long offset = 0;
            while (room > 0) {
                if (!source.hasRemaining()) {
                    if (source == frame) {
                        return;
                    }
                    source = frame;
                    continue;
                }
                int n = (int) Math.min(room, source.remaining());
                int limit = source.limit();
                source.limit(source.position() + n);
                memory.write(GuestAddress.of(base + offset), source);
                source.limit(limit);
                offset += n;
                room -= n;
            }
            if (source == frame && !frame.hasRemaining()) {
                return;
            }
        }
    }

    // ---- transmit ----

    /**
     * Hands the guest's frames to the backend while it has room; when it has none, the rest stay in
     * the transmit queue (the guest stops when its ring is full) until the backend says
     * {@link NetworkBackend.Listener#sendRoomAvailable()}.
     */
    private void transmit() {
        VirtioContext c = context;
        SplitQueue queue = c == null ? null : c.queue(TRANSMIT_QUEUE);
        if (queue == null) {
            return;
        }
        boolean returned = false;
        while (true) {
            if (!backend.hasSendRoom()) {
                txPauses++; // sendRoomAvailable() brings us back
                break;
            }
            DescriptorChain chain = queue.pop();
            if (chain == null) {
                break;
            }
            if (chain.writableCount() > 0) {
                throw new VirtioGuestException(String.format(
                        "virtio-net: transmit chain at head %d has %d device-writable buffers; transmit buffers must be device-readable",
                        chain.headIndex(), chain.writableCount()));
            }
            long total = chain.readableLength();
            if (total < VirtioNetHeader.SIZE) {
                throw new VirtioGuestException(String.format(
                        "virtio-net: transmit chain at head %d holds %d bytes, less than the %d-byte virtio-net header",
                        chain.headIndex(), total, VirtioNetHeader.SIZE));
            }
            chain.read(txHeader, 0, VirtioNetHeader.SIZE);
            VirtioNetHeader.checkTransmit(txHeader, c.features(), chain.headIndex());
            int length = (int) (total - VirtioNetHeader.SIZE); // the queue caps chains at MAX_TRANSMIT_CHAIN
            if (length < NetworkBackend.MIN_FRAME_BYTES) {
                txDropped++;
                logDrop("virtio-net: dropped a transmitted frame of {} bytes at head {}: shorter than an Ethernet header ({})",
                        length, chain.headIndex(), NetworkBackend.MIN_FRAME_BYTES);
            } else {
                chain.read(txFrame, 0, length);
                txView.clear().limit(length);
                if (backend.send(txView)) {
                    txFrames++;
                    if (capture.isPresent()) {
                        capture.get().record(txFrame, 0, length);
                    }
                } else {
                    txDropped++;
                }
            }
            queue.addUsed(chain.headIndex(), 0);
            returned = true;
        }
        if (returned && queue.needsNotification()) {
            c.signalUsed();
        }
    }

    // ---- backend events ----

    private void announceLinkDown() {
        VirtioContext c = context;
        if (c != null) {
            c.signalConfigChange(); // the driver rereads status and sees the link down
        }
    }

    private void logDrop(String format, Object... args) {
        if (loggedDrops < LOGGED_DROPS) {
            loggedDrops++;
            LOG.warn(loggedDrops == LOGGED_DROPS ? format + " (further drops are logged at DEBUG)" : format, args);
        } else {
            LOG.debug(format, args);
        }
    }

    /** Runs on the backend's reader thread: hands the work to the transport's lock. */
    private final class BackendListener implements NetworkBackend.Listener {
        @Override
        public void framesAvailable() {
            VirtioContext c = context;
            if (c != null) {
                c.submit(drainTask);
            }
        }

        @Override
        public void failed(String reason) {
            LOG.warn("virtio-net: link down: {} stopped: {}", backend.describe(), reason);
            VirtioContext c = context;
            if (c != null) {
                c.submit(linkDownTask);
            }
        }

        @Override
        public void sendRoomAvailable() {
            VirtioContext c = context;
            if (c != null) {
                c.submit(transmitTask);
            }
        }
    }

    @Override
    public String toString() {
        return "virtio-net " + mac + " on " + backend.describe();
    }
}
