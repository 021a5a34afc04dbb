package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.EventFd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The VM's virtio event loop: its doorbell's rings and tasks on one thread (tier 1: an eventfd, no KVM). */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VirtioEventLoopTest {
    final VirtioEventLoop loop = new VirtioEventLoop("test-virtio-loop");
    final List<String> seen = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        loop.close();
    }

    /**
     * This process's eventfd descriptors, as "fd -> target": what a loop opens. Only these are
     * compared, so a descriptor another part of the JVM closes meanwhile (the process reaper closing the
     * pipes of a program an earlier test ran) cannot make a test fail.
     */
    private static Set<String> openFds() throws IOException {
        Set<String> fds = new TreeSet<>();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) s::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.contains("eventfd")) {
                        fds.add(fd.getFileName() + " -> " + target);
                    }
                } catch (IOException e) {
                    // closed while listed
                }
            }
        }
        return fds;
    }

    @Test
    void tasksRunInSubmissionOrderOnTheLoopThread() throws Exception {
        loop.start();
        CountDownLatch done = new CountDownLatch(100);
        for (int i = 0; i < 100; i++) {
            int n = i;
            loop.execute(() -> {
                seen.add(n + "@" + Thread.currentThread().getName());
                done.countDown();
            });
        }
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < 100; i++) {
            assertThat(seen.get(i)).isEqualTo(i + "@test-virtio-loop");
        }
    }

    /** KVM adds 1 per notification: every poller runs, on the loop thread, once for rings that came together. */
    @Test
    void aRingFromKvmRunsEveryPollerOnTheLoopThread() throws Exception {
        CountDownLatch polled = new CountDownLatch(2);
        loop.onQueueRing(() -> {
            seen.add("a@" + Thread.currentThread().getName());
            polled.countDown();
        });
        loop.onQueueRing(() -> {
            seen.add("b@" + Thread.currentThread().getName());
            polled.countDown();
        });
        loop.doorbell().write(3);
        loop.start();
        assertThat(polled.await(10, TimeUnit.SECONDS)).isTrue();
        CountDownLatch after = new CountDownLatch(1);
        loop.execute(after::countDown);
        assertThat(after.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(seen).containsExactly("a@test-virtio-loop", "b@test-virtio-loop");
    }

    /** A host thread's ring (a task) is told apart from KVM's by its amount: no poller runs for it. */
    @Test
    void aTaskDoesNotRunThePollers() throws Exception {
        loop.onQueueRing(() -> seen.add("polled"));
        loop.start();
        CountDownLatch done = new CountDownLatch(50);
        for (int i = 0; i < 50; i++) {
            loop.execute(done::countDown);
        }
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(seen).isEmpty();
        loop.doorbell().write(1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (seen.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(seen).containsExactly("polled");
    }

    @Test
    void aFailingPollerDoesNotStopTheLoop() throws Exception {
        loop.onQueueRing(() -> {
            throw new IllegalStateException("device bug");
        });
        CountDownLatch polled = new CountDownLatch(1);
        loop.onQueueRing(polled::countDown);
        loop.start();
        loop.doorbell().write(1);
        assertThat(polled.await(10, TimeUnit.SECONDS)).isTrue();
        CountDownLatch after = new CountDownLatch(1);
        loop.execute(after::countDown);
        assertThat(after.await(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void aFailingTaskDoesNotStopTheLoop() throws Exception {
        loop.start();
        CountDownLatch after = new CountDownLatch(1);
        loop.execute(() -> {
            throw new IllegalStateException("device bug");
        });
        loop.execute(after::countDown);
        assertThat(after.await(10, TimeUnit.SECONDS)).isTrue();
    }

    /** What a frozen VM's devices do: the loop stops, its doorbell stays open until close (KVM may still name it). */
    @Test
    void stopKeepsTheDoorbellOpenUntilClose() throws Exception {
        Set<String> before = openFds();
        VirtioEventLoop other = new VirtioEventLoop("test-virtio-loop-5");
        other.start();
        other.stop();
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("test-virtio-loop-5"));
        assertThat(other.doorbell().isClosed()).isFalse();
        assertThatThrownBy(() -> other.execute(() -> { })).isInstanceOf(RejectedExecutionException.class);
        other.close();
        assertThat(other.doorbell().isClosed()).isTrue();
        assertThat(openFds()).isEqualTo(before);
    }

    @Test
    void closeStopsTheThreadReleasesItsFdsAndRefusesWork() throws Exception {
        Set<String> before = openFds();
        VirtioEventLoop other = new VirtioEventLoop("test-virtio-loop-2");
        other.start();
        CountDownLatch ran = new CountDownLatch(1);
        other.execute(ran::countDown);
        assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
        other.close();
        other.close();
        assertThat(openFds()).isEqualTo(before);
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("test-virtio-loop-2"));
        assertThatThrownBy(() -> other.execute(() -> { })).isInstanceOf(RejectedExecutionException.class);
    }

    @Test
    void closedFromOneOfItsOwnTasksTheLoopStillReleasesEverything() throws Exception {
        Set<String> before = openFds();
        VirtioEventLoop other = new VirtioEventLoop("test-virtio-loop-3");
        other.start();
        CountDownLatch closed = new CountDownLatch(1);
        other.execute(() -> {
            other.close();
            closed.countDown();
        });
        assertThat(closed.await(10, TimeUnit.SECONDS)).isTrue();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!openFds().equals(before) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(openFds()).isEqualTo(before);
    }

    @Test
    void aLoopThatNeverStartedClosesCleanly() throws Exception {
        Set<String> before = openFds();
        VirtioEventLoop never = new VirtioEventLoop("test-virtio-loop-4");
        never.close();
        assertThat(openFds()).isEqualTo(before);
        assertThatThrownBy(() -> never.execute(() -> { })).isInstanceOf(RejectedExecutionException.class);
    }
}
