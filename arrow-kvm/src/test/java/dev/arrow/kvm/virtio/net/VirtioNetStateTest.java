package dev.arrow.kvm.virtio.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.net.MacAddress;
import dev.arrow.kvm.net.testing.FakeBackend;
import dev.arrow.kvm.virtio.GuestErrorListener;
import dev.arrow.kvm.virtio.MirroredBus;
import dev.arrow.kvm.virtio.MirroredMemory;
import dev.arrow.kvm.virtio.VirtioFeatures;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver.Buffer;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A network card captured with a held receive buffer and an interrupt pending, continued on a new backend. */
class VirtioNetStateTest {
    static final MacAddress MAC = MacAddress.parse("02:41:52:52:4f:57");
    static final long FEATURES = VirtioNet.OFFERED_FEATURES | VirtioFeatures.EVENT_IDX | VirtioFeatures.INDIRECT_DESC;

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(4 << 20);
    final MirroredMemory driverView = new MirroredMemory(memory);
    final GuestArena arena = new GuestArena(driverView, GuestAddress.of(0x10000), 3 << 20);
    final FakeBackend backend = new FakeBackend(4);
    final AtomicInteger interrupts = new AtomicInteger();
    final VirtioMmioTransport transport = new VirtioMmioTransport("virtio-net", new VirtioNet(MAC, 1400, backend),
            memory, interrupts::incrementAndGet, GuestErrorListener.NONE, Runnable::run);
    final MirroredBus bus = new MirroredBus(transport);
    final VirtioMmioDriver driver = new VirtioMmioDriver(bus, arena);
    final FakeBackend restoredBackend = new FakeBackend(4);
    final AtomicInteger restoredInterrupts = new AtomicInteger();
    VirtioMmioTransport restored;
    HeapGuestMemory copy;

    @AfterEach
    void close() {
        transport.close();
        if (restored != null) {
            restored.close();
        }
    }

    static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        for (int i = 0; i < length; i++) {
            f[i] = (byte) (i * 31 + seed);
        }
        return f;
    }

    /** A transmit chain: an empty virtio-net header, then the frame. */
    GuestAddress transmitBuffer(byte[] frame) {
        byte[] bytes = new byte[VirtioNetHeader.SIZE + frame.length];
        System.arraycopy(frame, 0, bytes, VirtioNetHeader.SIZE, frame.length);
        return arena.put(bytes);
    }

    void transmit(QueueDriver tx, byte[] frame) {
        tx.add(Buffer.readable(transmitBuffer(frame), VirtioNetHeader.SIZE + frame.length));
        driver.notifyQueue(VirtioNet.TRANSMIT_QUEUE);
    }

    void captureAndRestore() {
        VirtioMmioTransport.State state = transport.state();
        copy = MirroredMemory.copyOf(memory);
        restored = VirtioMmioTransport.restore(state, "virtio-net",
                VirtioNet.restore((VirtioNet.State) state.device(), restoredBackend, Optional.empty()),
                copy, restoredInterrupts::incrementAndGet, GuestErrorListener.NONE, Runnable::run);
        assertThat(restored.state()).isEqualTo(state);
        driverView.mirrorTo(copy);
        bus.mirrorTo(restored);
    }

    byte[] all(HeapGuestMemory m) {
        return m.read(GuestAddress.of(0), (int) m.size());
    }

    @Test
    void aFreshCardRoundTrips() {
        VirtioMmioTransport.State state = transport.state();

        assertThat(state.device()).isEqualTo(new VirtioNet.State(MAC, 1400, VirtioNet.State.NONE));
        captureAndRestore();
        assertThat(driver.readConfig(0, 12)).hasSize(12); // MAC, status and MTU read on both, compared
    }

    @Test
    void aCardWithAHeldReceiveBufferAndAnInterruptPendingContinuesLikeTheOriginal() {
        List<QueueDriver> queues = driver.initialize(FEATURES, 2, 64);
        QueueDriver rx = queues.get(0);
        QueueDriver tx = queues.get(1);
        int small = rx.add(Buffer.writable(arena.allocate(100), 100));
        driver.notifyQueue(VirtioNet.RECEIVE_QUEUE);
        backend.receive(frame(500, 1)); // too big for the small buffer: dropped, the buffer held
        transmit(tx, frame(60, 2));
        assertThat(backend.sent).hasSize(1);

        VirtioMmioTransport.State state = transport.state();
        assertThat(state.device()).isEqualTo(new VirtioNet.State(MAC, 1400, small));
        assertThat(state.interruptStatus()).isEqualTo(1);
        captureAndRestore();

        int before = interrupts.get();
        assertThat(driver.acknowledgeInterrupt()).isEqualTo(1);
        for (FakeBackend b : List.of(backend, restoredBackend)) {
            b.receive(frame(50, 3)); // fits the held buffer
        }
        rx.add(Buffer.writable(arena.allocate(2048), 2048));
        driver.notifyQueue(VirtioNet.RECEIVE_QUEUE);
        for (FakeBackend b : List.of(backend, restoredBackend)) {
            b.receive(frame(500, 4));
        }
        transmit(tx, frame(80, 5));

        assertThat(rx.pollUsed()).isEqualTo(new QueueDriver.UsedElement(small, VirtioNetHeader.SIZE + 50));
        assertThat(all(copy)).as("the same frames in the same buffers, the same used rings").isEqualTo(all(memory));
        assertThat(restoredBackend.sent).containsExactly(backend.sent.get(1));
        assertThat(restored.state()).isEqualTo(transport.state());
        assertThat(restoredInterrupts.get()).isEqualTo(interrupts.get() - before).isPositive();
        assertThat(driver.readRegister(0x060)).isEqualTo(1); // InterruptStatus, compared on both
    }

    @Test
    void framesWaitingOnTheHostSideAreNotPartOfTheState() {
        List<QueueDriver> queues = driver.initialize(FEATURES, 2, 64);
        QueueDriver rx = queues.get(0);
        backend.receive(frame(100, 6)); // the guest has no receive buffer yet: the frame waits in the inbox

        captureAndRestore();
        rx.add(Buffer.writable(arena.allocate(2048), 2048));
        driver.notifyQueue(VirtioNet.RECEIVE_QUEUE);

        int originalUsed = Short.toUnsignedInt(memory.readShort(rx.layout().usedRing().plus(2)));
        int restoredUsed = Short.toUnsignedInt(copy.readShort(rx.layout().usedRing().plus(2)));
        assertThat(originalUsed).as("the captured card keeps and delivers its frame").isEqualTo(1);
        assertThat(restoredUsed).as("the restored card never had it").isZero();
    }

    @Test
    void hostileCardStatesAreRefused() {
        assertThatThrownBy(() -> new VirtioNet.State(null, 1500, VirtioNet.State.NONE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mac is required");
        assertThatThrownBy(() -> new VirtioNet.State(MAC, 67, VirtioNet.State.NONE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MTU 67 is outside 68..65535");
        assertThatThrownBy(() -> new VirtioNet.State(MAC, 1500, VirtioNet.QUEUE_SIZE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("held receive head 256 outside the queue of 256");
    }
}
