package dev.arrow.kvm.virtio.rng;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.virtio.DeviceStatus;
import dev.arrow.kvm.virtio.VirtioFeatures;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class VirtioRngTest {
    final HeapGuestMemory memory = HeapGuestMemory.ofSize(1 << 20);
    final GuestArena arena = new GuestArena(memory, GuestAddress.of(0x1000), 0xF0000);
    final AtomicInteger interrupts = new AtomicInteger();
    final List<String> errors = new ArrayList<>();
    final VirtioMmioTransport transport = new VirtioMmioTransport("virtio-rng", new VirtioRng(), memory,
            interrupts::incrementAndGet, (name, e) -> errors.add(e.getMessage()), Runnable::run);
    final VirtioMmioDriver driver = new VirtioMmioDriver(transport, arena);

    @Test
    void identifiesAsAnEntropyDeviceWithOneQueue() {
        assertThat(driver.readRegister(0x008)).isEqualTo(4);
        driver.initialize(VirtioFeatures.VERSION_1, 1, 64);
        driver.writeRegister(0x030, 1);
        assertThat(driver.readRegister(0x034)).as("no second queue").isZero();
    }

    @Test
    void requestsAreFilledWithRandomBytes() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        GuestAddress a = arena.allocate(64);
        GuestAddress b = arena.allocate(64);
        q.add(QueueDriver.Buffer.writable(a, 64));
        q.add(QueueDriver.Buffer.writable(b, 64));
        driver.notifyQueue(0);

        assertThat(q.pollUsed().length()).isEqualTo(64);
        assertThat(q.pollUsed().length()).isEqualTo(64);
        byte[] first = memory.read(a, 64);
        byte[] second = memory.read(b, 64);
        assertThat(first).isNotEqualTo(new byte[64]).isNotEqualTo(second);
        assertThat(interrupts.get()).isPositive();
    }

    @Test
    void eachRequestIsCappedAndMayStretchOverSeveralBuffers() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1 | VirtioFeatures.INDIRECT_DESC, 1, 64).get(0);
        GuestAddress big = arena.allocate(3000);
        GuestAddress bigger = arena.allocate(3000);
        q.addIndirect(arena, List.of(QueueDriver.Buffer.writable(big, 3000), QueueDriver.Buffer.writable(bigger, 3000)));
        driver.notifyQueue(0);
        assertThat(q.pollUsed().length()).isEqualTo(VirtioRng.MAX_BYTES_PER_REQUEST);
        assertThat(memory.read(bigger.plus(VirtioRng.MAX_BYTES_PER_REQUEST - 3000), 3000 * 2 - VirtioRng.MAX_BYTES_PER_REQUEST))
                .as("nothing written past the cap").containsOnly(0);
        assertThat(errors).isEmpty();
    }

    @Test
    void aDeviceReadableBufferIsAGuestError() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        q.add(List.of(QueueDriver.Buffer.readable(arena.allocate(8), 8), QueueDriver.Buffer.writable(arena.allocate(8), 8)));
        driver.notifyQueue(0);
        assertThat(errors).singleElement().asString().contains("device-writable only");
        assertThat(driver.status() & DeviceStatus.DEVICE_NEEDS_RESET).isNotZero();
    }
}
