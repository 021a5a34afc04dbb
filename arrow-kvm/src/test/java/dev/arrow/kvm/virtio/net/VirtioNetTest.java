package dev.arrow.kvm.virtio.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.net.FrameCapture;
import dev.arrow.kvm.net.MacAddress;
import dev.arrow.kvm.net.NetworkBackend;
import dev.arrow.kvm.net.testing.FakeBackend;
import dev.arrow.kvm.net.testing.PcapSummary;
import dev.arrow.kvm.virtio.DeviceStatus;
import dev.arrow.kvm.virtio.VirtioFeatures;
import dev.arrow.kvm.virtio.VirtioMmioRegisters;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.QueueDriver.Buffer;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The virtio-net device against the driver-side queue simulator, through the real virtio-mmio transport. */
class VirtioNetTest {
    static final MacAddress MAC = MacAddress.parse("02:41:52:52:4f:57");
    static final long ALL = VirtioNet.OFFERED_FEATURES | VirtioFeatures.EVENT_IDX | VirtioFeatures.INDIRECT_DESC;

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(8 << 20);
    final GuestArena arena = new GuestArena(memory, GuestAddress.of(0x10000), 7 << 20);
    final FakeBackend backend = new FakeBackend(4);
    /** Every test's device captures its traffic, as {@code Net.user().capture(file)} makes it. */
    final Path pcap = tempFile();
    final VirtioNet net = new VirtioNet(MAC, 1500, backend, Optional.of(FrameCapture.open(pcap)));
    final AtomicInteger interrupts = new AtomicInteger();
    final List<String> guestErrors = new ArrayList<>();
    final VirtioMmioTransport transport = new VirtioMmioTransport("virtio-net", net, memory, interrupts::incrementAndGet,
            (name, error) -> guestErrors.add(error.getMessage()), Runnable::run);
    final VirtioMmioDriver driver = new VirtioMmioDriver(transport, arena);
    /** Writable buffers of each receive chain posted, by head index. */
    final Map<Integer, List<Buffer>> rxChains = new HashMap<>();
    QueueDriver rx;
    QueueDriver tx;

    static Path tempFile() {
        try {
            return Files.createTempFile("virtio-net-test-", ".pcap");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterEach
    void deleteCapture() throws IOException {
        transport.close();
        Files.deleteIfExists(pcap);
    }

    void start(long features) {
        List<QueueDriver> queues = driver.initialize(features, 2, 64);
        rx = queues.get(0);
        tx = queues.get(1);
    }

    static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) {
            f[i] = (byte) (i * 31 + seed);
        }
        return f;
    }

    static byte[] header() {
        return new byte[VirtioNetHeader.SIZE];
    }

    /** The guest transmits one chain made of {@code parts}, each part its own descriptor. */
    void transmit(byte[]... parts) {
        List<Buffer> buffers = new ArrayList<>();
        for (byte[] p : parts) {
            buffers.add(Buffer.readable(arena.put(p), p.length));
        }
        tx.add(buffers);
        driver.notifyQueue(VirtioNet.TRANSMIT_QUEUE);
    }

    /** The guest posts one receive chain of writable buffers of the given sizes. */
    int postReceive(int... sizes) {
        List<Buffer> buffers = new ArrayList<>();
        for (int s : sizes) {
            buffers.add(Buffer.writable(arena.allocate(s), s));
        }
        int head = rx.add(buffers);
        rxChains.put(head, buffers);
        driver.notifyQueue(VirtioNet.RECEIVE_QUEUE);
        return head;
    }

    /** The bytes the device wrote into chain {@code head}, {@code length} of them, across its buffers. */
    byte[] received(int head, long length) {
        byte[] out = new byte[(int) length];
        int done = 0;
        for (Buffer b : rxChains.get(head)) {
            int n = Math.min(b.length(), out.length - done);
            memory.read(b.address(), out, done, n);
            done += n;
        }
        return out;
    }

    boolean failed() {
        return (driver.status() & DeviceStatus.DEVICE_NEEDS_RESET) != 0;
    }

    // ---- identity, features, configuration ----

    @Test
    void isANetworkCardOfferingMacMtuAndStatusButNoOffloads() {
        assertThat(driver.readRegister(VirtioMmioRegisters.DEVICE_ID)).isEqualTo(1);
        long offered = driver.deviceFeatures();
        assertThat(offered & 0xFF_FFFFL).isEqualTo(VirtioNet.F_MAC | VirtioNet.F_MTU | VirtioNet.F_STATUS);
        assertThat(offered & (VirtioNet.F_CSUM | VirtioNet.F_MRG_RXBUF)).isZero();
        assertThat(offered & VirtioFeatures.VERSION_1).isNotZero();
        assertThat(net.notifiesOften(VirtioNet.TRANSMIT_QUEUE)).isTrue();
        assertThat(net.notifiesOften(VirtioNet.RECEIVE_QUEUE)).as("the driver only refills it").isFalse();
    }

    @Test
    void configurationSpaceHoldsMacLinkStatusAndMtu() {
        start(ALL);
        assertThat(driver.readConfig(0, 1)[0]).isEqualTo((byte) 0x02);
        byte[] mac = new byte[6];
        for (int i = 0; i < 6; i++) {
            mac[i] = driver.readConfig(i, 1)[0]; // Linux reads the MAC byte by byte
        }
        assertThat(MacAddress.of(mac, 0)).isEqualTo(MAC);
        byte[] status = driver.readConfig(6, 2);
        assertThat(status[0] | status[1] << 8).isEqualTo(VirtioNet.STATUS_LINK_UP);
        byte[] mtu = driver.readConfig(10, 2);
        assertThat((mtu[0] & 0xff) | (mtu[1] & 0xff) << 8).isEqualTo(1500);
        assertThat(driver.readConfig(12, 1)).as("beyond the 12-byte space reads as zero").containsExactly(0);
    }

    @Test
    void configurationWritesAreIgnored() {
        start(ALL);
        transport.write(VirtioMmioRegisters.CONFIG, new byte[] {(byte) 0xff});
        assertThat(driver.readConfig(0, 1)[0]).isEqualTo((byte) 0x02);
        assertThat(failed()).isFalse();
    }

    @Test
    void aFailingBackendTakesTheLinkDownWithAConfigurationChangeInterrupt() {
        start(ALL);
        int before = interrupts.get();
        backend.fail("passt exited");
        assertThat(interrupts.get()).isGreaterThan(before);
        assertThat(driver.acknowledgeInterrupt() & VirtioMmioRegisters.INTERRUPT_CONFIG_CHANGE).isNotZero();
        assertThat(driver.readConfig(6, 2)).containsExactly(0, 0);
    }

    // ---- transmit ----

    @Test
    void transmittedFrameReachesTheBackendWithoutItsHeaderWhateverTheDescriptorLayout() {
        start(ALL);
        byte[] f = frame(1514, 1);
        transmit(header(), Arrays.copyOfRange(f, 0, 100), Arrays.copyOfRange(f, 100, 1514));
        byte[] g = frame(60, 2);
        byte[] headerAndStart = new byte[VirtioNetHeader.SIZE + 20]; // header and frame in one buffer (ANY_LAYOUT)
        System.arraycopy(g, 0, headerAndStart, VirtioNetHeader.SIZE, 20);
        transmit(headerAndStart, Arrays.copyOfRange(g, 20, 60));
        assertThat(backend.sent).hasSize(2);
        assertThat(backend.sent.get(0)).isEqualTo(f);
        assertThat(backend.sent.get(1)).isEqualTo(g);
        QueueDriver.UsedElement used = tx.pollUsed();
        assertThat(used.length()).as("the device writes nothing into transmit buffers").isZero();
        assertThat(tx.pollUsed()).isNotNull();
        assertThat(net.txFrames()).isEqualTo(2);
        assertThat(interrupts.get()).isPositive();
    }

    @Test
    void transmittedFramesThroughIndirectTablesArriveInOrder() {
        start(ALL);
        for (int i = 0; i < 10; i++) {
            byte[] f = frame(64 + i, i);
            tx.addIndirect(arena, List.of(Buffer.readable(arena.put(header()), VirtioNetHeader.SIZE),
                    Buffer.readable(arena.put(f), f.length)));
        }
        driver.notifyQueue(VirtioNet.TRANSMIT_QUEUE);
        assertThat(backend.sent).hasSize(10);
        for (int i = 0; i < 10; i++) {
            assertThat(backend.sent.get(i)).isEqualTo(frame(64 + i, i));
        }
    }

    @Test
    void framesShorterThanAnEthernetHeaderAreDroppedAndTheDeviceCarriesOn() {
        start(ALL);
        transmit(header(), frame(13, 0));
        transmit(header()); // a header and no frame at all
        transmit(header(), frame(14, 0));
        assertThat(backend.sent).hasSize(1);
        assertThat(net.txDropped()).isEqualTo(2);
        assertThat(tx.pollUsed()).isNotNull();
        assertThat(tx.pollUsed()).isNotNull();
        assertThat(tx.pollUsed()).isNotNull();
        assertThat(failed()).isFalse();
    }

    @Test
    void aFrameTheBackendRefusesIsCountedAndItsBufferReturned() {
        start(ALL);
        backend.refuseSends = true;
        transmit(header(), frame(100, 0));
        assertThat(net.txDropped()).isEqualTo(1);
        assertThat(tx.pollUsed()).isNotNull();
    }

    @Test
    void whileTheBackendHasNoRoomFramesWaitInTheGuestsQueueAndGoOutInOrderWhenItHas() {
        start(ALL);
        transmit(header(), frame(100, 1));
        backend.takeSendRoom();
        transmit(header(), frame(101, 2));
        transmit(header(), frame(102, 3));
        assertThat(backend.sent).as("nothing sent while congested").hasSize(1);
        assertThat(tx.pollUsed()).isNotNull();
        assertThat(tx.pollUsed()).as("the waiting chains are not returned to the guest").isNull();
        assertThat(net.txDropped()).as("and not dropped").isZero();
        assertThat(net.txPauses()).isPositive();
        backend.giveSendRoom();
        assertThat(backend.sent).hasSize(3);
        assertThat(backend.sent.get(1)).isEqualTo(frame(101, 2));
        assertThat(backend.sent.get(2)).isEqualTo(frame(102, 3));
        assertThat(tx.pollUsed()).isNotNull();
        assertThat(tx.pollUsed()).isNotNull();
        assertThat(net.txFrames()).isEqualTo(3);
        assertThat(failed()).isFalse();
    }

    @Test
    void aTransmitChainShorterThanTheHeaderFailsTheDevice() {
        start(ALL);
        transmit(new byte[11]);
        assertThat(failed()).isTrue();
        assertThat(guestErrors).singleElement().asString().contains("less than the 12-byte virtio-net header");
        assertThat(backend.sent).isEmpty();
    }

    @Test
    void aWritableBufferInATransmitChainFailsTheDevice() {
        start(ALL);
        tx.add(List.of(Buffer.readable(arena.put(header()), 12), Buffer.writable(arena.allocate(100), 100)));
        driver.notifyQueue(VirtioNet.TRANSMIT_QUEUE);
        assertThat(failed()).isTrue();
        assertThat(guestErrors).singleElement().asString().contains("device-writable");
    }

    @Test
    void checksumOffloadThatWasNotNegotiatedFailsTheDevice() {
        start(ALL);
        byte[] h = header();
        h[0] = VirtioNetHeader.F_NEEDS_CSUM;
        transmit(h, frame(100, 0));
        assertThat(failed()).isTrue();
        assertThat(guestErrors).singleElement().asString().contains("NEEDS_CSUM");
    }

    @Test
    void segmentationOffloadThatWasNotNegotiatedFailsTheDevice() {
        start(ALL);
        byte[] h = header();
        h[1] = 1; // GSO_TCPV4
        transmit(h, frame(100, 0));
        assertThat(failed()).isTrue();
        assertThat(guestErrors).singleElement().asString().contains("gso_type 1");
    }

    @Test
    void unknownHeaderFlagsAreIgnored() {
        start(ALL);
        byte[] h = header();
        h[0] = (byte) (VirtioNetHeader.F_DATA_VALID | 0x80);
        h[10] = 7; // num_buffers: meaningless on transmit
        transmit(h, frame(100, 0));
        assertThat(failed()).isFalse();
        assertThat(backend.sent).hasSize(1);
    }

    @Test
    void aTransmitChainLongerThanTheLargestFrameFailsTheDevice() {
        start(ALL);
        transmit(header(), new byte[NetworkBackend.MAX_FRAME_BYTES + 1]);
        assertThat(failed()).isTrue();
        assertThat(guestErrors).singleElement().asString().contains("describes more than");
    }

    @Test
    void theLargestFrameIsTransmitted() {
        start(ALL);
        byte[] f = frame(NetworkBackend.MAX_FRAME_BYTES, 9);
        transmit(header(), f);
        assertThat(backend.sent).singleElement().isEqualTo(f);
    }

    // ---- receive ----

    @Test
    void receivedFrameGetsAHeaderWithOneBufferAndNothingElse() {
        start(ALL);
        int head = postReceive(1526);
        byte[] f = frame(1514, 3);
        backend.receive(f);
        QueueDriver.UsedElement used = rx.pollUsed();
        assertThat(used.id()).isEqualTo(head);
        assertThat(used.length()).isEqualTo(12 + 1514);
        byte[] got = received(head, used.length());
        byte[] expectedHeader = new byte[12];
        expectedHeader[10] = 1; // num_buffers = 1, little-endian
        assertThat(Arrays.copyOfRange(got, 0, 12)).isEqualTo(expectedHeader);
        assertThat(Arrays.copyOfRange(got, 12, got.length)).isEqualTo(f);
        assertThat(net.rxFrames()).isEqualTo(1);
        assertThat(interrupts.get()).isPositive();
    }

    /**
     * A held card (the guest has yet to configure its interface) delivers nothing into the buffers the guest posts when
     * it opens the interface; released, it delivers what waited, in order, and then frames as they come.
     */
    @Test
    void aHeldCardDeliversReceivedFramesOnlyOnceReleased() {
        net.holdReceived();
        backend.receive(frame(100, 1)); // the SYN of a connection made while the guest boots
        start(ALL);
        int first = postReceive(1526); // the guest opens eth0
        backend.receive(frame(200, 2));
        assertThat(rx.pollUsed()).as("delivered while held").isNull();
        assertThat(backend.inbox().size()).isEqualTo(2);
        net.releaseReceived();
        QueueDriver.UsedElement used = rx.pollUsed();
        assertThat(used.id()).isEqualTo(first);
        assertThat(Arrays.copyOfRange(received(first, used.length()), 12, 112)).isEqualTo(frame(100, 1));
        int second = postReceive(1526);
        assertThat(rx.pollUsed().id()).isEqualTo(second);
        int third = postReceive(1526);
        backend.receive(frame(60, 3));
        assertThat(rx.pollUsed().id()).isEqualTo(third);
        assertThat(net.rxFrames()).isEqualTo(3);
        net.releaseReceived(); // idempotent
        assertThat(failed()).isFalse();
    }

    @Test
    void receivedFrameIsScatteredOverAChainOfSmallBuffers() {
        start(ALL);
        int head = postReceive(5, 7, 1, 4096, 100);
        byte[] f = frame(3000, 4);
        backend.receive(f);
        QueueDriver.UsedElement used = rx.pollUsed();
        assertThat(used.length()).isEqualTo(3012);
        byte[] got = received(head, used.length());
        assertThat(got[10]).isEqualTo((byte) 1);
        assertThat(Arrays.copyOfRange(got, 12, got.length)).isEqualTo(f);
    }

    @Test
    void framesWaitInTheInboxUntilTheGuestPostsBuffers() {
        start(ALL);
        backend.receive(frame(100, 1));
        backend.receive(frame(200, 2));
        assertThat(rx.pendingUsed()).isZero();
        assertThat(backend.inbox.size()).isEqualTo(2);
        int first = postReceive(1526);
        int second = postReceive(1526);
        QueueDriver.UsedElement a = rx.pollUsed();
        QueueDriver.UsedElement b = rx.pollUsed();
        assertThat(a.id()).isEqualTo(first);
        assertThat(b.id()).isEqualTo(second);
        assertThat(Arrays.copyOfRange(received(first, a.length()), 12, 112)).isEqualTo(frame(100, 1));
        assertThat(Arrays.copyOfRange(received(second, b.length()), 12, 212)).isEqualTo(frame(200, 2));
        assertThat(backend.inbox.size()).isZero();
    }

    @Test
    void framesThatArrivedBeforeTheDriverStartedAreDeliveredOnceItHasBuffers() {
        backend.receive(frame(80, 5));
        start(ALL);
        int head = postReceive(1526);
        QueueDriver.UsedElement used = rx.pollUsed();
        assertThat(used.id()).isEqualTo(head);
        assertThat(Arrays.copyOfRange(received(head, used.length()), 12, 92)).isEqualTo(frame(80, 5));
    }

    @Test
    void aFrameTooLargeForTheGuestsBufferIsDroppedAndTheBufferKeptForTheNextFrame() {
        start(ALL);
        int head = postReceive(1526);
        backend.receive(frame(1515, 1)); // 12 + 1515 > 1526
        assertThat(rx.pendingUsed()).isZero();
        assertThat(net.rxDropped()).isEqualTo(1);
        backend.receive(frame(1514, 2)); // fits exactly
        QueueDriver.UsedElement used = rx.pollUsed();
        assertThat(used.id()).isEqualTo(head);
        assertThat(used.length()).isEqualTo(1526);
        assertThat(Arrays.copyOfRange(received(head, used.length()), 12, 1526)).isEqualTo(frame(1514, 2));
        assertThat(failed()).isFalse();
    }

    @Test
    void aHeldBufferIsForgottenWhenTheDriverResets() {
        start(ALL);
        postReceive(100);
        backend.receive(frame(1000, 1));
        assertThat(net.rxDropped()).isEqualTo(1);
        driver.reset();
        rxChains.clear();
        start(ALL);
        int head = postReceive(1526);
        backend.receive(frame(500, 2));
        QueueDriver.UsedElement used = rx.pollUsed();
        assertThat(used.id()).isEqualTo(head);
        assertThat(Arrays.copyOfRange(received(head, used.length()), 12, 512)).isEqualTo(frame(500, 2));
    }

    @Test
    void aReadableBufferInAReceiveChainFailsTheDevice() {
        start(ALL);
        rx.add(List.of(Buffer.readable(arena.allocate(64), 64), Buffer.writable(arena.allocate(1526), 1526)));
        driver.notifyQueue(VirtioNet.RECEIVE_QUEUE);
        backend.receive(frame(100, 0));
        assertThat(failed()).isTrue();
        assertThat(guestErrors).singleElement().asString().contains("device-readable");
    }

    @Test
    void aReceiveChainBeyondTheLimitFailsTheDevice() {
        start(ALL);
        postReceive((int) VirtioNet.MAX_RECEIVE_CHAIN + 1);
        backend.receive(frame(100, 0));
        assertThat(failed()).isTrue();
    }

    @Test
    void manyFramesFlowThroughASmallInboxInOrder() {
        start(ALL);
        int count = 500;
        int delivered = 0;
        for (int i = 0; i < count; i++) {
            if (backend.inbox.size() == backend.inbox.capacity()) {
                postReceive(1526); // the guest catches up
            }
            backend.receive(frame(60 + i % 1400, i));
            QueueDriver.UsedElement used;
            while ((used = rx.pollUsed()) != null) {
                byte[] got = received(used.id(), used.length());
                assertThat(Arrays.copyOfRange(got, 12, got.length)).isEqualTo(frame(60 + delivered % 1400, delivered));
                delivered++;
            }
        }
        while (delivered < count) {
            postReceive(1526);
            QueueDriver.UsedElement used = rx.pollUsed();
            byte[] got = received(used.id(), used.length());
            assertThat(Arrays.copyOfRange(got, 12, got.length)).isEqualTo(frame(60 + delivered % 1400, delivered));
            delivered++;
        }
        assertThat(net.rxFrames()).isEqualTo(count);
    }

    @Test
    void suppressedInterruptsAreNotRaisedForReceivedFrames() {
        start(VirtioNet.OFFERED_FEATURES); // no EVENT_IDX: the avail flags decide
        rx.setAvailFlags(1); // VRING_AVAIL_F_NO_INTERRUPT
        postReceive(1526);
        int before = interrupts.get();
        backend.receive(frame(100, 0));
        assertThat(rx.pendingUsed()).isEqualTo(1);
        assertThat(interrupts.get()).isEqualTo(before);
    }

    // ---- life cycle ----

    @Test
    void closingTheTransportClosesTheBackend() {
        start(ALL);
        transport.close();
        assertThat(backend.closed).isTrue();
    }

    @Test
    void theCaptureHoldsEveryFrameMovedEitherWayAndNoneThatWasDropped() throws Exception {
        start(ALL);
        byte[] out = frame(60, 1);
        transmit(header(), out);
        transmit(header(), frame(13, 0)); // shorter than an Ethernet header: dropped
        backend.refuseSends = true;
        transmit(header(), frame(100, 2)); // refused by the backend: dropped
        postReceive(200);
        backend.receive(frame(500, 3)); // too large for the guest's buffer: dropped
        byte[] in = frame(150, 4);
        backend.receive(in);
        assertThat(net.rxFrames()).isEqualTo(1);
        transport.close(); // closes the capture
        List<PcapSummary.Record> records = PcapSummary.records(pcap);
        assertThat(records).extracting(PcapSummary.Record::frame).containsExactly(out, in);
    }

    @Test
    void aNegativeOrHugeMtuIsRefused() {
        assertThatThrownBy(() -> new VirtioNet(MAC, 67, new FakeBackend(1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new VirtioNet(MAC, 65536, new FakeBackend(1))).isInstanceOf(IllegalArgumentException.class);
    }
}
