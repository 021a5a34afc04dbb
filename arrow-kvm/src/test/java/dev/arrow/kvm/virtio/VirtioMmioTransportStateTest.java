package dev.arrow.kvm.virtio;

import static dev.arrow.kvm.virtio.VirtioMmioRegisters.DRIVER_FEATURES;
import static dev.arrow.kvm.virtio.VirtioMmioRegisters.DRIVER_FEATURES_SEL;
import static dev.arrow.kvm.virtio.VirtioMmioRegisters.INTERRUPT_CONFIG_CHANGE;
import static dev.arrow.kvm.virtio.VirtioMmioRegisters.INTERRUPT_STATUS;
import static dev.arrow.kvm.virtio.VirtioMmioRegisters.QUEUE_READY;
import static dev.arrow.kvm.virtio.VirtioMmioRegisters.QUEUE_SEL;
import static dev.arrow.kvm.virtio.VirtioMmioRegisters.STATUS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.device.TokenBucket;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The transport's state: registers, queues and the device's state, round trips and hostile input. */
class VirtioMmioTransportStateTest {
    static final int DRIVER = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER;
    static final int FEATURES_OK = DRIVER | DeviceStatus.FEATURES_OK;

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(1 << 20);
    final MirroredMemory driverView = new MirroredMemory(memory);
    final GuestArena arena = new GuestArena(driverView, GuestAddress.of(0x1000), 0xF0000);
    final AtomicInteger interrupts = new AtomicInteger();
    final VirtioMmioTransport transport = new VirtioMmioTransport("rng", new VirtioRng(), memory,
            interrupts::incrementAndGet);
    final MirroredBus bus = new MirroredBus(transport);
    final VirtioMmioDriver driver = new VirtioMmioDriver(bus, arena);

    static VirtioMmioTransport restore(VirtioMmioTransport.State state, HeapGuestMemory memory, AtomicInteger interrupts) {
        VirtioRng device = VirtioRng.restore((VirtioRng.State) state.device(), new SecureRandom(),
                new TokenBucket(VirtioRng.BYTES_PER_SECOND, VirtioRng.BURST_BYTES), VirtioRng.Timer.SHARED);
        return VirtioMmioTransport.restore(state, "rng", device, memory, interrupts::incrementAndGet,
                GuestErrorListener.NONE, Runnable::run);
    }

    /** Captures, restores over a copy of guest memory and mirrors the driver to the copy from now on. */
    VirtioMmioTransport captureAndRestore() {
        VirtioMmioTransport.State state = transport.state();
        HeapGuestMemory copy = MirroredMemory.copyOf(memory);
        VirtioMmioTransport restored = restore(state, copy, new AtomicInteger());
        assertThat(restored.state()).isEqualTo(state);
        driverView.mirrorTo(copy);
        bus.mirrorTo(restored);
        return restored;
    }

    static VirtioMmioTransport.State withStatus(VirtioMmioTransport.State s, int status, int interruptStatus) {
        return new VirtioMmioTransport.State(status, s.deviceFeaturesSel(), s.driverFeaturesSel(), s.driverFeatures(),
                s.driverFeaturesBeyond64(), s.queueSel(), interruptStatus, s.configGeneration(), s.queues(), s.device());
    }

    static VirtioMmioTransport.State withQueue(VirtioMmioTransport.State s, VirtioMmioTransport.QueueState queue) {
        return new VirtioMmioTransport.State(s.status(), s.deviceFeaturesSel(), s.driverFeaturesSel(), s.driverFeatures(),
                s.driverFeaturesBeyond64(), s.queueSel(), s.interruptStatus(), s.configGeneration(), List.of(queue), s.device());
    }

    @Test
    void aFreshTransportRoundTrips() {
        VirtioMmioTransport.State state = transport.state();

        assertThat(state.queues()).hasSize(1);
        assertThat(state.device()).isEqualTo(new VirtioRng.State(VirtioRng.State.NONE));
        assertThat(restore(state, memory, new AtomicInteger()).state()).isEqualTo(state);
    }

    @Test
    void aTransportMidNegotiationWithAQueueSetUpContinuesLikeTheOriginal() {
        driver.writeRegister(STATUS, DRIVER);
        driver.writeRegister(DRIVER_FEATURES_SEL, 1);
        driver.writeRegister(DRIVER_FEATURES, 1); // VERSION_1
        driver.writeRegister(DRIVER_FEATURES_SEL, 0);
        driver.writeRegister(STATUS, FEATURES_OK);
        QueueDriver q = QueueDriver.create(arena, 16);
        driver.setUpQueue(0, q);

        VirtioMmioTransport.State state = transport.state();
        assertThat(state.queues().get(0).ready()).isTrue();
        assertThat(state.queues().get(0).queue()).as("no device side before DRIVER_OK").isNull();
        VirtioMmioTransport restored = captureAndRestore();

        // Reads through the mirrored bus compare both transports register by register.
        driver.writeRegister(QUEUE_SEL, 0);
        assertThat(driver.readRegister(QUEUE_READY)).isEqualTo(1);
        assertThat(driver.status()).isEqualTo(FEATURES_OK);
        driver.writeRegister(STATUS, FEATURES_OK | DeviceStatus.DRIVER_OK);
        assertThat(restored.isActive()).isTrue();
        q.add(QueueDriver.Buffer.writable(arena.allocate(32), 32));
        driver.notifyQueue(0);
        assertThat(driver.readRegister(INTERRUPT_STATUS)).isEqualTo(1);
        assertThat(restored.state().queues()).isEqualTo(transport.state().queues());
    }

    @Test
    void aFailedTransportStaysFailedUntilTheDriverResetsIt() {
        driver.initialize(VirtioFeatures.VERSION_1, 1, 16);
        driver.writeRegister(STATUS, DRIVER); // clearing status bits: a guest error
        assertThat(transport.failure()).isNotNull();

        VirtioMmioTransport restored = captureAndRestore();

        assertThat(restored.failure()).isNotNull();
        assertThat(driver.readRegister(INTERRUPT_STATUS)).isEqualTo(INTERRUPT_CONFIG_CHANGE);
        driver.writeRegister(STATUS, FEATURES_OK);
        assertThat(driver.status() & DeviceStatus.DEVICE_NEEDS_RESET).as("ignored until a reset").isNotZero();
        driver.reset();
        assertThat(restored.failure()).isNull();
        driver.initialize(VirtioFeatures.VERSION_1, 1, 16);
        assertThat(restored.isActive()).isTrue();
        assertThat(restored.state()).isEqualTo(transport.state());
    }

    @Test
    void aClosedTransportHasNoState() {
        transport.close();

        assertThatThrownBy(transport::state).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void hostileTransportStatesAreRefused() {
        driver.initialize(VirtioFeatures.VERSION_1, 1, 16);
        VirtioMmioTransport.State active = transport.state();
        VirtioMmioTransport.QueueState queue = active.queues().get(0);

        assertThatThrownBy(() -> withStatus(active, active.status() | 0x10, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown status bits 0x10");
        assertThatThrownBy(() -> withStatus(active, 0x100, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown status bits 0x100");
        assertThatThrownBy(() -> withStatus(active, DRIVER | DeviceStatus.DRIVER_OK, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("DRIVER_OK without FEATURES_OK");
        assertThatThrownBy(() -> withStatus(active, active.status(), 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown interrupt status bits 0x4");
        assertThatThrownBy(() -> withStatus(active, FEATURES_OK, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("queue 0 has queue state but the device is not active");
        assertThatThrownBy(() -> withQueue(active, new VirtioMmioTransport.QueueState(queue.size(), true,
                queue.descriptorTable(), queue.availableRing(), queue.usedRing(), null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ready in an active device but has no queue state");
        assertThatThrownBy(() -> new VirtioMmioTransport.QueueState(3, true, queue.descriptorTable(), queue.availableRing(),
                queue.usedRing(), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("size 3 is not a power of two");
        assertThatThrownBy(() -> new VirtioMmioTransport.QueueState(queue.size(), true, queue.descriptorTable() + 0x1000,
                queue.availableRing(), queue.usedRing(), queue.queue()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not the one its registers describe");
        assertThatThrownBy(() -> new VirtioMmioTransport.State(0, 0, 0, 0, false, 0, 0, 0, null, active.device()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("queues and device state are required");
    }

    @Test
    void restoringRefusesAStateThatDoesNotFitTheDeviceOrTheMemory() {
        driver.initialize(VirtioFeatures.VERSION_1, 1, 16);
        VirtioMmioTransport.State active = transport.state();
        List<VirtioMmioTransport.QueueState> twoQueues = new ArrayList<>(active.queues());
        twoQueues.add(new VirtioMmioTransport.QueueState(0, false, 0, 0, 0, null));
        VirtioMmioTransport.State tooManyQueues = new VirtioMmioTransport.State(active.status(), 0, 0,
                active.driverFeatures(), false, 0, 0, 0, twoQueues, active.device());
        VirtioMmioTransport.State unofferedFeatures = new VirtioMmioTransport.State(active.status(), 0, 0,
                active.driverFeatures() | (1L << 40), false, 0, 0, 0, active.queues(), active.device());

        assertThatThrownBy(() -> restore(tooManyQueues, memory, new AtomicInteger()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("state has 2 queues, the device 1");
        assertThatThrownBy(() -> restore(unofferedFeatures, memory, new AtomicInteger()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("include some the device does not offer");
        assertThatThrownBy(() -> restore(active, HeapGuestMemory.ofSize(0x2000), new AtomicInteger()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not inside guest RAM");
        assertThatThrownBy(() -> VirtioMmioTransport.restore(active, "rng",
                VirtioRng.restore(new VirtioRng.State(3), new SecureRandom(), new TokenBucket(1, 1), VirtioRng.Timer.SHARED),
                memory, () -> { }, GuestErrorListener.NONE, Runnable::run))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not built from the state's device state");
    }
}
