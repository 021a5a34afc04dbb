package dev.arrow.kvm.vmm;

import static dev.arrow.kvm.vmm.VmTemplateTest.assertCounts;
import static dev.arrow.kvm.vmm.VmTemplateTest.await;
import static dev.arrow.kvm.vmm.VmTemplateTest.concat;
import static dev.arrow.kvm.vmm.VmTemplateTest.vmThreads;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.device.TokenBucket;
import dev.arrow.kvm.sys.ProcMaps;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.testing.KvmTest;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier 2: a template's pool of prepared VMs and the recycling of finished clones, with the
 * counting guest of {@link VmTemplateTest} (serial bytes 1, 4, 2, 4, ...: each count, then the
 * virtio-rng device ID). A clone continues that sequence exactly from where the template stopped
 * only with the template's registers and RAM, and RAM of its own: a VM shared with another clone,
 * or a recycled VM whose private pages were not dropped, makes it skip.
 */
@KvmTest
class VmTemplatePoolTest {
    static final Duration TIMEOUT = VmTemplateTest.TIMEOUT;
    static final int CYCLES = 1_000;
    static final int TIMED_CLONES = 51;
    /** In /proc/self/maps: a mapping of a template's memory file, and a vCPU's kvm_run page. */
    static final String RAM_MAPPING = "memfd:" + VmBuilder.TEMPLATE_RAM_FILE_NAME;
    static final String KVM_RUN_MAPPING = "kvm-vcpu";

    @TempDir
    Path dir;

    /** A template and the serial output of its guest up to the freeze. */
    record Frozen(VmTemplate template, byte[] serial) {
        long count() {
            return assertCounts(serial);
        }
    }

    /** Boots the counting guest with templateable RAM and freezes it, keeping {@code poolSize} prepared VMs. */
    private Frozen frozen(int poolSize) throws Exception {
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        RunningVm vm = VmBuilder.start(VmConfig.builder()
                .kernel(TinyKernel.write(dir, VmTemplateTest.countingGuest().bytes())).memoryBytes(VmTemplateTest.MEMORY)
                .serialOutput(serial).virtioDevice(new VirtioRng()).templateable(true).build());
        try {
            await("template serial bytes", vm::serialOutputBytes, 100);
            VmTemplate template = vm.freeze(TIMEOUT, poolSize);
            return new Frozen(template, serial.toByteArray());
        } catch (RuntimeException | Error | InterruptedException e) {
            vm.close();
            throw e;
        }
    }

    private static VmClone cloneWith(OutputStream serial) {
        return new VmClone(serial, line -> { }, (slot, state) -> VirtioRng.restore((VirtioRng.State) state,
                new SecureRandom(), new TokenBucket(1 << 20, 1 << 16), VirtioRng.Timer.SHARED));
    }

    private static long ramAddress(RunningVm vm) {
        return vm.guestMemoryHostRegions().get(0).hostAddress();
    }

    private static void awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " within " + TIMEOUT.toSeconds() + " s");
            }
            Thread.sleep(1);
        }
    }

    private static void awaitPool(VmTemplate template, int vms) throws InterruptedException {
        awaitTrue("the pool of " + template + " holding " + vms + " VMs (it holds " + template.pooledVms() + ")",
                () -> template.pooledVms() == vms);
    }

    private static Set<String> poolThreadNames() {
        Set<String> names = new HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && t.getName().endsWith("-template-pool")) {
                names.add(t.getName());
            }
        }
        return names;
    }

    /** What a clone holds in this process: fds, mappings of guest RAM and kvm_run, VM threads. */
    record Footprint(long fds, long ramMappings, long kvmRunMappings, long threads) {
        /** Once the cold builds' blank VMs ({@link BlankVmPool}) are gone: they are not the template's. */
        static Footprint now() throws InterruptedException {
            assertThat(BlankVmPool.awaitSharedIdle(TIMEOUT.plus(BlankVmPool.KEEP_ALIVE))).as("blank VM pool idle").isTrue();
            return new Footprint(ProcMaps.openFds(), ProcMaps.linesContaining(RAM_MAPPING),
                    ProcMaps.linesContaining(KVM_RUN_MAPPING), vmThreads());
        }

        /** Asserts that nothing is held now beyond this footprint (threads may take a moment to end after their join). */
        void assertNothingLeftBeyond(String after) throws InterruptedException {
            awaitTrue("VM threads back to " + threads + " " + after, () -> vmThreads() <= threads);
            Footprint now = now();
            assertThat(now.fds).as("open fds %s (%d before)", after, fds).isLessThanOrEqualTo(fds);
            assertThat(now.ramMappings).as("guest RAM mappings %s (%d before)", after, ramMappings)
                    .isLessThanOrEqualTo(ramMappings);
            assertThat(now.kvmRunMappings).as("kvm_run mappings %s (%d before)", after, kvmRunMappings)
                    .isLessThanOrEqualTo(kvmRunMappings);
        }
    }

    @Test
    void clonesFromThePoolGetDistinctVmsContinueTheTemplateExactlyAndThePoolRefills() throws Exception {
        Frozen frozen = frozen(2);
        try (VmTemplate template = frozen.template()) {
            awaitPool(template, 2);
            ByteArrayOutputStream serialA = new ByteArrayOutputStream();
            ByteArrayOutputStream serialB = new ByteArrayOutputStream();
            try (RunningVm a = template.clone(cloneWith(serialA)); RunningVm b = template.clone(cloneWith(serialB))) {
                assertThat(ramAddress(a)).as("the two clones' RAM").isNotEqualTo(ramAddress(b));
                awaitPool(template, 2);
                await("clone A serial bytes", a::serialOutputBytes, 402);
                await("clone B serial bytes", b::serialOutputBytes, 402);
                a.close();
                b.close();
                assertThat(assertCounts(concat(frozen.serial(), serialA.toByteArray()))).isGreaterThan(frozen.count() + 200);
                assertThat(assertCounts(concat(frozen.serial(), serialB.toByteArray()))).isGreaterThan(frozen.count() + 200);
            }
            assertThat(template.pooledVms()).as("closed clones give nothing back").isEqualTo(2);
        }
    }

    @Test
    void clonesStartedAtOnceNeverShareAPooledVm() throws Exception {
        int clones = 8;
        Frozen frozen = frozen(2);
        ExecutorService starters = Executors.newFixedThreadPool(clones);
        List<RunningVm> started = new ArrayList<>();
        List<ByteArrayOutputStream> serials = new ArrayList<>();
        try (VmTemplate template = frozen.template()) {
            awaitPool(template, 2);
            CountDownLatch go = new CountDownLatch(1);
            List<Future<RunningVm>> futures = new ArrayList<>();
            for (int i = 0; i < clones; i++) {
                ByteArrayOutputStream serial = new ByteArrayOutputStream();
                serials.add(serial);
                futures.add(starters.submit(() -> {
                    go.await();
                    return template.clone(cloneWith(serial));
                }));
            }
            go.countDown();
            for (Future<RunningVm> f : futures) {
                started.add(f.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS));
            }
            assertThat(started.stream().map(VmTemplatePoolTest::ramAddress).distinct().count())
                    .as("distinct guest RAM mappings among %d clones", clones).isEqualTo(clones);
            for (int i = 0; i < clones; i++) {
                await("clone " + i + " serial bytes", started.get(i)::serialOutputBytes, 102);
            }
            for (int i = 0; i < clones; i++) {
                started.get(i).close();
                assertThat(assertCounts(concat(frozen.serial(), serials.get(i).toByteArray())))
                        .as("clone %d's last count", i).isGreaterThan(frozen.count() + 50);
            }
        } finally {
            starters.shutdownNow();
            started.forEach(RunningVm::close);
        }
    }

    @Test
    void aRecycledVmStartsTheNextCloneFromTheTemplatePointWithThePreviousClonesWritesGone() throws Exception {
        Frozen frozen = frozen(1);
        try (VmTemplate template = frozen.template()) {
            awaitPool(template, 1);
            ByteArrayOutputStream serialA = new ByteArrayOutputStream();
            RunningVm a = template.clone(cloneWith(serialA));
            long ramOfA = ramAddress(a);
            try {
                await("clone A serial bytes", a::serialOutputBytes, 1_000);
                assertThat(template.recycle(a)).as("a running clone, stopped and recycled").isTrue();
            } finally {
                a.close();
            }
            assertThat(a.isAlive()).isFalse();
            assertThat(a.isReleased()).isTrue();
            assertThat(a.residentGuestBytes()).as("a recycled clone's RAM is no longer its own").isZero();
            int writtenByA = serialA.size();
            awaitPool(template, 2);

            ByteArrayOutputStream serialB = new ByteArrayOutputStream();
            try (RunningVm b = template.clone(cloneWith(serialB))) {
                assertThat(ramAddress(b)).as("the next clone runs on the recycled VM").isEqualTo(ramOfA);
                await("clone B serial bytes", b::serialOutputBytes, 402);
                b.close();
            }
            assertThat(serialA.size()).as("the recycled clone writes no more").isEqualTo(writtenByA);
            assertThat(assertCounts(concat(frozen.serial(), serialA.toByteArray()))).isGreaterThan(frozen.count() + 400);
            assertThat(assertCounts(concat(frozen.serial(), serialB.toByteArray())))
                    .as("clone B counts on from the template's count, not from A's").isGreaterThan(frozen.count() + 200);
        }
    }

    @Test
    void aVmIsNotKeptWhereItCannotBe() throws Exception {
        Frozen withoutPool = frozen(0);
        Frozen withPool = frozen(1);
        try (VmTemplate none = withoutPool.template(); VmTemplate one = withPool.template()) {
            RunningVm unpooled = none.clone(cloneWith(OutputStream.nullOutputStream()));
            await("unpooled clone serial bytes", unpooled::serialOutputBytes, 2);
            assertThat(none.recycle(unpooled)).as("a template without a pool").isFalse();
            assertThat(unpooled.isReleased()).isTrue();
            assertThat(none.pooledVms()).isZero();

            try (RunningVm other = one.clone(cloneWith(OutputStream.nullOutputStream()))) {
                assertThatThrownBy(() -> none.recycle(other)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("not a clone of this");
                assertThat(other.isAlive()).as("a clone given to the wrong template is left running").isTrue();
                other.close();
                assertThat(one.recycle(other)).as("a clone closed before").isFalse();
            }
            awaitPool(one, 1);

            RunningVm late = one.clone(cloneWith(OutputStream.nullOutputStream()));
            one.close();
            assertThat(one.recycle(late)).as("a clone of a closed template").isFalse();
            assertThat(late.isReleased()).isTrue();
        }
    }

    @Test
    void closingTheTemplateStopsItsPoolAndLeavesItsClonesRunning() throws Exception {
        Set<String> poolThreadsBefore = poolThreadNames();
        Frozen frozen = frozen(2);
        VmTemplate template = frozen.template();
        RunningVm clone = null;
        try {
            awaitPool(template, 2);
            Set<String> poolThreadsOfTemplate = new HashSet<>(poolThreadNames());
            poolThreadsOfTemplate.removeAll(poolThreadsBefore);
            assertThat(poolThreadsOfTemplate).as("the template's pool thread").hasSize(1);
            ByteArrayOutputStream serial = new ByteArrayOutputStream();
            clone = template.clone(cloneWith(serial));
            await("clone serial bytes", clone::serialOutputBytes, 2);

            template.close();
            awaitTrue("the pool thread " + poolThreadsOfTemplate + " ended",
                    () -> poolThreadNames().stream().noneMatch(poolThreadsOfTemplate::contains));
            long before = clone.serialOutputBytes();
            await("clone serial bytes after the template closed", clone::serialOutputBytes, before + 402);
            assertThat(clone.isAlive()).isTrue();
            assertThatThrownBy(() -> template.clone(cloneWith(OutputStream.nullOutputStream())))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            clone.close();
            assertThat(assertCounts(concat(frozen.serial(), serial.toByteArray()))).isGreaterThan(frozen.count() + 200);
        } finally {
            template.close();
            if (clone != null) {
                clone.close();
            }
        }
    }

    @Test
    void aThousandClonesComeAndGoLeavingNoFdMappingOrThread() throws Exception {
        Frozen frozen = frozen(VmTemplate.DEFAULT_POOL_SIZE);
        try (VmTemplate template = frozen.template()) {
            for (int i = 0; i < 3; i++) { // classes, the kick signal, JNA: what stays for good
                try (RunningVm clone = template.clone(cloneWith(OutputStream.nullOutputStream()))) {
                    await("warm-up clone serial bytes", clone::serialOutputBytes, 2);
                }
            }
            awaitPool(template, VmTemplate.DEFAULT_POOL_SIZE);
            Footprint before = Footprint.now();
            for (int i = 0; i < CYCLES; i++) {
                try (RunningVm clone = template.clone(cloneWith(OutputStream.nullOutputStream()))) {
                    await("clone " + i + " serial bytes", clone::serialOutputBytes, 2);
                }
            }
            awaitPool(template, VmTemplate.DEFAULT_POOL_SIZE);
            before.assertNothingLeftBeyond("after " + CYCLES + " clones closed");
        }
    }

    @Test
    void aThousandClonesOnRecycledVmsLeaveNoFdMappingOrThread() throws Exception {
        Frozen frozen = frozen(VmTemplate.DEFAULT_POOL_SIZE);
        try (VmTemplate template = frozen.template()) {
            RunningVm clone = template.clone(cloneWith(OutputStream.nullOutputStream()));
            try {
                for (int i = 0; i < 3; i++) {
                    await("warm-up clone serial bytes", clone::serialOutputBytes, 2);
                    assertThat(template.recycle(clone)).isTrue();
                    clone = template.clone(cloneWith(OutputStream.nullOutputStream()));
                }
                await("warm-up clone serial bytes", clone::serialOutputBytes, 2);
                assertThat(template.recycle(clone)).isTrue();
                awaitPool(template, VmTemplate.DEFAULT_POOL_SIZE + 1); // the made ones and the one returned
                Footprint before = Footprint.now();
                long ramOfRecycled = -1;
                for (int i = 0; i < CYCLES; i++) {
                    clone = template.clone(cloneWith(OutputStream.nullOutputStream()));
                    if (i > 0) {
                        assertThat(ramAddress(clone)).as("clone %d's VM", i).isEqualTo(ramOfRecycled);
                    }
                    ramOfRecycled = ramAddress(clone);
                    await("clone " + i + " serial bytes", clone::serialOutputBytes, 2);
                    assertThat(template.recycle(clone)).as("clone %d recycled", i).isTrue();
                }
                awaitPool(template, VmTemplate.DEFAULT_POOL_SIZE + 1);
                before.assertNothingLeftBeyond("after " + CYCLES + " clones recycled");
            } finally {
                clone.close();
            }
        }
    }

    /** Not an assertion: how long {@link VmTemplate#clone} takes with and without a ready VM, for the log. */
    @Test
    void cloneTimesFromThePoolWithoutAPoolAndOnARecycledVmAreLogged() throws Exception {
        Frozen pooled = frozen(VmTemplate.DEFAULT_POOL_SIZE);
        Frozen unpooled = frozen(0);
        try (VmTemplate withPool = pooled.template(); VmTemplate withoutPool = unpooled.template()) {
            long[] fromPool = new long[TIMED_CLONES];
            long[] withoutAPool = new long[TIMED_CLONES];
            long[] onRecycled = new long[TIMED_CLONES];
            long[] recycling = new long[TIMED_CLONES];
            for (int i = -3; i < TIMED_CLONES; i++) { // three warm-up rounds
                awaitPool(withPool, VmTemplate.DEFAULT_POOL_SIZE);
                long t0 = System.nanoTime();
                RunningVm a = withPool.clone(cloneWith(OutputStream.nullOutputStream()));
                long t1 = System.nanoTime();
                RunningVm b = withoutPool.clone(cloneWith(OutputStream.nullOutputStream()));
                long t2 = System.nanoTime();
                try {
                    await("pooled clone serial bytes", a::serialOutputBytes, 2);
                    await("unpooled clone serial bytes", b::serialOutputBytes, 2);
                    long t3 = System.nanoTime();
                    boolean kept = withPool.recycle(a);
                    long t4 = System.nanoTime();
                    assertThat(kept).isTrue();
                    a = withPool.clone(cloneWith(OutputStream.nullOutputStream()));
                    long t5 = System.nanoTime();
                    await("clone on a recycled VM serial bytes", a::serialOutputBytes, 2);
                    if (i >= 0) {
                        fromPool[i] = t1 - t0;
                        withoutAPool[i] = t2 - t1;
                        recycling[i] = t4 - t3;
                        onRecycled[i] = t5 - t4;
                    }
                } finally {
                    a.close();
                    b.close();
                }
            }
            System.out.printf("[VmTemplatePoolTest] clone, median of %d, in µs: from the pool %d, without a pool %d, "
                            + "on a recycled VM %d (the recycle itself %d)%n", TIMED_CLONES, medianMicros(fromPool),
                    medianMicros(withoutAPool), medianMicros(onRecycled), medianMicros(recycling));
        }
    }

    private static long medianMicros(long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2] / 1_000;
    }
}
