package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The pool a template keeps its prepared VMs in, with stand-in resources (tier 1). */
class PrebuiltPoolTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** A stand-in resource that records the thread it was made on and whether it was closed. */
    static final class Made implements AutoCloseable {
        final int number;
        final String thread = Thread.currentThread().getName();
        volatile boolean closed;

        Made(int number) {
            this.number = number;
        }

        @Override
        public void close() {
            closed = true;
        }

        @Override
        public String toString() {
            return "made #" + number;
        }
    }

    final List<Made> everMade = new CopyOnWriteArrayList<>();
    final AtomicInteger counter = new AtomicInteger();

    private Supplier<Made> factory() {
        return () -> {
            Made m = new Made(counter.incrementAndGet());
            everMade.add(m);
            return m;
        };
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " within " + TIMEOUT.toSeconds() + " s");
            }
            Thread.sleep(2);
        }
    }

    private static long poolThreads(String name) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().equals(name)).count();
    }

    @Test
    void aNegativeSizeIsRefusedNamingTheFix() {
        assertThatThrownBy(() -> new PrebuiltPool<>(-1, factory(), "pool"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pool size -1 is negative")
                .hasMessageContaining("give 0");
        assertThatThrownBy(() -> PrebuiltPool.checkedSize(-3)).isInstanceOf(IllegalArgumentException.class);
        assertThat(PrebuiltPool.checkedSize(0)).isZero();
        assertThat(everMade).isEmpty();
    }

    @Test
    void itMakesItsSizeAheadOnItsOwnThreadAndHandsEachOutOnceRefillingBehind() throws Exception {
        try (PrebuiltPool<Made> pool = new PrebuiltPool<>(2, factory(), "test-pool-a")) {
            await("two made ahead", () -> pool.available() == 2);
            assertThat(everMade).extracting(m -> m.thread).containsOnly("test-pool-a");
            Set<Made> handedOut = new HashSet<>();
            for (int i = 0; i < 20; i++) {
                await("the pool refilled", () -> pool.available() == 2);
                Made taken = pool.take();
                assertThat(taken).isNotNull();
                assertThat(handedOut.add(taken)).as("%s handed out twice", taken).isTrue();
            }
            await("the pool refilled after the last take", () -> pool.available() == 2);
            assertThat(everMade).hasSize(22);
            assertThat(poolThreads("test-pool-a")).isEqualTo(1);
        }
        await("the pool's thread ended", () -> poolThreads("test-pool-a") == 0);
    }

    @Test
    void anEmptyPoolAnswersNullAtOnceAndNeverMakesMoreThanItsSize() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Supplier<Made> slow = () -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return factory().get();
        };
        try (PrebuiltPool<Made> pool = new PrebuiltPool<>(2, slow, "test-pool-b")) {
            for (int i = 0; i < 5; i++) {
                assertThat(pool.take()).as("nothing made yet").isNull();
            }
            release.countDown();
            await("two made", () -> pool.available() == 2);
            Thread.sleep(50);
            assertThat(everMade).as("takes while two were being made add none").hasSize(2);
        }
    }

    @Test
    void returnedResourcesGoFirstAndAtMostSizeOfThemAreKept() throws Exception {
        try (PrebuiltPool<Made> pool = new PrebuiltPool<>(2, factory(), "test-pool-c")) {
            await("two made ahead", () -> pool.available() == 2);
            Made a = new Made(-1);
            Made b = new Made(-2);
            assertThat(pool.offer(a)).isTrue();
            assertThat(pool.offer(b)).isTrue();
            assertThat(pool.offer(new Made(-3))).as("a third returned one").isFalse();
            assertThat(pool.available()).isEqualTo(4);
            assertThat(pool.take()).isSameAs(a);
            assertThat(pool.take()).isSameAs(b);
            assertThat(pool.take().number).isPositive();
        }
    }

    @Test
    void aResourceThatFailsToBeMadeIsNotOfferedAndTheNextTakeTriesAgain() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Supplier<Made> failingFirst = () -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("KVM_CREATE_VM failed: EMFILE");
            }
            return factory().get();
        };
        try (PrebuiltPool<Made> pool = new PrebuiltPool<>(1, failingFirst, "test-pool-d")) {
            await("the failed attempt", () -> calls.get() == 1);
            Thread.sleep(50);
            assertThat(pool.available()).as("nothing after a failure, and no retry until a take").isZero();
            assertThat(calls.get()).isEqualTo(1);
            assertThat(pool.take()).isNull();
            await("made on the second attempt", () -> pool.available() == 1);
            assertThat(pool.take()).isNotNull();
        }
    }

    @Test
    void sizeZeroMakesNothingStartsNoThreadAndTakesNothingBack() throws Exception {
        try (PrebuiltPool<Made> pool = new PrebuiltPool<>(0, factory(), "test-pool-e")) {
            assertThat(pool.take()).isNull();
            assertThat(pool.offer(new Made(-1))).isFalse();
            assertThat(pool.capacity()).isZero();
            assertThat(poolThreads("test-pool-e")).isZero();
        }
        assertThat(everMade).isEmpty();
    }

    @Test
    void closingClosesWhatItHoldsAndWhatIsBeingMadeAndRefusesAfterwards() throws Exception {
        CountDownLatch making = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        Supplier<Made> blockingSecond = () -> {
            if (calls.incrementAndGet() == 2) {
                making.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return factory().get();
        };
        PrebuiltPool<Made> pool = new PrebuiltPool<>(2, blockingSecond, "test-pool-f");
        assertThat(making.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        Made returned = new Made(-1);
        assertThat(pool.offer(returned)).isTrue();
        Thread closer = new Thread(pool::close, "test-pool-f-closer");
        closer.start();
        await("the close has begun", () -> pool.toString().endsWith("(closed)"));
        assertThat(pool.offer(new Made(-2))).as("an offer to a closed pool").isFalse();
        release.countDown();
        closer.join(TIMEOUT.toMillis());
        assertThat(closer.isAlive()).isFalse();
        List<Made> all = new ArrayList<>(everMade);
        all.add(returned);
        assertThat(all).hasSize(3).allMatch(m -> m.closed, "closed");
        assertThat(pool.take()).isNull();
        assertThat(pool.available()).isZero();
        pool.close();
        await("the pool's thread ended", () -> poolThreads("test-pool-f") == 0);
    }
}
