package dev.arrow.kvm.virtio.pmem;

import static dev.arrow.kvm.virtio.VirtioMmioRegisters.DEVICE_ID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.virtio.DeviceStatus;
import dev.arrow.kvm.virtio.GuestErrorListener;
import dev.arrow.kvm.virtio.MirroredBus;
import dev.arrow.kvm.virtio.MirroredMemory;
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
import org.junit.jupiter.api.Test;

/** The virtio-pmem device through its transport, driven by the driver simulator (tier 1). */
class VirtioPmemTest {
    static final long START = 0x1_4000_0000L;
    static final long SIZE = 96 * Layout.MiB;

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(1 << 20);
    final MirroredMemory driverView = new MirroredMemory(memory);
    final GuestArena arena = new GuestArena(driverView, GuestAddress.of(0x1000), 0xF0000);
    final AtomicInteger interrupts = new AtomicInteger();
    final List<String> errors = new ArrayList<>();
    final VirtioPmem pmem = new VirtioPmem(MemoryRegion.of(START, SIZE));
    final VirtioMmioTransport transport = new VirtioMmioTransport("virtio-pmem", pmem, memory,
            interrupts::incrementAndGet, (name, e) -> errors.add(e.getMessage()), Runnable::run);
    final MirroredBus bus = new MirroredBus(transport);
    final VirtioMmioDriver driver = new VirtioMmioDriver(bus, arena);

    private static long le64(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** A request as Linux's virtio_pmem_flush sends it: {@code le32 type} readable, {@code le32 ret} writable. */
    private Request request(QueueDriver q, int type) {
        GuestAddress req = arena.put(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(type).array());
        GuestAddress ret = arena.allocate(4);
        memory.writeInt(ret, 0x5555_5555);
        int head = q.add(List.of(Buffer.readable(req, 4), Buffer.writable(ret, 4)));
        return new Request(head, ret);
    }

    record Request(int head, GuestAddress response) {
    }

    @Test
    void identifiesAsAPmemDeviceAnnouncingItsRange() {
        assertThat(driver.readRegister(DEVICE_ID)).isEqualTo(27);
        assertThat(driver.deviceFeatures()).as("no device features; the transport's own bits only")
                .isEqualTo(VirtioFeatures.VERSION_1 | VirtioFeatures.INDIRECT_DESC | VirtioFeatures.EVENT_IDX);
        assertThat(le64(driver.readConfig(0, 8))).isEqualTo(START);
        assertThat(le64(driver.readConfig(8, 8))).isEqualTo(SIZE);
        assertThat(pmem.notifiesOften(0)).as("flushes are rare").isFalse();
    }

    @Test
    void partialConfigReadsSeeTheLittleEndianBytesAndReadsOutsideTheConfigSeeZeros() {
        assertThat(driver.readConfig(0, 4)).containsExactly(0x00, 0x00, 0x00, 0x40);
        assertThat(driver.readConfig(4, 2)).containsExactly(0x01, 0x00);
        assertThat(driver.readConfig(11, 1)).containsExactly(0x06); // 96 MiB = 0x0600_0000
        assertThat(driver.readConfig(16, 4)).as("past the 16 bytes").containsOnly(0);
        assertThat(driver.readConfig(12, 8)).as("straddling the end").containsOnly(0);
        assertThat(driver.readConfig(1, 3)).as("an access width no driver uses").containsOnly(0);
        driver.writeRegister(0x100, 0xFFFF_FFFF); // the configuration is read-only
        assertThat(le64(driver.readConfig(0, 8))).isEqualTo(START);
        assertThat(errors).isEmpty();
    }

    @Test
    void aFlushSucceedsAndOtherTypesAnswerEio() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        Request flush = request(q, VirtioPmem.REQUEST_FLUSH);
        Request unknown = request(q, 7);
        driver.notifyQueue(0);

        QueueDriver.UsedElement first = q.pollUsed();
        QueueDriver.UsedElement second = q.pollUsed();
        assertThat(first.id()).isEqualTo(flush.head());
        assertThat(first.length()).as("the response's 4 bytes").isEqualTo(4);
        assertThat(memory.readInt(flush.response())).isEqualTo(VirtioPmem.RESPONSE_OK);
        assertThat(second.id()).isEqualTo(unknown.head());
        assertThat(memory.readInt(unknown.response())).isEqualTo(VirtioPmem.RESPONSE_EIO);
        assertThat(interrupts.get()).isPositive();
        assertThat(pmem.answeredRequests()).isEqualTo(2);
        assertThat(errors).isEmpty();
    }

    @Test
    void aRequestSpreadOverSeveralBuffersIsAccepted() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        GuestAddress type = arena.put(new byte[] {0, 0});
        GuestAddress typeRest = arena.put(new byte[] {0, 0});
        GuestAddress ret = arena.allocate(8);
        memory.writeInt(ret, -1);
        q.add(List.of(Buffer.readable(type, 2), Buffer.readable(typeRest, 2), Buffer.writable(ret, 8)));
        driver.notifyQueue(0);
        assertThat(q.pollUsed().length()).isEqualTo(4);
        assertThat(memory.readInt(ret)).isEqualTo(VirtioPmem.RESPONSE_OK);
        assertThat(errors).isEmpty();
    }

    /** Sends one malformed chain and expects the device to fail with a guest error, answering nothing. */
    private void assertGuestError(List<Buffer> chain, String message) {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        q.add(chain);
        driver.notifyQueue(0);
        assertThat(errors).singleElement().asString().contains(message);
        assertThat(driver.status() & DeviceStatus.DEVICE_NEEDS_RESET).isNotZero();
        assertThat(q.pollUsed()).isNull();
    }

    @Test
    void aRequestTooShortIsAGuestError() {
        assertGuestError(List.of(Buffer.readable(arena.allocate(2), 2), Buffer.writable(arena.allocate(4), 4)),
                "needs 4 device-readable bytes then 4 device-writable ones, has 2 and 4");
    }

    @Test
    void aResponseBufferTooShortIsAGuestError() {
        assertGuestError(List.of(Buffer.readable(arena.allocate(4), 4), Buffer.writable(arena.allocate(3), 3)),
                "has 4 and 3");
    }

    @Test
    void aWriteOnlyRequestIsAGuestError() {
        assertGuestError(List.of(Buffer.writable(arena.allocate(8), 8)), "has 0 and 8");
    }

    @Test
    void aRequestWithoutResponseBufferIsAGuestError() {
        assertGuestError(List.of(Buffer.readable(arena.allocate(8), 8)), "has 8 and 0");
    }

    @Test
    void aReadableBufferAfterAWritableOneIsAGuestErrorOfTheQueue() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        q.add(List.of(Buffer.writable(arena.allocate(4), 4), Buffer.readable(arena.allocate(4), 4)));
        driver.notifyQueue(0);
        assertThat(errors).hasSize(1);
        assertThat(driver.status() & DeviceStatus.DEVICE_NEEDS_RESET).isNotZero();
    }

    @Test
    void afterAGuestErrorTheDriverResetsTheDeviceAndFlushesAgain() {
        aWriteOnlyRequestIsAGuestError();
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        Request flush = request(q, VirtioPmem.REQUEST_FLUSH);
        driver.notifyQueue(0);
        assertThat(q.pollUsed().id()).isEqualTo(flush.head());
        assertThat(memory.readInt(flush.response())).isEqualTo(VirtioPmem.RESPONSE_OK);
    }

    @Test
    void requestsQueuedWhenTheStateIsCapturedAreAnsweredByTheRestoredDevice() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        request(q, VirtioPmem.REQUEST_FLUSH);
        driver.notifyQueue(0);
        q.pollUsed();
        Request waiting = request(q, VirtioPmem.REQUEST_FLUSH); // made available, not yet notified
        Request refused = request(q, 3);

        VirtioMmioTransport.State state = transport.state();
        assertThat(state.device()).isEqualTo(new VirtioPmem.State(START, SIZE));
        assertThat(state.queues().get(0).queue().nextAvail()).isEqualTo(1);
        HeapGuestMemory copy = MirroredMemory.copyOf(memory);
        AtomicInteger restoredInterrupts = new AtomicInteger();
        VirtioMmioTransport restored = VirtioMmioTransport.restore(state, "virtio-pmem",
                VirtioPmem.restore((VirtioPmem.State) state.device()), copy, restoredInterrupts::incrementAndGet,
                GuestErrorListener.NONE, Runnable::run);
        driverView.mirrorTo(copy);
        bus.mirrorTo(restored);
        assertThat(restored.state()).isEqualTo(state);

        driver.notifyQueue(0); // on both: each answers the two waiting requests
        assertThat(q.pollUsed().id()).isEqualTo(waiting.head());
        assertThat(q.pollUsed().id()).isEqualTo(refused.head());
        for (HeapGuestMemory m : List.of(memory, copy)) {
            assertThat(m.readInt(waiting.response())).isEqualTo(VirtioPmem.RESPONSE_OK);
            assertThat(m.readInt(refused.response())).isEqualTo(VirtioPmem.RESPONSE_EIO);
        }
        assertThat(copy.read(q.layout().usedRing(), 4 + 8 * 3)).isEqualTo(memory.read(q.layout().usedRing(), 4 + 8 * 3));
        assertThat(restored.state()).isEqualTo(transport.state());
        assertThat(restoredInterrupts.get()).isPositive();
    }

    @Test
    void unalignedRangesAndHostileStatesAreRefused() {
        assertThatThrownBy(() -> new VirtioPmem(MemoryRegion.of(START + 4096, SIZE)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not aligned to 2 MiB");
        assertThatThrownBy(() -> new VirtioPmem.State(START, SIZE + 4096)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new VirtioPmem.State(START, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new VirtioPmem.State(-Layout.PMEM_ALIGNMENT, 2 * Layout.PMEM_ALIGNMENT))
                .as("wraps past 2^64").isInstanceOf(IllegalArgumentException.class);
        assertThat(VirtioPmem.restore(new VirtioPmem.State(START, SIZE)).region()).isEqualTo(MemoryRegion.of(START, SIZE));
    }
}
