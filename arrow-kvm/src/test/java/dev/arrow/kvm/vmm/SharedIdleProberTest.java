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
 * Tier 1: the idle probes of many VMs share one thread and its ticks; the thread wakes only at ticks where a probe is
 * due, and a probe expedited by its VM runs at the next tick; a probe that throws runs again and does not stop the
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
            probes.add(prober.schedule("VM " + vm, tick -> {
                threads.add(Thread.currentThread());
                ran.countDown();
                return tick + 1;
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
            probes.add(prober.schedule(name, tick -> {
                order.add(name);
                ticks.countDown();
                return tick + 1;
            }));
        }
        assertThat(ticks.await(10, TimeUnit.SECONDS)).isTrue();
        probes.forEach(SharedIdleProber.Probe::cancel);
        List<String> seen = List.copyOf(order);
        // a wake-up runs all four: their counts differ by at most a tick at each end (a probe scheduled after a
        // tick boundary starts a tick later; a cancelled one misses the last), and the thread woke once per tick
        java.util.Map<String, Long> runs = seen.stream()
                .collect(java.util.stream.Collectors.groupingBy(n -> n, java.util.stream.Collectors.counting()));
        assertThat(runs).hasSize(4);
        assertThat(java.util.Collections.max(runs.values()) - java.util.Collections.min(runs.values()))
                .as("runs per probe in %s", seen).isLessThanOrEqualTo(2);
        assertThat(prober.wakeUps()).as("wake-ups for %s", seen).isLessThanOrEqualTo(seen.size() / 4 + 2);
        assertThat(prober.ticking()).isFalse();
    }

    @Test
    void aProbeThatThrowsKeepsItsScheduleAndTheOthersTheirs() throws Exception {
        CountDownLatch failures = new CountDownLatch(3);
        CountDownLatch healthy = new CountDownLatch(3);
        SharedIdleProber.Probe failing = prober.schedule("VM failing", tick -> {
            failures.countDown();
            throw new IllegalStateException("a closed vCPU");
        });
        SharedIdleProber.Probe other = prober.schedule("VM healthy", tick -> {
            healthy.countDown();
            return tick + 1;
        });
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
        SharedIdleProber.Probe closing = prober.schedule("VM closing", tick -> {
            firstRun.countDown();
            if (closed.get()) {
                afterClose.incrementAndGet();
            }
            return tick + 1;
        });
        AtomicInteger otherRuns = new AtomicInteger();
        SharedIdleProber.Probe other = prober.schedule("VM other", tick -> {
            otherRuns.incrementAndGet();
            return tick + 1;
        });
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
        SharedIdleProber.Probe probe = prober.schedule("VM slow", tick -> {
            running.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            finished.set(true);
            return tick + 1;
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

    @Test
    void aProbeRunsOnlyAtTheTicksItAsksForAndTheThreadSleepsBetween() throws Exception {
        List<Long> ran = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch runs = new CountDownLatch(5);
        SharedIdleProber.Probe probe = prober.schedule("VM idle", tick -> {
            ran.add(tick);
            runs.countDown();
            return tick + 8;
        });
        assertThat(runs.await(10, TimeUnit.SECONDS)).isTrue();
        probe.cancel();
        List<Long> ticks = List.copyOf(ran);
        for (int i = 1; i < ticks.size(); i++) {
            assertThat(ticks.get(i) - ticks.get(i - 1)).as("ticks %s", ticks).isGreaterThanOrEqualTo(8);
        }
        assertThat(prober.wakeUps()).as("one wake-up per run, not one per tick").isEqualTo(ticks.size());
    }

    @Test
    void anExpeditedProbeRunsAtTheNextTickInsteadOfTheFarOneItAskedFor() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch first = new CountDownLatch(1);
        CountDownLatch second = new CountDownLatch(1);
        SharedIdleProber.Probe probe = prober.schedule("VM quiet", tick -> {
            if (runs.incrementAndGet() == 1) {
                first.countDown();
            } else {
                second.countDown();
            }
            return tick + 1_000_000; // about 1.4 hours of 5 ms ticks
        });
        assertThat(first.await(10, TimeUnit.SECONDS)).isTrue();
        Thread.sleep(10 * PERIOD.toMillis());
        assertThat(runs).as("not before the tick it asked for").hasValue(1);
        probe.expedite();
        assertThat(second.await(10, TimeUnit.SECONDS)).as("expedited").isTrue();
        probe.cancel();
        probe.expedite(); // after cancel: nothing
        assertThat(prober.ticking()).isFalse();
    }

    @Test
    void aProbeExpeditedWhileItRunsRunsAgainAtTheNextTick() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch twice = new CountDownLatch(2);
        SharedIdleProber.Probe[] self = new SharedIdleProber.Probe[1];
        CountDownLatch scheduled = new CountDownLatch(1);
        self[0] = prober.schedule("VM busy", tick -> {
            try {
                scheduled.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (runs.incrementAndGet() == 1) {
                self[0].expedite(); // as a vCPU exit during the probe's run would
            }
            twice.countDown();
            return tick + 1_000_000;
        });
        scheduled.countDown();
        assertThat(twice.await(10, TimeUnit.SECONDS)).isTrue();
        self[0].cancel();
    }
}
