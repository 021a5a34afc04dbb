package dev.arrow.kvm.virtio.balloon;

import static dev.arrow.kvm.virtio.VirtioMmioRegisters.DEVICE_ID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.virtio.DeviceStatus;
import dev.arrow.kvm.virtio.GuestErrorListener;
import dev.arrow.kvm.virtio.MirroredBus;
import dev.arrow.kvm.virtio.MirroredMemory;
import dev.arrow.kvm.virtio.SplitQueue;
import dev.arrow.kvm.virtio.VirtioFeatures;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.QueueDriver.Buffer;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import dev.arrow.kvm.x86.Layout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The free-page-reporting balloon through its transport, driven by the driver simulator as Linux drives it: the
 * inflate and deflate queues, then the reporting queue as queue 2 (tier 1).
 */
class VirtioBalloonTest {
    /** Guest RAM: the rings and the arena below 1 MiB, the pages to report above. */
    static final long RAM = 40 * Layout.MiB;
    static final long PAGE = Layout.PAGE_SIZE;
    static final byte PATTERN = 0x5A;

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(RAM);
    final MirroredMemory driverView = new MirroredMemory(memory);
    final GuestArena arena = new GuestArena(driverView, GuestAddress.of(0x1000), 0xF0000);
    final AtomicInteger interrupts = new AtomicInteger();
    final List<String> errors = new ArrayList<>();
    final VirtioBalloon balloon = new VirtioBalloon();
    final VirtioMmioTransport transport = new VirtioMmioTransport("virtio-balloon", balloon, memory,
            interrupts::incrementAndGet, (name, e) -> errors.add(e.getMessage()), Runnable::run);
    final MirroredBus bus = new MirroredBus(transport);
    final VirtioMmioDriver driver = new VirtioMmioDriver(bus, arena);

    private static GuestAddress at(long address) {
        return GuestAddress.of(address);
    }

    /** The three queues Linux sets up when it accepts REPORTING; the reporting queue is the third. */
    private QueueDriver reportingQueue() {
        return driver.initialize(VirtioBalloon.F_REPORTING, 3, VirtioBalloon.QUEUE_SIZE).get(VirtioBalloon.REPORTING_QUEUE);
    }

    private static int le32(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    @Test
    void identifiesAsABalloonOfferingFreePageReportingAndAskingForNoMemory() {
        assertThat(driver.readRegister(DEVICE_ID)).isEqualTo(5);
        assertThat(driver.deviceFeatures()).isEqualTo(VirtioBalloon.F_REPORTING | VirtioFeatures.VERSION_1
                | VirtioFeatures.INDIRECT_DESC | VirtioFeatures.EVENT_IDX);
        assertThat(le32(driver.readConfig(0, 4))).as("num_pages").isZero();
        assertThat(le32(driver.readConfig(4, 4))).as("actual").isZero();
        assertThat(balloon.queueCount()).isEqualTo(3);
        assertThat(balloon.queueMaxSize(VirtioBalloon.REPORTING_QUEUE)).as("Linux refuses fewer than 32").isEqualTo(32);
        assertThat(balloon.kernelParameters()).containsExactly("page_reporting.page_reporting_order=5");
    }

    @Test
    void asksForTheOrderItWasGivenAndRefusesOrdersLinuxDoesNotHave() {
        assertThat(new VirtioBalloon(0).kernelParameters()).containsExactly("page_reporting.page_reporting_order=0");
        assertThat(new VirtioBalloon(10).reportingOrder()).isEqualTo(10);
        assertThatThrownBy(() -> new VirtioBalloon(11)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("free page reporting order 11 is outside 0..10 (blocks of 4 KiB to 4 MiB)");
        assertThatThrownBy(() -> new VirtioBalloon(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void noQueueIsNotifiedOftenSoTheBalloonHoldsNoFd() {
        assertThat(IntStream.range(0, balloon.queueCount()).filter(balloon::notifiesOften).boxed()
                .toList()).as("reports come at most every 2 s: MMIO exits and KVM_IRQ_LINE").isEmpty();
    }

    @Test
    void theDriverWritesActualButNotNumPages() {
        driver.writeRegister(0x100 + 4, 1234);
        driver.writeRegister(0x100, 99);
        assertThat(le32(driver.readConfig(0, 4))).isZero();
        assertThat(le32(driver.readConfig(4, 4))).isEqualTo(1234);
        assertThat(balloon.state()).isEqualTo(new VirtioBalloon.State(1234));
        driver.reset();
        assertThat(le32(driver.readConfig(4, 4))).as("a reset device starts again").isZero();
    }

    @Test
    void aReportDiscardsItsBlocksAndIsReturned() {
        QueueDriver q = reportingQueue();
        memory.fill(at(0x20_0000), 0x40_0000, PATTERN);
        int head = q.add(List.of(Buffer.writable(at(0x21_0000), 0x2_0000), Buffer.writable(at(0x40_0000), (int) PAGE)));
        driver.notifyQueue(VirtioBalloon.REPORTING_QUEUE);

        QueueDriver.UsedElement used = q.pollUsed();
        assertThat(used.id()).isEqualTo(head);
        assertThat(used.length()).as("the device writes nothing").isZero();
        assertThat(memory.read(at(0x21_0000), 0x2_0000)).containsOnly(0);
        assertThat(memory.read(at(0x40_0000), (int) PAGE)).containsOnly(0);
        assertThat(memory.read(at(0x20_0000), 0x1_0000)).as("before the first block").containsOnly(PATTERN);
        assertThat(memory.read(at(0x23_0000), 0x1D_0000)).as("between the blocks").containsOnly(PATTERN);
        assertThat(memory.read(at(0x40_1000), (int) PAGE)).as("after the second").containsOnly(PATTERN);
        assertThat(balloon.reports()).isEqualTo(1);
        assertThat(balloon.reportedBytes()).isEqualTo(0x2_0000 + PAGE);
        assertThat(interrupts.get()).isPositive();
        assertThat(errors).isEmpty();
    }

    @Test
    void aFullReportOfLargeBlocksIsAcceptedBeyondTheQueuesDefaultChainLimit() {
        QueueDriver q = reportingQueue();
        List<Buffer> blocks = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            blocks.add(Buffer.writable(at(Layout.MiB + i * Layout.MiB), (int) Layout.MiB)); // 32 MiB in all
        }
        q.add(blocks);
        driver.notifyQueue(VirtioBalloon.REPORTING_QUEUE);
        assertThat(q.pollUsed()).isNotNull();
        assertThat(balloon.reportedBytes()).isEqualTo(32 * Layout.MiB);
        assertThat(errors).isEmpty();
    }

    @Test
    void theHostPagesOfAReportedRangeAndOnlyThoseGoBack() {
        try (MmapGuestMemory ram = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 8 * Layout.MiB)))) {
            VirtioBalloon device = new VirtioBalloon();
            VirtioMmioTransport t = new VirtioMmioTransport("virtio-balloon", device, ram, () -> { },
                    (name, e) -> errors.add(e.getMessage()), Runnable::run);
            VirtioMmioDriver d = new VirtioMmioDriver(t, new GuestArena(ram, at(0x1000), 0xF0000));
            QueueDriver q = d.initialize(VirtioBalloon.F_REPORTING, 3, 32).get(VirtioBalloon.REPORTING_QUEUE);
            ram.fill(at(Layout.MiB), 4 * Layout.MiB, PATTERN);
            long before = ram.residentBytes();
            q.add(List.of(Buffer.writable(at(2 * Layout.MiB), 0x2_0000), Buffer.writable(at(3 * Layout.MiB + PAGE), (int) PAGE)));
            d.notifyQueue(VirtioBalloon.REPORTING_QUEUE);
            assertThat(q.pollUsed()).isNotNull();
            assertThat(ram.residentBytes()).isEqualTo(before - 0x2_0000 - PAGE);
            assertThat(ram.read(at(2 * Layout.MiB), 0x2_0000)).containsOnly(0);
            assertThat(ram.read(at(2 * Layout.MiB - PAGE), (int) PAGE)).containsOnly(PATTERN);
            assertThat(ram.read(at(2 * Layout.MiB + 0x2_0000), (int) PAGE)).containsOnly(PATTERN);
            assertThat(ram.read(at(3 * Layout.MiB), (int) PAGE)).containsOnly(PATTERN);
            assertThat(ram.read(at(3 * Layout.MiB + 2 * PAGE), (int) PAGE)).containsOnly(PATTERN);
            assertThat(errors).isEmpty();
        }
    }

    /** Sends one malformed report after a good block and expects a guest error with nothing discarded or returned. */
    private void assertRefused(QueueDriver q, String message) {
        driver.notifyQueue(VirtioBalloon.REPORTING_QUEUE);
        assertThat(errors).singleElement().asString().contains(message);
        assertThat(driver.status() & DeviceStatus.DEVICE_NEEDS_RESET).isNotZero();
        assertThat(q.pollUsed()).isNull();
        assertThat(memory.read(at(0x20_0000), 0x1_0000)).as("the good block is kept").containsOnly(PATTERN);
        assertThat(balloon.reports()).isZero();
    }

    private QueueDriver queueWithGoodBlock() {
        memory.fill(at(0x20_0000), 0x1_0000, PATTERN);
        return reportingQueue();
    }

    private Buffer goodBlock() {
        return Buffer.writable(at(0x20_0000), 0x1_0000);
    }

    @Test
    void aBlockOutsideGuestRamStopsTheDevice() {
        QueueDriver q = queueWithGoodBlock();
        q.add(List.of(goodBlock(), Buffer.writable(at(RAM - PAGE), (int) (2 * PAGE))));
        assertRefused(q, "that is not inside guest RAM");
    }

    @Test
    void aBlockWrappingPastTheTopOfTheAddressSpaceStopsTheDevice() {
        QueueDriver q = queueWithGoodBlock();
        int head = q.add(List.of(goodBlock(), Buffer.writable(at(0x30_0000), (int) PAGE)));
        q.writeDescriptor(head + 1, -PAGE, 2 * PAGE, SplitQueue.DESC_F_WRITE, 0); // the chain's second descriptor
        assertRefused(q, String.format("has a buffer at 0x%x of %d bytes that is not inside guest RAM", -PAGE, 2 * PAGE));
    }

    @Test
    void anEmptyBlockStopsTheDevice() {
        QueueDriver q = queueWithGoodBlock();
        q.add(List.of(goodBlock(), Buffer.writable(at(0x30_0000), 0)));
        assertRefused(q, "is not a non-empty range of whole 4 KiB pages");
    }

    @Test
    void anUnalignedBlockStopsTheDevice() {
        QueueDriver q = queueWithGoodBlock();
        q.add(List.of(goodBlock(), Buffer.writable(at(0x30_0800), (int) PAGE)));
        assertRefused(q, "[0x300800, +0x1000) is not a non-empty range of whole 4 KiB pages");
    }

    @Test
    void aPartialPageStopsTheDevice() {
        QueueDriver q = queueWithGoodBlock();
        q.add(List.of(goodBlock(), Buffer.writable(at(0x30_0000), 100)));
        assertRefused(q, "not a non-empty range of whole 4 KiB pages");
    }

    @Test
    void aDeviceReadableBlockStopsTheDevice() {
        QueueDriver q = queueWithGoodBlock();
        q.add(List.of(Buffer.readable(at(0x30_0000), (int) PAGE), goodBlock()));
        assertRefused(q, "1 device-readable buffer(s); reported pages come in device-writable buffers only");
    }

    @Test
    void afterAGuestErrorTheDriverResetsTheDeviceAndReportsAgain() {
        anEmptyBlockStopsTheDevice();
        QueueDriver q = reportingQueue();
        q.add(goodBlock());
        driver.notifyQueue(VirtioBalloon.REPORTING_QUEUE);
        assertThat(q.pollUsed()).isNotNull();
        assertThat(memory.read(at(0x20_0000), 0x1_0000)).containsOnly(0);
    }

    @Test
    void withoutReportingNegotiatedQueueTwoIsAGuestError() {
        QueueDriver q = driver.initialize(0, 3, 32).get(2);
        q.add(goodBlock());
        driver.notifyQueue(2);
        assertThat(errors).singleElement().asString().contains("exists only with VIRTIO_BALLOON_F_REPORTING");
    }

    @Test
    void pagesPutInTheInflateOrDeflateQueueAreAcknowledgedAndLeftAlone() {
        List<QueueDriver> queues = driver.initialize(VirtioBalloon.F_REPORTING, 3, 32);
        memory.fill(at(0x20_0000), 0x1_0000, PATTERN);
        GuestAddress pfns = arena.put(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0x200).array());
        for (int index : List.of(VirtioBalloon.INFLATE_QUEUE, VirtioBalloon.DEFLATE_QUEUE)) {
            int head = queues.get(index).add(Buffer.readable(pfns, 4));
            driver.notifyQueue(index);
            assertThat(queues.get(index).pollUsed().id()).isEqualTo(head);
        }
        assertThat(memory.read(at(0x20_0000), 0x1_0000)).containsOnly(PATTERN);
        assertThat(balloon.reports()).isZero();
        assertThat(errors).isEmpty();
    }

    @Test
    void reportsQueuedWhenTheStateIsCapturedAreServedByTheRestoredDevice() {
        QueueDriver q = reportingQueue();
        driver.writeRegister(0x100 + 4, 7);
        q.add(goodBlock());
        driver.notifyQueue(VirtioBalloon.REPORTING_QUEUE);
        q.pollUsed();
        memory.fill(at(0x30_0000), 0x1_0000, PATTERN);
        int waiting = q.add(Buffer.writable(at(0x30_0000), 0x1_0000)); // made available, not yet notified

        VirtioMmioTransport.State state = transport.state();
        assertThat(state.device()).isEqualTo(new VirtioBalloon.State(7));
        HeapGuestMemory copy = MirroredMemory.copyOf(memory);
        VirtioBalloon restoredBalloon = VirtioBalloon.restore((VirtioBalloon.State) state.device());
        VirtioMmioTransport restored = VirtioMmioTransport.restore(state, "virtio-balloon", restoredBalloon, copy,
                () -> { }, GuestErrorListener.NONE, Runnable::run);
        driverView.mirrorTo(copy);
        bus.mirrorTo(restored);
        assertThat(restored.state()).isEqualTo(state);

        driver.notifyQueue(VirtioBalloon.REPORTING_QUEUE); // on both
        assertThat(q.pollUsed().id()).isEqualTo(waiting);
        for (HeapGuestMemory m : List.of(memory, copy)) {
            assertThat(m.read(at(0x30_0000), 0x1_0000)).containsOnly(0);
        }
        assertThat(restored.state()).isEqualTo(transport.state());
        assertThat(restoredBalloon.reports()).as("counters are not state").isEqualTo(1);
    }
}
