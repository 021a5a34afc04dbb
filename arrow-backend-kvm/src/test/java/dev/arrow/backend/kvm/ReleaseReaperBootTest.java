package dev.arrow.backend.kvm;

import static dev.arrow.backend.kvm.BootTestSupport.guestAppArrow;
import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.Output;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.testing.BootTest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 4: closing a running arrow leaves its release (vCPU threads joined, guest RAM unmapped, fds closed) to the
 * JVM's {@link ReleaseReaper}: the close returns, the VM is released afterwards on the reaper's thread, and
 * {@link Arrow#awaitReleased} waits for it; {@code -Darrow.asyncRelease=false} releases on the closing thread. Prints
 * what close costs the caller either way (docs/idle.md, "Releasing closed arrows").
 */
@BootTest
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ReleaseReaperBootTest {
    private static final int RUNS = 8;

    @AfterEach
    void clear() throws Exception {
        System.clearProperty(ReleaseReaper.PROPERTY);
        BootTestSupport.awaitNoBlankVms();
    }

    /** One running arrow closed: what the close cost its caller, and where and when its VM was released. */
    private record Closed(long closeNanos, long releasedNanos, String releasedOn, String closedOn) {
    }

    private static Closed startAndClose() throws Exception {
        CapturingLauncher launcher = new CapturingLauncher();
        ArrowProcess p = guestAppArrow("sleep", "1000").stdout(Output.discard()).launcher(launcher).start();
        RunningVm vm = launcher.last.get().vm();
        AtomicReference<String> releasedOn = new AtomicReference<>();
        long[] releasedAt = new long[1];
        // registered before the close: it runs on the thread that completes the release
        CompletableFuture<Void> released = vm.onReleased().whenComplete((v, e) -> {
            releasedAt[0] = System.nanoTime();
            releasedOn.set(Thread.currentThread().getName());
        });
        long t0 = System.nanoTime();
        p.close();
        long closed = System.nanoTime() - t0;
        assertThat(p.isAlive()).isFalse();
        assertThat(p.outcome()).isCompletedWithValue(new ArrowOutcome.Destroyed());
        p.onReleased().get(30, TimeUnit.SECONDS);
        released.get(30, TimeUnit.SECONDS);
        assertThat(vm.isReleased()).as("the VM's fds and mappings released once onReleased completed").isTrue();
        assertThat(vm.isAlive()).isFalse();
        return new Closed(closed, releasedAt[0] - t0, releasedOn.get(), Thread.currentThread().getName());
    }

    @Test
    void closeLeavesTheReleaseToTheReaperThreadAndAwaitReleasedWaitsForIt() throws Exception {
        startAndClose(); // warm up
        List<Closed> runs = new ArrayList<>();
        for (int i = 0; i < RUNS; i++) {
            Closed c = startAndClose();
            runs.add(c);
            // the vCPU join and the munmap of guest RAM ran on the reaper's thread, after close returned
            assertThat(c.releasedOn()).as("the thread that released the VM").isEqualTo(ReleaseReaper.THREAD_NAME);
        }
        assertThat(Arrow.awaitReleased(Duration.ofSeconds(30))).isTrue();
        assertThat(ReleaseReaper.shared().unfinished()).isZero();
        report("reaper", runs);
    }

    @Test
    void withTheReaperOffTheClosingThreadReleases() throws Exception {
        System.setProperty(ReleaseReaper.PROPERTY, "false");
        startAndClose(); // warm up
        List<Closed> runs = new ArrayList<>();
        for (int i = 0; i < RUNS; i++) {
            Closed c = startAndClose();
            runs.add(c);
            assertThat(c.releasedOn()).as("the thread that released the VM").isEqualTo(c.closedOn());
            assertThat(c.releasedNanos()).as("released before close returned").isLessThanOrEqualTo(c.closeNanos());
        }
        report("inline", runs);
    }

    @Test
    void manyClosesInALoopLeaveNothingBehindOnceReleased() throws Exception {
        // a first round as the measured one: the JVM keeps some of what many threads at once made (glibc caches dead
        // threads' stacks, malloc arenas), which is the JVM's, not the arrows'
        startManyAndCloseThem();
        BootTestSupport.awaitNoBlankVms();
        long fds = BootTestSupport.countFds();
        List<String> mappings = mappings();
        startManyAndCloseThem();
        BootTestSupport.awaitNoBlankVms(); // awaits the releases first
        assertThat(BootTestSupport.countFds()).as("open fds").isLessThanOrEqualTo(fds);
        List<String> after = mappings();
        List<String> added = new ArrayList<>(after);
        added.removeAll(mappings);
        assertThat(after.size()).as("mappings; new ones: %s", added).isLessThanOrEqualTo(mappings.size() + 16);
        assertThat(GuestRamAdmission.JVM.liveCount()).as("VMs whose guest RAM is still admitted").isZero();
        assertThat(ReleaseReaper.shared().awaitIdle(ReleaseReaper.KEEP_ALIVE.plusSeconds(10)))
                .as("the reaper's thread ends when idle").isTrue();
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals(ReleaseReaper.THREAD_NAME));
    }

    /** Starts more running arrows than the reaper queues, then closes them all in a loop: some release inline. */
    private static void startManyAndCloseThem() throws Exception {
        List<ArrowProcess> running = new ArrayList<>();
        try {
            for (int i = 0; i < ReleaseReaper.MAX_PENDING + 8; i++) {
                running.add(guestAppArrow("sleep", "1000").stdout(Output.discard()).start());
            }
        } finally {
            running.forEach(ArrowProcess::close);
        }
    }

    /** This process's mappings: address range, permissions and what is mapped, one per line. */
    private static List<String> mappings() throws java.io.IOException {
        return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/maps")).stream()
                .map(line -> line.replaceAll("\\s+", " ")).toList();
    }

    private static void report(String label, List<Closed> runs) {
        long[] close = runs.stream().mapToLong(Closed::closeNanos).sorted().toArray();
        long[] released = runs.stream().mapToLong(Closed::releasedNanos).sorted().toArray();
        for (Closed c : runs) {
            System.out.printf("[reaper] %s: close() %.2f ms, released %.2f ms after the close began, on %s%n", label,
                    c.closeNanos() / 1e6, c.releasedNanos() / 1e6, c.releasedOn());
        }
        System.out.printf("[reaper] %s: median close() %.2f ms (min %.2f, max %.2f); median released after %.2f ms%n",
                label, close[close.length / 2] / 1e6, close[0] / 1e6, close[close.length - 1] / 1e6,
                released[released.length / 2] / 1e6);
    }
}
