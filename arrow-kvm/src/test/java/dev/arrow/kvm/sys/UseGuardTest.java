package dev.arrow.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class UseGuardTest {

    @Test
    void closeRefusesNewUsers() {
        UseGuard g = new UseGuard();
        assertThat(g.enter()).isTrue();
        g.exit();
        assertThat(g.close()).isTrue();
        assertThat(g.close()).isFalse();
        assertThat(g.enter()).isFalse();
        assertThat(g.isClosed()).isTrue();
    }

    @Test
    void closeWaitsForTheUserInFlight() throws Exception {
        UseGuard g = new UseGuard();
        assertThat(g.enter()).isTrue();
        AtomicBoolean userDone = new AtomicBoolean();
        CountDownLatch closed = new CountDownLatch(1);
        Thread closer = new Thread(() -> {
            g.close();
            // the user left before close() returned
            assertThat(userDone.get()).isTrue();
            closed.countDown();
        });
        closer.start();
        Thread.sleep(50);
        assertThat(closed.getCount()).isEqualTo(1);
        userDone.set(true);
        g.exit();
        assertThat(closed.await(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void timedCloseReportsAUserStillInside() {
        UseGuard g = new UseGuard();
        assertThat(g.enter()).isTrue();
        assertThat(g.close(TimeUnit.MILLISECONDS.toNanos(20))).isFalse();
        g.exit();
        assertThat(g.close(TimeUnit.MILLISECONDS.toNanos(20))).isTrue();
    }
}
