package dev.arrow.kvm.virtio.rng;

import static dev.arrow.kvm.virtio.VirtioMmioRegisters.INTERRUPT_STATUS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.device.TokenBucket;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.virtio.GuestErrorListener;
import dev.arrow.kvm.virtio.MirroredBus;
import dev.arrow.kvm.virtio.MirroredMemory;
import dev.arrow.kvm.virtio.QueueLayout;
import dev.arrow.kvm.virtio.VirtioFeatures;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** An entropy device captured with a request postponed by its rate limit, continued from the state. */
class VirtioRngStateTest {
    static final long RATE = 1000;
    static final long BURST = 2000;

    /** One machine's host side: clock, bucket, timer, interrupt count. */
    static final class Host {
        final AtomicLong now = new AtomicLong();
        final TokenBucket bucket = new TokenBucket(RATE, BURST, now::get);
        final List<Runnable> wakeUps = new ArrayList<>();
        final List<Long> delays = new ArrayList<>();
        final VirtioRng.Timer timer = (delay, task) -> {
            delays.add(delay);
            wakeUps.add(task);
        };
        final AtomicInteger interrupts = new AtomicInteger();

        void runWakeUps(long afterNanos) {
            now.addAndGet(afterNanos);
            List<Runnable> due = new ArrayList<>(wakeUps);
            wakeUps.clear();
            due.forEach(Runnable::run);
        }
    }

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(1 << 20);
    final MirroredMemory driverView = new MirroredMemory(memory);
    final GuestArena arena = new GuestArena(driverView, GuestAddress.of(0x1000), 0xF0000);
    final Host original = new Host();
    final VirtioRng rng = new VirtioRng(new SecureRandom(), original.bucket, original.timer);
    final VirtioMmioTransport transport = new VirtioMmioTransport("virtio-rng", rng, memory,
            original.interrupts::incrementAndGet, GuestErrorListener.NONE, Runnable::run);
    final MirroredBus bus = new MirroredBus(transport);
    final VirtioMmioDriver driver = new VirtioMmioDriver(bus, arena);

    @Test
    void aPostponedRequestWithAnInterruptPendingContinuesLikeTheOriginal() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        for (int i = 0; i < 6; i++) {
            q.add(QueueDriver.Buffer.writable(arena.allocate(512), 512));
        }
        driver.notifyQueue(0); // four answered from the burst, the fifth postponed, the sixth not taken

        VirtioMmioTransport.State state = transport.state();
        assertThat(state.interruptStatus()).as("used-buffer interrupt not yet acknowledged").isEqualTo(1);
        assertThat(state.device()).isEqualTo(new VirtioRng.State(4));
        assertThat(state.queues().get(0).queue().nextAvail()).isEqualTo(5);
        assertThat(state.queues().get(0).queue().nextUsed()).isEqualTo(4);
        HeapGuestMemory copy = MirroredMemory.copyOf(memory);
        Host restoredHost = new Host();
        restoredHost.bucket.takeUpTo(BURST); // the same (empty) bucket as the original, to compare step by step
        VirtioMmioTransport restored = VirtioMmioTransport.restore(state, "virtio-rng",
                VirtioRng.restore((VirtioRng.State) state.device(), new SecureRandom(), restoredHost.bucket,
                        restoredHost.timer),
                copy, restoredHost.interrupts::incrementAndGet, GuestErrorListener.NONE, Runnable::run);
        driverView.mirrorTo(copy);
        bus.mirrorTo(restored);

        assertThat(restored.state()).isEqualTo(state);
        assertThat(restoredHost.interrupts).as("restoring raises nothing").hasValue(0);
        assertThat(restoredHost.delays).as("the postponed request waits for the same refill").isEqualTo(original.delays.subList(0, 1));
        assertThat(driver.readRegister(INTERRUPT_STATUS)).isEqualTo(1); // compared on both
        driver.acknowledgeInterrupt();
        int before = original.interrupts.get();
        original.runWakeUps(original.delays.get(0));
        restoredHost.runWakeUps(restoredHost.delays.get(0));
        driver.notifyQueue(0);
        original.runWakeUps(1_000_000_000L); // a second: enough for the sixth request
        restoredHost.runWakeUps(1_000_000_000L);

        QueueLayout layout = q.layout();
        assertThat(copy.read(layout.usedRing(), (int) QueueLayout.usedRingBytes(layout.size())))
                .as("the same used elements and lengths")
                .isEqualTo(memory.read(layout.usedRing(), (int) QueueLayout.usedRingBytes(layout.size())));
        assertThat(Short.toUnsignedInt(copy.readShort(layout.usedRing().plus(2)))).as("all six answered").isEqualTo(6);
        assertThat(restored.state()).isEqualTo(transport.state());
        assertThat(restoredHost.interrupts.get()).isEqualTo(original.interrupts.get() - before).isPositive();
        assertThat(driver.readRegister(INTERRUPT_STATUS)).isEqualTo(1);
    }

    @Test
    void aRestoredDeviceStartsWithTheFullBurstOfItsOwnBucket() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        for (int i = 0; i < 5; i++) {
            q.add(QueueDriver.Buffer.writable(arena.allocate(512), 512));
        }
        driver.notifyQueue(0);
        VirtioMmioTransport.State state = transport.state();
        HeapGuestMemory copy = MirroredMemory.copyOf(memory);
        Host restoredHost = new Host();

        VirtioMmioTransport.restore(state, "virtio-rng",
                VirtioRng.restore((VirtioRng.State) state.device(), new SecureRandom(), restoredHost.bucket,
                        restoredHost.timer),
                copy, restoredHost.interrupts::incrementAndGet, GuestErrorListener.NONE, Runnable::run);
        assertThat(restoredHost.delays).containsExactly(0L);
        restoredHost.runWakeUps(0);

        int usedIndex = Short.toUnsignedInt(copy.readShort(q.layout().usedRing().plus(2)));
        assertThat(usedIndex).as("the postponed request answered at once").isEqualTo(5);
        long length = Integer.toUnsignedLong(copy.readInt(q.layout().usedRing().plus(4 + 8 * 4 + 4)));
        assertThat(length).isEqualTo(512);
    }

    @Test
    void aDeviceRestoredWithAGivenSourceDrawsItsBytesFromIt() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        VirtioMmioTransport.State state = transport.state();
        HeapGuestMemory copy = MirroredMemory.copyOf(memory);
        AtomicInteger draws = new AtomicInteger();
        SecureRandom source = new SecureRandom() {
            @Override
            public void nextBytes(byte[] bytes) {
                draws.incrementAndGet();
                Arrays.fill(bytes, (byte) 0x5A);
            }
        };
        VirtioMmioTransport restored = VirtioMmioTransport.restore(state, "virtio-rng",
                VirtioRng.restore((VirtioRng.State) state.device(), source), copy, () -> { }, GuestErrorListener.NONE,
                Runnable::run);
        driverView.mirrorTo(copy);
        bus.mirrorTo(restored);

        GuestAddress buffer = arena.allocate(64);
        q.add(QueueDriver.Buffer.writable(buffer, 64));
        driver.notifyQueue(0);

        byte[] expected = new byte[64];
        Arrays.fill(expected, (byte) 0x5A);
        assertThat(copy.read(buffer, 64)).as("the restored device's answer").isEqualTo(expected);
        assertThat(memory.read(buffer, 64)).as("the original's, from its own source").isNotEqualTo(expected);
        assertThat(draws).hasPositiveValue();
    }

    @Test
    void hostileRngStatesAreRefused() {
        assertThatThrownBy(() -> new VirtioRng.State(VirtioRng.QUEUE_SIZE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pending request head 64 outside the queue of 64");
        assertThatThrownBy(() -> new VirtioRng.State(-2)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aPendingRequestThatIsNotAValidRequestIsRefusedOnRestore() {
        QueueDriver q = driver.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        int head = q.add(QueueDriver.Buffer.readable(arena.allocate(16), 16)); // not a request: device-readable
        VirtioMmioTransport.State active = transport.state();
        VirtioMmioTransport.State claimsPending = new VirtioMmioTransport.State(active.status(), 0, 0,
                active.driverFeatures(), false, 0, 0, 0, active.queues(), new VirtioRng.State(head));

        assertThatThrownBy(() -> VirtioMmioTransport.restore(claimsPending, "virtio-rng",
                VirtioRng.restore(new VirtioRng.State(head), new SecureRandom(), new TokenBucket(RATE, BURST),
                        (delay, task) -> { }),
                memory, () -> { }, GuestErrorListener.NONE, Runnable::run))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("request at head 0 must be device-writable only");
    }
}
