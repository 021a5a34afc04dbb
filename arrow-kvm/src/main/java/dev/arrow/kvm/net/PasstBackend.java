package dev.arrow.kvm.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * User-mode networking through <a href="https://passt.top">passt</a> (Debian package
 * {@code passt}): one passt process per guest, started as our child on a Unix socket in a
 * private directory, exchanging Ethernet frames with us in its length-prefixed stream format
 * ({@link PasstFrameCodec}). passt turns the guest's TCP, UDP and ICMP traffic into ordinary
 * sockets of the host, so no privileges are needed; it forwards the host ports of
 * {@link Options#forwards()} to the guest and answers DNS at the plan's virtual DNS address.
 * The command line is {@link PasstCommand}'s.
 *
 * <p>The guest does not reach the host's loopback unless {@link Options#hostLoopback()} allows it:
 * passt does not map the gateway address to 127.0.0.1 then, {@link #send} drops guest frames
 * addressed to the host's loopback ({@link HostLoopbackGuard}) and refuses connections to the
 * gateway address itself, answering them with a reset ({@link GatewayGuard}), while answers to
 * forwarded traffic from programs on the host's loopback still get back ({@link LoopbackUdpReplies}). Forwards listen on their
 * {@link PortMapping#hostAddress()}, 127.0.0.1 unless the caller chose another.
 *
 * <p>A forward with host port {@link PortMapping#ANY_FREE_PORT} gets a port chosen before passt starts
 * ({@link HostPorts#chooseFree}: bound to port 0 on its address and released), because passt cannot
 * report the ports it binds; if another process takes one in between, passt fails to bind it and is
 * started again with new ports (at most {@value #FREE_PORT_ATTEMPTS} times). {@link #forwards()} reports them.
 *
 * <p>{@link #start(Options)} starts passt and connects to it ({@link PasstProcess}: the forwarded ports are
 * checked first, passt dies with the JVM, and nothing is left running when it fails to come up), and introduces the
 * guest to it before it returns (passt addresses the guest's frames to the MAC address it learns from the guest's
 * own: docs/networking.md);
 * {@link #close()} closes the connection, so passt exits, waits for it and deletes its files. passt
 * serves one client per process, so guests never share one. Health, the listener, the reader
 * thread, the counters and the close order are {@link AbstractNetworkBackend}'s.
 */
public final class PasstBackend extends AbstractNetworkBackend {
    private static final Logger LOG = LoggerFactory.getLogger(PasstBackend.class);

    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(10);
    /**
     * The MTU a guest on passt should use: 65520, the one pasta gives its namespaces. passt takes
     * the guest's frames whole, whatever their size up to 64 KiB, and writes their payload to host
     * sockets; it sizes the TCP segments it sends the guest by the MSS the guest announced, so a
     * large MTU means one frame (and one round of virtio notifications) per 64 KiB segment instead
     * of 45 at 1500.
     */
    public static final int GUEST_MTU = 65520;
    /**
     * The most bytes a guest TCP socket on passt buffers for receiving (net.ipv4.tcp_rmem's maximum): 256 KiB, so the
     * window the guest advertises (half of it, by Linux's default tcp_adv_win_scale) stays below what passt's socket to
     * us holds. Debian's passt (2023-03-09) keeps that socket's default send buffer, net.core.wmem_default (208 KiB),
     * unless net.core.wmem_max is at least 2 MiB, and drops the frames a full socket does not take; it then retransmits on
     * the guest's duplicate ACKs from the last acknowledged byte, the whole window again, which fills the socket again.
     * With the guest kernel's own maximum (about 0.9 MiB in a 128 MiB guest) one pause of our reader of a few
     * milliseconds was enough to start that loop: in the lab a 4 MiB download carried 58 MiB (docs/networking.md). A
     * window of 128 KiB still carries gigabytes per second at the round-trip times of a local passt.
     */
    public static final int GUEST_TCP_RECEIVE_BUFFER = 256 << 10;
    /**
     * Frames from passt held for the guest at most: 64 (4 MiB, allocated as bursts need it). passt
     * runs unprivileged, so its socket's send buffer towards us is capped by net.core.wmem_max
     * (208 KiB by default): it holds a few large frames. When a send comes up short, passt drops
     * the frames that did not fit, and it recovers from that poorly (it never repeats a pure ACK
     * that was lost; data waits for its retransmission timer and a connection is reset after 7
     * fruitless ones). So the reader keeps reading while the guest is slow to take frames, up to
     * more than a guest's TCP receive window (about 1/128 of its RAM, at most 6 MiB, and half of
     * that advertised).
     */
    static final int INBOX_SLOTS = 64;
    static final int READ_BUFFER_BYTES = 256 * 1024;
    /** Frames queued for passt at most (bytes); while that full, the guest's frames wait in its queue. */
    static final long SEND_QUEUE_BYTES = 4L << 20;
    /** Guest frames to the host's loopback that are logged; later ones are only counted. */
    private static final int LOGGED_REFUSALS = 3;
    /** States of {@link #introduceGuest}: waiting for passt's answer, answered, or given up on. */
    private static final int INTRODUCING = 0;
    private static final int INTRODUCED = 1;
    private static final int INTRODUCTION_TIMED_OUT = 2;

    /**
     * How to start passt.
     *
     * @param executable   the passt program; empty: {@code passt} on the PATH or in the standard directories
     * @param network      the guest's addresses, which passt is told to expect
     * @param forwards     host ports forwarded to the guest, each on its host address
     * @param hostLoopback whether the guest may reach the host's loopback (127.0.0.1 appears to it as the
     *                     gateway address); false by default: then passt does not map the gateway to the
     *                     host, guest frames to 127.0.0.0/8 or 0.0.0.0/8 are dropped ({@link HostLoopbackGuard})
     *                     and connections to the gateway address refused ({@link GatewayGuard})
     * @param startTimeout how long passt may take to open its socket, and then to answer the guest's first ARP request
     */
    public record Options(Optional<Path> executable, GuestNetwork network, List<PortMapping> forwards,
                          boolean hostLoopback, Duration startTimeout) {
        public Options {
            Objects.requireNonNull(executable, "executable");
            Objects.requireNonNull(network, "network");
            forwards = List.copyOf(Objects.requireNonNull(forwards, "forwards"));
            Objects.requireNonNull(startTimeout, "startTimeout");
            if (startTimeout.isNegative() || startTimeout.isZero()) {
                throw new IllegalArgumentException("start timeout must be positive, got " + startTimeout);
            }
        }

        /** passt from the PATH, the host's loopback out of the guest's reach, the default start timeout. */
        public static Options of(GuestNetwork network, List<PortMapping> forwards) {
            return new Options(Optional.empty(), network, forwards, false, DEFAULT_START_TIMEOUT);
        }

        public Options withExecutable(Path program) {
            return new Options(Optional.of(program), network, forwards, hostLoopback, startTimeout);
        }

        /** These options with the host's loopback reachable from the guest (through the gateway address) or not. */
        public Options withHostLoopback(boolean allowed) {
            return new Options(executable, network, forwards, allowed, startTimeout);
        }

        /** These options with {@code mappings} as the forwards. */
        public Options withForwards(List<PortMapping> mappings) {
            return new Options(executable, network, mappings, hostLoopback, startTimeout);
        }

        public Options withStartTimeout(Duration timeout) {
            return new Options(executable, network, forwards, hostLoopback, timeout);
        }
    }

    /** Starts of passt with freshly chosen ports when another process took a chosen one first. */
    static final int FREE_PORT_ATTEMPTS = 3;

    private final PasstProcess passt;
    private final List<PortMapping> forwards;
    private final boolean hostLoopback;
    /** With the host's loopback denied: the guest's answers to datagrams from it; null when it is allowed. */
    private final LoopbackUdpReplies replies;
    /** With the host's loopback denied: what the guest may send to the gateway address; null when allowed. */
    private final GatewayGuard gatewayGuard;
    private final PasstFrameCodec codec;
    private final FrameSender sender;
    private final AtomicLong framesRefused = new AtomicLong();

    private PasstBackend(PasstProcess passt, List<PortMapping> forwards, boolean hostLoopback, GuestNetwork network) {
        super(INBOX_SLOTS);
        this.passt = passt;
        this.forwards = forwards;
        this.hostLoopback = hostLoopback;
        this.replies = hostLoopback ? null : new LoopbackUdpReplies(network.gateway());
        this.gatewayGuard = hostLoopback ? null : new GatewayGuard(network.gateway());
        this.codec = new PasstFrameCodec(passt.channel(), READ_BUFFER_BYTES, MAX_FRAME_BYTES);
        PasstFrameCodec.Writer writer = new PasstFrameCodec.Writer(passt.channel());
        this.sender = new FrameSender(readerName() + "-tx", writer::write, SEND_QUEUE_BYTES,
                e -> failed("writing to passt failed: " + e.getMessage()), this::notifySendRoom);
    }

    /**
     * Introduces the guest to passt before anything else: an ARP request in the guest's name for the gateway
     * ({@link ArpRequest}), then waits for passt's answer, at most {@code timeout} (then the connection is closed).
     * passt learns the guest's MAC address from the guest's frames and until then sends to the broadcast MAC, which the
     * guest's TCP drops; it sends the SYN of a connection to a forwarded port once and resets the connection after 10 s
     * without an answer. So without this, a connection made before the guest's first frame (while it boots) would hang
     * for 10 s and end in a reset (docs/networking.md). passt handles our frames in order, so once its answer is here it
     * addresses the guest by its MAC. Frames it sent before the answer went to the broadcast MAC and are dropped; so is
     * the answer (the guest did not ask). Runs before the reader and the sender start.
     */
    private void introduceGuest(GuestNetwork network, Duration timeout) {
        AtomicInteger state = new AtomicInteger(INTRODUCING);
        CompletableFuture.delayedExecutor(timeout.toNanos(), TimeUnit.NANOSECONDS).execute(() -> {
            if (state.compareAndSet(INTRODUCING, INTRODUCTION_TIMED_OUT)) {
                passt.closeConnection(); // the read below returns
            }
        });
        ByteBuffer frame = ByteBuffer.allocateDirect(MAX_FRAME_BYTES);
        int dropped = 0;
        try {
            new PasstFrameCodec.Writer(passt.channel()).write(ArpRequest.frame(network.mac(), network.address(),
                    network.gateway()));
            while (true) {
                int length = codec.readFrame(frame.clear());
                if (length < 0) {
                    throw new IOException("passt closed the connection");
                }
                if (ArpRequest.isAnswer(frame.flip(), network.mac(), network.gateway())) {
                    break;
                }
                dropped++;
            }
        } catch (IOException e) {
            String what = state.get() == INTRODUCTION_TIMED_OUT ? "did not answer the guest's first ARP request within "
                    + timeout.toMillis() + " ms" : "failed while the guest was introduced: " + e.getMessage();
            throw new NetworkBackendException(NetworkBackendException.Reason.PASST_FAILED_TO_START,
                    passt + " " + what + passt.exitNote(), e);
        }
        if (!state.compareAndSet(INTRODUCING, INTRODUCED)) {
            throw new NetworkBackendException(NetworkBackendException.Reason.PASST_FAILED_TO_START, passt
                    + " answered the guest's first ARP request only after " + timeout.toMillis() + " ms" + passt.exitNote());
        }
        if (dropped > 0) {
            LOG.debug("{}: dropped {} frames sent to the broadcast MAC before it knew the guest's", passt, dropped);
        }
    }

    /**
     * Starts passt for one guest, connects to it and introduces the guest (an ARP request in its name, answered:
     * from then on passt addresses the guest by its MAC, also in the SYN of a host's connection to a forwarded port).
     *
     * @throws NetworkBackendException when passt is missing ({@link NetworkBackendException.Reason#PASST_MISSING}),
     *     a forwarded port is taken ({@link NetworkBackendException.Reason#PORT_IN_USE}) or passt does not come up
     *     ({@link NetworkBackendException.Reason#PASST_FAILED_TO_START}, with passt's own words); nothing is left running
     */
    public static PasstBackend start(Options options) {
        boolean choosing = options.forwards().stream().anyMatch(m -> m.hostPort() == PortMapping.ANY_FREE_PORT);
        Options chosen = options.withForwards(HostPorts.chooseFree(options.forwards()));
        PasstProcess passt;
        for (int attempt = 1; ; attempt++) {
            try {
                passt = PasstProcess.start(chosen);
                break;
            } catch (NetworkBackendException e) {
                if (!choosing || e.reason() != NetworkBackendException.Reason.PORT_IN_USE || attempt == FREE_PORT_ATTEMPTS) {
                    throw e;
                }
                LOG.debug("a host port chosen for {} was taken before passt bound it ({}); choosing again",
                        options.forwards(), e.getMessage());
                chosen = options.withForwards(HostPorts.chooseFree(options.forwards()));
            }
        }
        try {
            PasstBackend backend = new PasstBackend(passt, chosen.forwards(), options.hostLoopback(), options.network());
            backend.introduceGuest(options.network(), options.startTimeout());
            return backend;
        } catch (RuntimeException | Error e) {
            passt.close();
            throw e;
        }
    }

    /**
     * The passt program {@link #start} would run when none is configured (the PATH, then the standard
     * directories), after checking that setpriv, which starts it, is installed too. Starts nothing.
     *
     * @throws NetworkBackendException ({@link NetworkBackendException.Reason#PASST_MISSING}) naming the package
     *     to install
     */
    public static Path findInstalled() {
        Path passt = PasstProcess.findExecutable(Optional.empty());
        PasstProcess.findSetpriv();
        return passt;
    }

    @Override
    public String describe() {
        return passt.toString();
    }

    /**
     * The forwards passt serves, in the order of {@link Options#forwards()}: the same, except that a host port
     * {@link PortMapping#ANY_FREE_PORT} is replaced by the port chosen for it.
     */
    public List<PortMapping> forwards() {
        return forwards;
    }

    /** The passt process (for tests and diagnostics). */
    public ProcessHandle process() {
        return passt.handle();
    }

    /** The Unix socket passt listens on. */
    public Path socketPath() {
        return passt.socket();
    }

    /** The private directory holding the socket and passt's log; deleted by {@link #close()}. */
    public Path directory() {
        return passt.directory();
    }

    @Override
    public boolean hasSendRoom() {
        return sender.hasRoom();
    }

    @Override
    public long framesSent() {
        return sender.sent();
    }

    /** Frames for passt dropped because passt was not keeping up (its send queue was full). */
    @Override
    public long framesDroppedOnSend() {
        return sender.dropped();
    }

    /**
     * Guest frames the host's loopback policy stopped: to the host's loopback ({@link HostLoopbackGuard}), or to
     * the gateway address ({@link GatewayGuard}; connection attempts are answered with a reset).
     */
    public long framesRefused() {
        return framesRefused.get();
    }

    // ---- the transport: passt's length-prefixed stream ----

    @Override
    String readerName() {
        return "arrow-passt-" + passt.pid();
    }

    @Override
    void readerStarted() {
        sender.start();
    }

    @Override
    int readFrame(ByteBuffer slot) throws IOException {
        int length = codec.readFrame(slot);
        if (length < 0) {
            failed("passt closed the connection" + passt.exitNote());
        }
        return length;
    }

    @Override
    String readFailure(IOException e) {
        if (e instanceof ClosedChannelException) {
            return "the connection to passt was closed";
        }
        String exit = passt.exitNote();
        return exit.isEmpty() ? "reading from passt failed: " + e.getMessage() : "passt closed the connection" + exit;
    }

    @Override
    void received(ByteBuffer slot, int length) {
        if (replies != null) {
            replies.fromHost(slot.duplicate().clear().limit(length));
        }
    }

    @Override
    boolean transmit(ByteBuffer frame) {
        if (hostLoopback) {
            return sender.offer(frame); // never blocks the device's thread; a full queue drops (counted)
        }
        if (HostLoopbackGuard.addressesHostLoopback(frame)) {
            refused("dropped a guest frame to the host's loopback");
            return false;
        }
        ByteBuffer answer = replies.toHost(frame);
        if (answer != frame) {
            return sender.offer(answer); // a UDP answer to a program on the host's loopback
        }
        switch (gatewayGuard.judge(frame)) {
            case PASS:
                return sender.offer(frame);
            case RESET:
                refused("refused a guest connection to the gateway address");
                if (inbox().offerLocal(GatewayGuard.reset(frame))) {
                    notifyFrames();
                }
                return false;
            default:
                refused("dropped a guest frame to the gateway address");
                return false;
        }
    }

    /** Counts a guest frame the host's loopback policy stopped; the first few are logged. */
    private void refused(String what) {
        long refused = framesRefused.incrementAndGet();
        if (refused <= LOGGED_REFUSALS) {
            LOG.warn("{}: {} (the arrow's network keeps the host's loopback out of its reach; Net.user()"
                    + ".allowHostLoopback() lets it in){}", describe(), what,
                    refused == LOGGED_REFUSALS ? "; further ones are only counted" : "");
        }
    }

    /** Closes the connection: the reader's read ends, and passt ({@code --one-off}) exits. */
    @Override
    void interruptReader() {
        passt.closeConnection();
    }

    /**
     * Stops the sender (a write in progress ended with the connection), waits for passt to exit (its
     * forwarded ports are free afterwards) and deletes its directory.
     */
    @Override
    void closeTransport() {
        sender.close(CLOSE_WAIT_MILLIS);
        passt.close();
    }

    @Override
    String closeNote() {
        return ", " + framesRefused.get() + " refused (to the host's loopback)";
    }
}
