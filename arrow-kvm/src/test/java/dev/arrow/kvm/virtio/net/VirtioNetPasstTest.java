package dev.arrow.kvm.virtio.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.net.FrameCapture;
import dev.arrow.kvm.net.GuestNetwork;
import dev.arrow.kvm.net.PasstBackend;
import dev.arrow.kvm.net.testing.PcapSummary;
import dev.arrow.kvm.virtio.VirtioFeatures;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.QueueDriver.Buffer;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import dev.arrow.testing.FreePort;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole host side of user-mode networking without a guest kernel: the simulated driver puts
 * frames on the transmit queue of a real transport and device, a real passt answers, and the
 * answers arrive in the driver's receive buffers through the backend's reader thread.
 */
class VirtioNetPasstTest {
    static final GuestNetwork PLAN = GuestNetwork.userMode();

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(8 << 20);
    final GuestArena arena = new GuestArena(memory, GuestAddress.of(0x10000), 7 << 20);
    final AtomicInteger interrupts = new AtomicInteger();
    final Map<Integer, GuestAddress> rxBuffers = new HashMap<>();
    PasstBackend backend;
    VirtioNet net;
    VirtioMmioTransport transport;
    VirtioMmioDriver driver;
    QueueDriver rx;
    QueueDriver tx;

    @BeforeAll
    static void needsPasst() {
        boolean found = List.of("/usr/bin", "/usr/sbin", "/usr/local/bin").stream()
                .anyMatch(d -> Files.isExecutable(Path.of(d, "passt")));
        assumeTrue(found, "passt is not installed (Debian package 'passt'): cannot test the user-mode backend");
    }

    @AfterEach
    void close() {
        if (transport != null) {
            transport.close(); // closes the device, which closes the backend
        }
    }

    void start(int hostPort) {
        start(hostPort, Optional.empty());
    }

    void start(int hostPort, Optional<FrameCapture> capture) {
        backend = PasstBackend.start(PasstBackend.Options.of(PLAN,
                hostPort == 0 ? List.of() : List.of(dev.arrow.kvm.net.PortMapping.tcp(hostPort, 80))));
        net = new VirtioNet(PLAN.mac(), PLAN.mtu(), backend, capture);
        transport = new VirtioMmioTransport("virtio-net", net, memory, interrupts::incrementAndGet,
                (name, e) -> { }, Runnable::run);
        driver = new VirtioMmioDriver(transport, arena);
        List<QueueDriver> queues = driver.initialize(VirtioNet.OFFERED_FEATURES | VirtioFeatures.EVENT_IDX, 2, 64);
        rx = queues.get(0);
        tx = queues.get(1);
        for (int i = 0; i < 16; i++) {
            GuestAddress b = arena.allocate(1526);
            rxBuffers.put(rx.add(Buffer.writable(b, 1526)), b);
        }
        synchronized (transport) {
            driver.notifyQueue(VirtioNet.RECEIVE_QUEUE);
        }
    }

    void transmit(byte[] frame) {
        byte[] chain = new byte[VirtioNetHeader.SIZE + frame.length];
        System.arraycopy(frame, 0, chain, VirtioNetHeader.SIZE, frame.length);
        synchronized (transport) {
            tx.add(Buffer.readable(arena.put(chain), chain.length));
            driver.notifyQueue(VirtioNet.TRANSMIT_QUEUE);
        }
    }

    /** The next frame the device put in a receive buffer (header stripped), within 10 s. */
    byte[] receive() throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            synchronized (transport) { // the backend's reader thread writes the rings under this lock
                QueueDriver.UsedElement used = rx.pollUsed();
                if (used != null) {
                    byte[] all = memory.read(rxBuffers.get(used.id()), (int) used.length());
                    assertThat(all[10]).as("num_buffers").isEqualTo((byte) 1);
                    byte[] frame = new byte[all.length - VirtioNetHeader.SIZE];
                    System.arraycopy(all, VirtioNetHeader.SIZE, frame, 0, frame.length);
                    GuestAddress b = arena.allocate(1526); // post a fresh buffer, as the driver would
                    rxBuffers.put(rx.add(Buffer.writable(b, 1526)), b);
                    driver.notifyQueue(VirtioNet.RECEIVE_QUEUE);
                    return frame;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no frame received within 10 s");
    }

    static byte[] arpRequestForGateway() {
        ByteBuffer b = ByteBuffer.allocate(42).order(ByteOrder.BIG_ENDIAN);
        b.put(new byte[] {-1, -1, -1, -1, -1, -1}).put(PLAN.mac().octets()).putShort((short) 0x0806);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 1);
        b.put(PLAN.mac().octets()).put(PLAN.address().getAddress()).put(new byte[6]).put(PLAN.gateway().getAddress());
        return b.array();
    }

    @Test
    void anArpRequestFromTheGuestIsAnsweredByPasstIntoTheGuestsBuffers() throws Exception {
        start(0);
        transmit(arpRequestForGateway());
        byte[] reply = receive();
        assertThat(reply).hasSizeGreaterThanOrEqualTo(42);
        assertThat(reply[12] << 8 | reply[13] & 0xff).as("ethertype ARP").isEqualTo(0x0806);
        assertThat(reply[21]).as("ARP reply").isEqualTo((byte) 2);
        assertThat(new byte[] {reply[28], reply[29], reply[30], reply[31]}).isEqualTo(PLAN.gateway().getAddress());
        assertThat(net.txFrames()).isEqualTo(1);
        assertThat(net.rxFrames()).isEqualTo(1);
        assertThat(interrupts.get()).isPositive();
    }

    @Test
    void aCaptureHoldsWhatTheGuestSentAndWhatPasstAnswered(@TempDir Path tmp) throws Exception {
        Path pcap = tmp.resolve("guest.pcap");
        start(0, Optional.of(FrameCapture.open(pcap)));
        transmit(arpRequestForGateway());
        byte[] reply = receive();
        transport.close();
        transport = null;
        List<String> lines = PcapSummary.read(pcap).lines();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).isEqualTo("+0.000000 ARP who-has 10.0.2.2 tell 10.0.2.15");
        assertThat(lines.get(1)).contains("ARP reply 10.0.2.2 is-at ");
        assertThat(PcapSummary.records(pcap).get(1).frame()).isEqualTo(reply);
    }

    @Test
    void aHostConnectionToAForwardedPortArrivesAsASynToTheGuest() throws Exception {
        int port = FreePort.onAnyAddress();
        start(port);
        transmit(arpRequestForGateway()); // the guest announces itself, as init's arp_notify does
        receive();
        try (Socket client = new Socket()) {
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
            byte[] syn = receive();
            assertThat(syn[23]).as("IPv4 protocol TCP").isEqualTo((byte) 6);
            assertThat(((syn[36] & 0xff) << 8) | (syn[37] & 0xff)).as("destination port").isEqualTo(80);
            assertThat(syn[47] & 0x12).as("SYN").isEqualTo(0x02);
        }
    }

    @Test
    void closingWhileTheReaderWaitsForTheTransportLockIsQuickAndTheReaderEnds() throws Exception {
        start(0);
        String readerName = "arrow-passt-" + backend.process().pid();
        Thread reader = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(readerName))
                .findFirst().orElseThrow();
        long millis;
        synchronized (transport) {
            transmit(arpRequestForGateway()); // passt answers; the reader must take the transport's lock to deliver
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (reader.getState() != Thread.State.BLOCKED && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(reader.getState()).isEqualTo(Thread.State.BLOCKED);
            long t0 = System.nanoTime();
            transport.close();
            millis = (System.nanoTime() - t0) / 1_000_000;
        }
        assertThat(millis).as("close did not wait for the blocked reader").isLessThan(1500);
        assertThat(backend.process().isAlive()).isFalse();
        reader.join(5000);
        assertThat(reader.isAlive()).as("the reader ends once it gets the lock").isFalse();
        assertThat(net.rxFrames()).as("nothing is delivered after close").isZero();
    }

    @Test
    void closingTheTransportStopsPasst() {
        start(0);
        ProcessHandle passt = backend.process();
        long t0 = System.nanoTime();
        transport.close();
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(passt.isAlive()).isFalse();
        assertThat(backend.directory()).doesNotExist();
        org.slf4j.LoggerFactory.getLogger(VirtioNetPasstTest.class).info("closing took {} ms", millis);
    }
}
