package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.VmmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ReleaseReaperTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static ReleaseReaper reaper(int maxPending) {
        return new ReleaseReaper("test-reaper", maxPending, Duration.ofMillis(200), false);
    }

    @Test
    void releasesRunOnTheReapersThreadInTheOrderTheyWereHandedOver() throws Exception {
        ReleaseReaper reaper = reaper(100);
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 20; i++) {
            int n = i;
            reaper.release("release " + n, () -> ran.add(n + " on " + Thread.currentThread().getName()));
        }
        assertThat(reaper.awaitReleased(WAIT)).isTrue();
        assertThat(ran).hasSize(20);
        for (int i = 0; i < 20; i++) {
            assertThat(ran.get(i)).isEqualTo(i + " on test-reaper");
        }
    }

    @Test
    void releaseReturnsBeforeTheReleaseHasRunAndItsFutureCompletesAfter() throws Exception {
        ReleaseReaper reaper = reaper(4);
        CountDownLatch go = new CountDownLatch(1);
        CompletableFuture<Void> done = reaper.release("slow", () -> await(go));
        assertThat(done).isNotDone();
        assertThat(reaper.unfinished()).isEqualTo(1);
        assertThat(reaper.awaitReleased(Duration.ofMillis(50))).as("waited while the release is held").isFalse();
        go.countDown();
        assertThat(reaper.awaitReleased(WAIT)).isTrue();
        assertThat(done).isCompleted();
        assertThat(reaper.unfinished()).isZero();
    }

    @Test
    void pastTheLimitOfPendingReleasesTheCloserReleasesInline() throws Exception {
        ReleaseReaper reaper = reaper(2);
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch running = new CountDownLatch(1);
        reaper.release("held", () -> {
            running.countDown();
            await(go);
        });
        assertThat(running.await(10, TimeUnit.SECONDS)).isTrue(); // the thread runs it: none is queued
        List<String> threads = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 4; i++) {
            reaper.release("queued " + i, () -> threads.add(Thread.currentThread().getName()));
        }
        // two waited for the thread; the other two ran here, at once, with nothing queued behind a stuck release
        assertThat(threads).containsExactly(Thread.currentThread().getName(), Thread.currentThread().getName());
        go.countDown();
        assertThat(reaper.awaitReleased(WAIT)).isTrue();
        assertThat(threads).hasSize(4).endsWith("test-reaper", "test-reaper");
    }

    @Test
    void aFailingReleaseIsLoggedNotThrownAndTheNextOnesStillRun() throws Exception {
        ReleaseReaper reaper = reaper(4);
        CompletableFuture<Void> failed = reaper.release("failing", () -> {
            throw new IllegalStateException("munmap failed");
        });
        CompletableFuture<Void> next = reaper.release("next", () -> { });
        assertThat(reaper.awaitReleased(WAIT)).isTrue();
        assertThat(failed).isCompleted(); // done, not failed: there is nobody to tell but the log
        assertThat(next).isCompleted();
        // inline (no queue allowed) the closer does not see the failure either
        assertThat(reaper(0).release("failing inline", () -> {
            throw new IllegalStateException("close failed");
        })).isCompleted();
    }

    @Test
    void aReleaseThatKeepsAnInterruptDoesNotDisturbTheNext() throws Exception {
        ReleaseReaper reaper = reaper(4);
        reaper.release("interrupting", () -> Thread.currentThread().interrupt());
        boolean[] interrupted = new boolean[1];
        reaper.release("next", () -> interrupted[0] = Thread.currentThread().isInterrupted());
        assertThat(reaper.awaitReleased(WAIT)).isTrue();
        assertThat(interrupted[0]).isFalse();
    }

    @Test
    void theThreadEndsWhenIdleAndAnotherStartsForTheNextRelease() throws Exception {
        ReleaseReaper reaper = reaper(4);
        assertThat(reaper.threadRunning()).isFalse();
        reaper.release("first", () -> { });
        assertThat(reaper.awaitIdle(WAIT)).as("thread ended after its keep-alive").isTrue();
        assertThat(reaper.threadRunning()).isFalse();
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("test-reaper"));
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        reaper.release("second", () -> ran.add(Thread.currentThread().getName()));
        assertThat(reaper.awaitIdle(WAIT)).isTrue();
        assertThat(ran).containsExactly("test-reaper");
    }

    @Test
    void aReleaseHandedOverByAReleaseRunsInlineRatherThanWaitingForItself() throws Exception {
        ReleaseReaper reaper = reaper(4);
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        reaper.release("outer", () -> {
            reaper.release("inner", () -> ran.add("inner"));
            ran.add("outer");
        });
        assertThat(reaper.awaitReleased(WAIT)).isTrue();
        assertThat(ran).containsExactly("inner", "outer");
    }

    @Test
    void thePropertyTurnsItOffAndAnythingButTrueOrFalseIsRefusedNamingTheFix() {
        String old = System.getProperty(ReleaseReaper.PROPERTY);
        try {
            System.clearProperty(ReleaseReaper.PROPERTY);
            assertThat(ReleaseReaper.atCloseFromSystemProperty()).isSameAs(ReleaseReaper.shared());
            System.setProperty(ReleaseReaper.PROPERTY, " FALSE ");
            assertThat(ReleaseReaper.atCloseFromSystemProperty()).isNull();
            System.setProperty(ReleaseReaper.PROPERTY, "true");
            assertThat(ReleaseReaper.asyncFromSystemProperty()).isTrue();
            System.setProperty(ReleaseReaper.PROPERTY, "off");
            assertThatThrownBy(ReleaseReaper::asyncFromSystemProperty).isInstanceOf(VmmException.class)
                    .hasMessageContaining("arrow.asyncRelease=off is neither true nor false")
                    .hasMessageContaining("-Darrow.asyncRelease=false");
        } finally {
            if (old == null) {
                System.clearProperty(ReleaseReaper.PROPERTY);
            } else {
                System.setProperty(ReleaseReaper.PROPERTY, old);
            }
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
