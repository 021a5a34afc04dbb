package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 1: the idle probes of many VMs share one thread and one tick; a probe that throws keeps its schedule and does not stop the
 * others; a cancelled probe never runs again, and cancelling one leaves the others running.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class SharedIdleProberTest {
    private static final Duration PERIOD = Duration.ofMillis(5);
    private static final AtomicInteger NAMES = new AtomicInteger();
    private final String threadName = "idle-prober-test-" + NAMES.incrementAndGet();
    private final SharedIdleProber prober = new SharedIdleProber(threadName, PERIOD);

    @Test
    void manyVmsProbesRunOnOneDaemonThread() throws Exception {
        Set<Thread> threads = ConcurrentHashMap.newKeySet();
        CountDownLatch ran = new CountDownLatch(10 * 3);
        List<SharedIdleProber.Probe> probes = new ArrayList<>();
        for (int vm = 0; vm < 10; vm++) {
            probes.add(prober.schedule("VM " + vm, () -> {
                threads.add(Thread.currentThread());
                ran.countDown();
            }));
        }
        assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(prober.scheduledProbes()).isEqualTo(10);
        assertThat(threads).hasSize(1).allSatisfy(t -> {
            assertThat(t.getName()).isEqualTo(threadName);
            assertThat(t.isDaemon()).isTrue();
        });
        probes.forEach(SharedIdleProber.Probe::cancel);
        assertThat(prober.scheduledProbes()).isZero();
        assertThat(prober.ticking()).as("no probe left: no tick").isFalse();
    }

    @Test
    void oneTickRunsEveryProbeInTurn() throws Exception {
        List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch ticks = new CountDownLatch(4 * 3);
        List<SharedIdleProber.Probe> probes = new ArrayList<>();
        for (int vm = 0; vm < 4; vm++) {
            String name = "VM " + vm;
            probes.add(prober.schedule(name, () -> {
                order.add(name);
                ticks.countDown();
            }));
        }
        assertThat(ticks.await(10, TimeUnit.SECONDS)).isTrue();
        probes.forEach(SharedIdleProber.Probe::cancel);
        List<String> seen = List.copyOf(order);
        // every tick runs all four: their counts differ by at most the one tick a late or cancelled probe missed
        java.util.Map<String, Long> runs = seen.stream()
                .collect(java.util.stream.Collectors.groupingBy(n -> n, java.util.stream.Collectors.counting()));
        assertThat(runs).hasSize(4);
        assertThat(java.util.Collections.max(runs.values()) - java.util.Collections.min(runs.values()))
                .as("runs per probe in %s", seen).isLessThanOrEqualTo(1);
        assertThat(prober.ticking()).isFalse();
    }

    @Test
    void aProbeThatThrowsKeepsItsScheduleAndTheOthersTheirs() throws Exception {
        CountDownLatch failures = new CountDownLatch(3);
        CountDownLatch healthy = new CountDownLatch(3);
        SharedIdleProber.Probe failing = prober.schedule("VM failing", () -> {
            failures.countDown();
            throw new IllegalStateException("a closed vCPU");
        });
        SharedIdleProber.Probe other = prober.schedule("VM healthy", healthy::countDown);
        assertThat(failures.await(10, TimeUnit.SECONDS)).as("the failing probe runs again").isTrue();
        assertThat(healthy.await(10, TimeUnit.SECONDS)).isTrue();
        failing.cancel();
        other.cancel();
    }

    @Test
    void aCancelledProbeNeverRunsAgainAndTheOthersGoOn() throws Exception {
        AtomicBoolean closed = new AtomicBoolean();
        AtomicInteger afterClose = new AtomicInteger();
        CountDownLatch firstRun = new CountDownLatch(1);
        SharedIdleProber.Probe closing = prober.schedule("VM closing", () -> {
            firstRun.countDown();
            if (closed.get()) {
                afterClose.incrementAndGet();
            }
        });
        AtomicInteger otherRuns = new AtomicInteger();
        SharedIdleProber.Probe other = prober.schedule("VM other", otherRuns::incrementAndGet);
        assertThat(firstRun.await(10, TimeUnit.SECONDS)).isTrue();

        closing.cancel();
        closed.set(true); // after cancel returns: a run of it now would count
        int before = otherRuns.get();
        while (otherRuns.get() < before + 5) {
            Thread.sleep(PERIOD.toMillis());
        }
        assertThat(afterClose).hasValue(0);
        assertThat(prober.scheduledProbes()).isEqualTo(1);
        other.cancel();
        other.cancel(); // idempotent
        assertThat(prober.scheduledProbes()).isZero();
    }

    @Test
    void cancelWaitsForARunInProgress() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean finished = new AtomicBoolean();
        SharedIdleProber.Probe probe = prober.schedule("VM slow", () -> {
            running.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            finished.set(true);
        });
        assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
        Thread canceller = new Thread(probe::cancel);
        canceller.start();
        canceller.join(200);
        assertThat(canceller.isAlive()).as("waits for the run in progress").isTrue();
        release.countDown();
        canceller.join(10_000);
        assertThat(canceller.isAlive()).isFalse();
        assertThat(finished).isTrue();
    }
}
