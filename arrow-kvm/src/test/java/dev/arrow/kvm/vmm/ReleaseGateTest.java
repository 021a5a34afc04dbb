package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ReleaseGateTest {

    @Test
    void aCloseBeforeTheLoopsEndLeavesTheReleaseToTheLastLoop() {
        ReleaseGate gate = new ReleaseGate(2);
        assertThat(gate.closeRequested()).as("loops still active").isFalse();
        assertThat(gate.loopEnded()).as("one loop still active").isFalse();
        assertThat(gate.isReleaseClaimed()).isFalse();
        assertThat(gate.loopEnded()).as("the last loop releases").isTrue();
        assertThat(gate.isReleaseClaimed()).isTrue();
    }

    @Test
    void aCloseAfterEveryLoopEndedReleasesAtOnce() {
        ReleaseGate gate = new ReleaseGate(2);
        assertThat(gate.loopEnded()).as("no close asked yet").isFalse();
        assertThat(gate.loopEnded()).as("no close asked yet").isFalse();
        assertThat(gate.closeRequested()).isTrue();
        assertThat(gate.closeRequested()).as("released once only").isFalse();
    }

    @Test
    void aVmWithoutLoopsReleasesOnClose() {
        assertThat(new ReleaseGate(0).closeRequested()).isTrue();
    }

    @Test
    void moreLoopsEndingThanStartedIsAnError() {
        ReleaseGate gate = new ReleaseGate(1);
        gate.loopEnded();
        assertThatThrownBy(gate::loopEnded).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new ReleaseGate(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void exactlyOneCallerReleasesWhateverTheOrderOfCloseAndLoopEnds() throws Exception {
        for (int round = 0; round < 500; round++) {
            int loops = 1 + round % 4;
            ReleaseGate gate = new ReleaseGate(loops);
            AtomicInteger releases = new AtomicInteger();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i <= loops; i++) {
                boolean closer = i == loops;
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (closer ? gate.closeRequested() : gate.loopEnded()) {
                        releases.incrementAndGet();
                    }
                });
                t.start();
                threads.add(t);
            }
            go.countDown();
            for (Thread t : threads) {
                t.join(5_000);
            }
            assertThat(releases.get()).as("round %d, %d loops", round, loops).isEqualTo(1);
            assertThat(gate.activeLoops()).isZero();
        }
    }

    @Test
    void awaitReturnsOnceNoMoreThanTheAllowedLoopsAreActive() throws Exception {
        ReleaseGate gate = new ReleaseGate(2);
        Thread ender = new Thread(() -> {
            sleep(100);
            gate.loopEnded();
            sleep(100);
            gate.loopEnded();
        });
        long start = System.nanoTime();
        ender.start();
        assertThat(gate.awaitLoopsAtMost(1, TimeUnit.SECONDS.toNanos(10))).isTrue();
        assertThat(gate.activeLoops()).isLessThanOrEqualTo(1);
        assertThat(gate.awaitLoopsAtMost(0, TimeUnit.SECONDS.toNanos(10))).isTrue();
        assertThat(System.nanoTime() - start).isBetween(TimeUnit.MILLISECONDS.toNanos(150), TimeUnit.SECONDS.toNanos(5));
        ender.join();
    }

    @Test
    void awaitGivesUpAfterItsTimeout() {
        ReleaseGate gate = new ReleaseGate(1);
        long start = System.nanoTime();
        assertThat(gate.awaitLoopsAtMost(0, TimeUnit.MILLISECONDS.toNanos(200))).isFalse();
        long took = System.nanoTime() - start;
        assertThat(took).isBetween(TimeUnit.MILLISECONDS.toNanos(190), TimeUnit.SECONDS.toNanos(5));
        assertThat(gate.activeLoops()).isEqualTo(1);
    }

    @Test
    void anInterruptDoesNotCutTheWaitShortAndIsKept() throws Exception {
        ReleaseGate gate = new ReleaseGate(1);
        Thread waiter = Thread.currentThread();
        Thread interrupter = new Thread(() -> {
            sleep(50);
            waiter.interrupt();
            sleep(100);
            gate.loopEnded();
        });
        interrupter.start();
        try {
            assertThat(gate.awaitLoopsAtMost(0, TimeUnit.SECONDS.toNanos(10))).isTrue();
            assertThat(gate.activeLoops()).isZero();
            assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is kept").isTrue();
        } finally {
            Thread.interrupted();
            interrupter.join();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
