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
import dev.arrow.kvm.device.TokenBucket;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class VirtioRngTest {
    static final long SECOND = 1_000_000_000L;
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
        assertThat(new VirtioRng().notifiesOften(0)).as("served where the notification arrives").isFalse();
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

    // ---- the rate limit, on a fake clock and a fake timer ----

    /** A timer that only records; the test runs the tasks when it has moved the clock. */
    static final class FakeTimer implements VirtioRng.Timer {
        record Scheduled(long delayNanos, Runnable task) {
        }

        final Deque<Scheduled> scheduled = new ArrayDeque<>();

        @Override
        public void schedule(long delayNanos, Runnable task) {
            scheduled.add(new Scheduled(delayNanos, task));
        }
    }

    final AtomicLong now = new AtomicLong();
    final FakeTimer timer = new FakeTimer();

    /** A transport around a device limited to {@code rate} bytes/s with a burst of {@code burst}. */
    private VirtioMmioDriver limited(VirtioRng rng) {
        VirtioMmioTransport t = new VirtioMmioTransport("virtio-rng", rng, memory, interrupts::incrementAndGet,
                (name, e) -> errors.add(e.getMessage()), Runnable::run);
        return new VirtioMmioDriver(t, arena);
    }

    private VirtioRng rng(long rate, long burst) {
        return new VirtioRng(new SecureRandom(), new TokenBucket(rate, burst, now::get), timer);
    }

    @Test
    void aRequestBeyondTheBurstGetsWhatIsLeftAndTheNextWaitsForTheRate() {
        VirtioRng rng = rng(1000, 2000);
        VirtioMmioDriver d = limited(rng);
        QueueDriver q = d.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        for (int i = 0; i < 6; i++) {
            q.add(QueueDriver.Buffer.writable(arena.allocate(512), 512));
        }
        d.notifyQueue(0);
        List<Long> lengths = new ArrayList<>();
        QueueDriver.UsedElement u;
        while ((u = q.pollUsed()) != null) {
            lengths.add(u.length());
        }
        assertThat(lengths).as("the burst, the last request short").containsExactly(512L, 512L, 512L, 464L);
        assertThat(timer.scheduled).as("one wake-up for the postponed request").hasSize(1);
        assertThat(timer.scheduled.peek().delayNanos()).as("until %d bytes have accrued", VirtioRng.MIN_GRANT)
                .isEqualTo(VirtioRng.MIN_GRANT * SECOND / 1000);

        d.notifyQueue(0); // the guest asks again: nothing more is scheduled, nothing served
        d.notifyQueue(0);
        assertThat(timer.scheduled).hasSize(1);
        assertThat(q.pollUsed()).isNull();

        FakeTimer.Scheduled wake = timer.scheduled.poll();
        now.addAndGet(wake.delayNanos());
        wake.task().run();
        assertThat(q.pollUsed().length()).as("what accrued meanwhile").isEqualTo(VirtioRng.MIN_GRANT);
        assertThat(q.pollUsed()).isNull();
        assertThat(timer.scheduled).as("the sixth request waits in turn").hasSize(1);
        assertThat(rng.postponedRequests()).isEqualTo(2);
        assertThat(errors).isEmpty();
    }

    @Test
    void aGuestThatAlwaysAsksIsServedAtTheRateWithoutPollingAndIsNeverStuck() {
        long rate = 10_000;
        long burst = 20_000;
        VirtioRng rng = rng(rate, burst);
        VirtioMmioDriver d = limited(rng);
        QueueDriver q = d.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        GuestAddress buffer = arena.allocate(4096);
        for (int i = 0; i < 8; i++) {
            q.add(QueueDriver.Buffer.writable(buffer, 4096)); // as greedy as a reader of /dev/hwrng
        }
        d.notifyQueue(0);
        long start = now.get();
        int wakeUps = 0;
        while (now.get() - start < 60 * SECOND) {
            while (q.pollUsed() != null) {
                q.add(QueueDriver.Buffer.writable(buffer, 4096));
                d.notifyQueue(0);
            }
            assertThat(timer.scheduled).as("a postponed request always has a wake-up").hasSize(1);
            FakeTimer.Scheduled wake = timer.scheduled.poll();
            assertThat(wake.delayNanos()).as("no wake-up without a wait: no busy loop").isPositive();
            now.addAndGet(wake.delayNanos());
            wake.task().run();
            wakeUps++;
        }
        long elapsed = now.get() - start;
        long allowed = burst + rate * elapsed / SECOND;
        assertThat(rng.servedBytes()).as("served in %d ms", elapsed / 1_000_000)
                .isLessThanOrEqualTo(allowed)
                .isGreaterThanOrEqualTo(allowed - 4096 * 8);
        assertThat(wakeUps).as("each wake-up serves at least %d bytes", VirtioRng.MIN_GRANT)
                .isLessThanOrEqualTo((int) (rng.servedBytes() / VirtioRng.MIN_GRANT));
        assertThat(errors).isEmpty();
    }

    @Test
    void aResetDropsThePostponedRequestAndItsWakeUpDoesNothing() {
        VirtioRng rng = rng(1000, 100);
        VirtioMmioDriver d = limited(rng);
        QueueDriver q = d.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        q.add(QueueDriver.Buffer.writable(arena.allocate(100), 100));
        q.add(QueueDriver.Buffer.writable(arena.allocate(100), 100));
        d.notifyQueue(0);
        assertThat(q.pollUsed().length()).isEqualTo(100);
        assertThat(timer.scheduled).hasSize(1);
        long served = rng.servedBytes();

        d.writeRegister(0x070, 0); // Status 0: reset
        FakeTimer.Scheduled wake = timer.scheduled.poll();
        now.addAndGet(wake.delayNanos());
        wake.task().run();
        assertThat(rng.servedBytes()).isEqualTo(served);
        assertThat(timer.scheduled).isEmpty();
        assertThat(errors).isEmpty();

        // a new activation is served again, from what has accrued
        QueueDriver again = d.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        again.add(QueueDriver.Buffer.writable(arena.allocate(64), 64));
        d.notifyQueue(0);
        assertThat(again.pollUsed().length()).isEqualTo(64);
    }

    @Test
    void theDefaultLimitLetsABootGoByAndHoldsAFlood() {
        assertThat(VirtioRng.BURST_BYTES).as("a Linux boot asks for a few KiB").isGreaterThanOrEqualTo(64 * 1024);
        VirtioRng rng = new VirtioRng(new SecureRandom(), new TokenBucket(VirtioRng.BYTES_PER_SECOND,
                VirtioRng.BURST_BYTES, now::get), timer);
        VirtioMmioDriver d = limited(rng);
        QueueDriver q = d.initialize(VirtioFeatures.VERSION_1, 1, 64).get(0);
        GuestAddress buffer = arena.allocate(4096);
        long served = 0;
        for (int i = 0; i < 1000 && timer.scheduled.isEmpty(); i++) {
            q.add(QueueDriver.Buffer.writable(buffer, 4096));
            d.notifyQueue(0);
            QueueDriver.UsedElement u;
            while ((u = q.pollUsed()) != null) {
                served += u.length();
            }
        }
        assertThat(served).as("all at once: the burst").isEqualTo(VirtioRng.BURST_BYTES);
        assertThat(timer.scheduled).hasSize(1);
    }
}
