package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.vmm.PrebuiltPoolTest.Made;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The JVM's pool of blank VMs for cold builds, with stand-in VMs (tier 1). */
class BlankVmPoolTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Duration LONG = Duration.ofMinutes(5);

    final List<Made> everMade = new CopyOnWriteArrayList<>();
    final List<Integer> vcpuCounts = new CopyOnWriteArrayList<>();
    final AtomicInteger counter = new AtomicInteger();
    final List<BlankVmPool<Made>> pools = new ArrayList<>();

    private final IntFunction<Made> factory = vcpus -> {
        Made m = new Made(counter.incrementAndGet());
        everMade.add(m);
        vcpuCounts.add(vcpus);
        return m;
    };

    private BlankVmPool<Made> pool(int size, Duration keepAlive) {
        return pool(factory, size, keepAlive);
    }

    private BlankVmPool<Made> pool(IntFunction<Made> f, int size, Duration keepAlive) {
        BlankVmPool<Made> p = new BlankVmPool<>(f, () -> size, keepAlive);
        pools.add(p);
        return p;
    }

    @AfterEach
    void clear() {
        System.clearProperty(BlankVmPool.SIZE_PROPERTY);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " within " + TIMEOUT.toSeconds() + " s");
            }
            Thread.sleep(5);
        }
    }

    private static boolean poolThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.isAlive() && t.getName().equals(BlankVmPool.THREAD_NAME));
    }

    @Test
    void holdsNothingAndStartsNoThreadUntilAColdBuildAsks() {
        BlankVmPool<Made> pool = pool(1, LONG);
        assertThat(pool.take(1)).isNull();
        assertThat(pool.held()).isZero();
        assertThat(everMade).isEmpty();
    }

    @Test
    void aReplenishMakesTheNextOnItsOwnDaemonThreadAndATakeHandsItOut() throws Exception {
        BlankVmPool<Made> pool = pool(1, LONG);
        pool.replenish(2);
        await("one VM held", () -> pool.held() == 1);
        assertThat(everMade).singleElement().satisfies(m -> assertThat(m.thread).isEqualTo(BlankVmPool.THREAD_NAME));
        assertThat(vcpuCounts).containsExactly(2);

        assertThat(pool.take(1)).as("another vCPU count").isNull();
        Made taken = pool.take(2);
        assertThat(taken).isSameAs(everMade.get(0));
        assertThat(taken.closed).isFalse();
        assertThat(pool.take(2)).as("handed out once").isNull();
        assertThat(pool.awaitIdle(TIMEOUT)).as("nothing held: the thread ends").isTrue();
        assertThat(taken.closed).as("the pool never closes what it handed out").isFalse();
    }

    @Test
    void keepsAtMostItsSizePerVcpuCountWhateverTheNumberOfReplenishes() throws Exception {
        BlankVmPool<Made> pool = pool(2, LONG);
        for (int i = 0; i < 5; i++) {
            pool.replenish(1);
            pool.replenish(4);
        }
        await("two of each", () -> pool.held() == 4);
        Thread.sleep(50);
        assertThat(everMade).hasSize(4);
        assertThat(vcpuCounts).containsExactlyInAnyOrder(1, 1, 4, 4);

        assertThat(pool.take(1)).isNotNull();
        pool.replenish(1);
        await("the one taken made again", () -> pool.held() == 4);
        assertThat(everMade).hasSize(5);
        Set<Made> handedOut = new HashSet<>();
        for (int vcpus : new int[] {1, 1, 4, 4}) {
            handedOut.add(pool.take(vcpus));
        }
        assertThat(handedOut).hasSize(4).doesNotContainNull();
        assertThat(pool.held()).isZero();
    }

    @Test
    void aVmNotTakenWithinTheKeepAliveIsClosedAndThenTheThreadEnds() throws Exception {
        BlankVmPool<Made> pool = pool(1, Duration.ofMillis(200));
        pool.replenish(1);
        await("one VM held", () -> pool.held() == 1);
        Made made = everMade.get(0);
        long heldSince = System.nanoTime();
        assertThat(pool.awaitIdle(TIMEOUT)).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - heldSince)).as("kept until its keep-alive")
                .isGreaterThanOrEqualTo(Duration.ofMillis(150));
        assertThat(made.closed).isTrue();
        assertThat(pool.held()).isZero();
        assertThat(pool.take(1)).isNull();
        assertThat(everMade).as("an expired VM is not made again until asked").hasSize(1);
        assertThat(poolThreadAlive()).isFalse();

        pool.replenish(1); // a new cold build: a new thread makes the next
        await("one VM held again", () -> pool.held() == 1);
        assertThat(pool.take(1)).isSameAs(everMade.get(1));
        assertThat(pool.awaitIdle(TIMEOUT)).isTrue();
        assertThat(everMade.get(1).closed).isFalse();
    }

    @Test
    void aTakenVmIsNeverClosedByTheKeepAlive() throws Exception {
        BlankVmPool<Made> pool = pool(1, Duration.ofMillis(100));
        List<Made> taken = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            pool.replenish(1);
            Made m = pool.take(1);
            if (m != null) {
                taken.add(m);
            }
            Thread.sleep(i % 4 == 0 ? 120 : 10);
        }
        assertThat(pool.awaitIdle(TIMEOUT)).isTrue();
        assertThat(taken).isNotEmpty().noneMatch(m -> m.closed);
        assertThat(everMade).filteredOn(m -> !taken.contains(m)).allMatch(m -> m.closed);
    }

    @Test
    void sizeZeroMakesNothingAndStartsNoThread() throws Exception {
        BlankVmPool<Made> pool = pool(0, LONG);
        pool.replenish(1);
        assertThat(pool.take(1)).isNull();
        assertThat(pool.awaitIdle(Duration.ZERO)).isTrue();
        assertThat(everMade).isEmpty();
    }

    @Test
    void aVmThatFailsToBeMadeIsNotOfferedAndTheNextReplenishTriesAgain() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        BlankVmPool<Made> pool = pool(vcpus -> {
            if (calls.incrementAndGet() == 1) {
                throw new KvmException("KVM_CREATE_VM failed: EMFILE");
            }
            return factory.apply(vcpus);
        }, 1, LONG);
        pool.replenish(1);
        assertThat(pool.awaitIdle(TIMEOUT)).as("a failure leaves nothing to hold").isTrue();
        assertThat(pool.take(1)).isNull();
        pool.replenish(1);
        await("made on the second try", () -> pool.held() == 1);
        assertThat(pool.take(1)).isSameAs(everMade.get(0));
    }

    @Test
    void concurrentTakersGetEachVmOnce() throws Exception {
        BlankVmPool<Made> pool = pool(8, LONG);
        pool.replenish(1);
        await("eight held", () -> pool.held() == 8);
        ExecutorService takers = Executors.newFixedThreadPool(4);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<List<Made>>> got = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                got.add(takers.submit(() -> {
                    go.await();
                    List<Made> mine = new ArrayList<>();
                    for (int i = 0; i < 4; i++) {
                        Made m = pool.take(1);
                        if (m != null) {
                            mine.add(m);
                        }
                    }
                    return mine;
                }));
            }
            go.countDown();
            List<Made> all = new ArrayList<>();
            for (Future<List<Made>> f : got) {
                all.addAll(f.get(10, TimeUnit.SECONDS));
            }
            assertThat(all).hasSize(8).doesNotHaveDuplicates();
        } finally {
            takers.shutdownNow();
        }
        assertThat(pool.awaitIdle(TIMEOUT)).isTrue();
    }

    @Test
    void awaitIdleGivesUpAfterItsTimeoutWhileAVmIsHeld() throws Exception {
        BlankVmPool<Made> pool = pool(1, LONG);
        pool.replenish(1);
        await("one VM held", () -> pool.held() == 1);
        assertThat(pool.awaitIdle(Duration.ofMillis(50))).isFalse();
        assertThat(pool.take(1)).isNotNull();
        assertThat(pool.awaitIdle(TIMEOUT)).isTrue();
    }

    @Test
    void theSizeIsOneByDefaultWithTwoCpusOrMoreOffWithOneAndWhatThePropertySays() {
        assertThat(BlankVmPool.defaultSize(1)).isZero();
        assertThat(BlankVmPool.defaultSize(2)).isEqualTo(1);
        assertThat(BlankVmPool.defaultSize(64)).isEqualTo(1);
        int byDefault = BlankVmPool.defaultSize(Runtime.getRuntime().availableProcessors());
        assertThat(BlankVmPool.sizeFromSystemProperty()).isEqualTo(byDefault);
        System.setProperty(BlankVmPool.SIZE_PROPERTY, " 0 ");
        assertThat(BlankVmPool.sizeFromSystemProperty()).isZero();
        System.setProperty(BlankVmPool.SIZE_PROPERTY, "8");
        assertThat(BlankVmPool.sizeFromSystemProperty()).isEqualTo(8);
        System.setProperty(BlankVmPool.SIZE_PROPERTY, " ");
        assertThat(BlankVmPool.sizeFromSystemProperty()).isEqualTo(byDefault);
    }

    @Test
    void anInvalidSizeIsRefusedNamingTheFix() {
        for (String bad : new String[] {"off", "-1", "9", "1.5"}) {
            System.setProperty(BlankVmPool.SIZE_PROPERTY, bad);
            assertThatThrownBy(BlankVmPool::sizeFromSystemProperty).isInstanceOf(KvmException.class)
                    .hasMessageContaining("system property arrow.blankVmPool=" + bad + " is not a number of VMs from 0 to 8: "
                            + "give -Darrow.blankVmPool=0 to make no VMs ahead for cold starts");
        }
    }

    @Test
    void anInvalidSizeFailsTheTakeBeforeABuildMakesAnythingAndMakesNothingAhead() throws Exception {
        BlankVmPool<Made> pool = new BlankVmPool<>(factory, BlankVmPool::sizeFromSystemProperty, LONG);
        System.setProperty(BlankVmPool.SIZE_PROPERTY, "many");
        assertThatThrownBy(() -> pool.take(1)).isInstanceOf(KvmException.class).hasMessageContaining("many");
        pool.replenish(1); // after a build that started: logged, never thrown
        assertThat(pool.awaitIdle(Duration.ZERO)).isTrue();
        assertThat(everMade).isEmpty();
    }

    @AfterEach
    void everyPoolEndsIdle() throws Exception {
        for (BlankVmPool<Made> p : pools) {
            while (p.take(1) != null || p.take(2) != null || p.take(4) != null) {
                // emptied, so a long keep-alive does not keep the thread
            }
            assertThat(p.awaitIdle(TIMEOUT)).as("%s idle", p).isTrue();
        }
    }
}
