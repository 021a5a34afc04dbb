package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Tier 1: the run count of a thread: parsed from schedstat, unchanged while the thread is blocked, grown once it ran. */
class ThreadRunsTest {
    @Test
    void parsesTheThirdFieldAndRefusesWhatIsNotACount() {
        assertThat(ThreadRuns.parse("2100000 300000 812\n")).isEqualTo(812);
        assertThat(ThreadRuns.parse("0 0 0\n")).as("a kernel that keeps no count").isEqualTo(ThreadRuns.UNKNOWN);
        assertThat(ThreadRuns.parse("12 x")).isEqualTo(ThreadRuns.UNKNOWN);
        assertThat(ThreadRuns.parse("12 3 x")).isEqualTo(ThreadRuns.UNKNOWN);
        assertThat(ThreadRuns.of(Integer.MAX_VALUE)).as("no such thread").isEqualTo(ThreadRuns.UNKNOWN);
    }

    @Test
    void aBlockedThreadKeepsItsCountAndOneThatRanDoesNot() throws Exception {
        AtomicInteger tid = new AtomicInteger();
        long[] own = new long[1];
        CountDownLatch ready = new CountDownLatch(1);
        CountDownLatch wake = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            tid.set(Integer.parseInt(readLink()));
            own[0] = ThreadRuns.ofCurrentThread();
            ready.countDown();
            try {
                wake.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            done.countDown();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        t.setDaemon(true);
        t.start();
        ready.await();
        Thread.sleep(200); // blocked in wake.await() by now
        long blocked = ThreadRuns.of(tid.get());
        org.junit.jupiter.api.Assumptions.assumeTrue(blocked != ThreadRuns.UNKNOWN, "this kernel keeps no run counts");
        assertThat(own[0]).as("read by the thread itself before it blocked").isLessThanOrEqualTo(blocked);
        Thread.sleep(200);
        assertThat(ThreadRuns.of(tid.get())).as("still blocked").isEqualTo(blocked);
        wake.countDown();
        done.await();
        Thread.sleep(100);
        assertThat(ThreadRuns.of(tid.get())).as("ran since").isGreaterThan(blocked);
        t.interrupt();
    }

    private static String readLink() {
        try {
            return java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/thread-self")).getFileName().toString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
