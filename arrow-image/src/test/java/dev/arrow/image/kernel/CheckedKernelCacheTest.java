package dev.arrow.image.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: kernels looked up and checked once per version of their file, and again when it changes. */
class CheckedKernelCacheTest {
    /** A clock an hour ahead: every file written by a test has settled by it. */
    private static final Clock LATER = Clock.offset(Clock.systemUTC(), Duration.ofHours(1));

    @TempDir
    Path tmp;
    final Map<String, String> props = new HashMap<>();

    private KernelLocator locator() {
        return new KernelLocator(props::get, name -> null, tmp.resolve("cache"), Optional::empty,
                new KernelExtractor(List.of(tmp.resolve("extracted"))));
    }

    private static byte[] vmlinux() {
        return KernelFormatTest.elfHeader(2, 62);
    }

    private static byte[] bzImage() {
        byte[] image = new byte[0x400];
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putInt(0x202, 0x53726448);
        return image;
    }

    private Path file(String name, byte[] bytes) throws IOException {
        Path p = tmp.resolve(name);
        Files.createDirectories(p.getParent());
        return Files.write(p, bytes);
    }

    @Test
    void theSameKernelFileIsReadOnce() throws IOException {
        CheckedKernelCache cache = new CheckedKernelCache(LATER, 8);
        Path k = file("vmlinux", vmlinux());
        assertThat(cache.check(k)).isEqualTo(KernelFormat.Kind.ELF_VMLINUX);
        assertThat(cache.check(k)).isEqualTo(KernelFormat.Kind.ELF_VMLINUX);
        assertThat(cache.userSupplied(k)).isEqualTo(new GuestKernel(k, GuestKernel.Source.USER));
        assertThat(cache.reads()).isEqualTo(1);
    }

    @Test
    void aRewrittenKernelIsReadAgain() throws IOException {
        CheckedKernelCache cache = new CheckedKernelCache(LATER, 8);
        Path k = file("kernel", vmlinux());
        cache.check(k);
        file("kernel", bzImage());
        assertThat(cache.check(k)).isEqualTo(KernelFormat.Kind.BZIMAGE);
        assertThat(cache.reads()).isEqualTo(2);
    }

    @Test
    void aKernelChangedInPlaceWithItsSizeAndMtimeRestoredIsReadAgain() throws IOException {
        CheckedKernelCache cache = new CheckedKernelCache(LATER, 8);
        byte[] elf = vmlinux();
        Path k = file("vmlinux", elf);
        FileTime mtime = Files.getLastModifiedTime(k);
        cache.check(k);
        byte[] arm = KernelFormatTest.elfHeader(2, 183);
        assertThat(arm).hasSameSizeAs(elf);
        Files.write(k, arm);
        Files.setLastModifiedTime(k, mtime); // the ctime still moves
        assertThatThrownBy(() -> cache.check(k)).isInstanceOf(KernelFormatException.class).hasMessageContaining("machine 183");
        assertThat(cache.reads()).isEqualTo(2);
    }

    @Test
    void aKernelWrittenJustNowIsReadAtEachStartUntilItSettles() throws IOException {
        CheckedKernelCache cache = new CheckedKernelCache(Clock.systemUTC(), 8);
        Path k = file("vmlinux", vmlinux());
        cache.check(k);
        cache.check(k);
        assertThat(cache.reads()).isEqualTo(2);
    }

    @Test
    void aBadKernelFailsAtEachStartWithItsErrorUntilItIsFixed() throws IOException {
        CheckedKernelCache cache = new CheckedKernelCache(LATER, 8);
        Path k = file("kernel", "not a kernel at all".getBytes());
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> cache.userSupplied(k)).isInstanceOf(KernelFormatException.class)
                    .hasMessageContaining("is not a Linux kernel image");
        }
        file("kernel", vmlinux());
        assertThat(cache.userSupplied(k).path()).isEqualTo(k);
        assertThat(cache.reads()).isEqualTo(3);
    }

    @Test
    void aMissingUserKernelSaysSoAsTheLocatorDoes() {
        CheckedKernelCache cache = new CheckedKernelCache(LATER, 8);
        Path missing = tmp.resolve("none");
        assertThatThrownBy(() -> cache.userSupplied(missing)).isInstanceOf(KernelLookupException.class)
                .hasMessage("the kernel passed with .kernel(path) names " + missing + ", which does not exist: pass an"
                        + " existing kernel image (vmlinux)");
    }

    @Test
    void theDefaultKernelIsLookedUpOncePerChoiceAndVersion() throws IOException {
        CheckedKernelCache cache = new CheckedKernelCache(LATER, 8);
        Path first = file("a/vmlinux", vmlinux());
        Path second = file("b/vmlinux", vmlinux());
        props.put(KernelLocator.PROPERTY, first.toString());
        GuestKernel k = cache.defaultKernel(locator());
        assertThat(cache.defaultKernel(locator())).isEqualTo(k);
        assertThat(k).isEqualTo(new GuestKernel(first, GuestKernel.Source.SYSTEM_PROPERTY));
        assertThat(cache.lookups()).isEqualTo(1);

        props.put(KernelLocator.PROPERTY, second.toString());
        assertThat(cache.defaultKernel(locator()).path()).isEqualTo(second);
        props.put(KernelLocator.PROPERTY, first.toString());
        assertThat(cache.defaultKernel(locator()).path()).isEqualTo(first);
        assertThat(cache.lookups()).isEqualTo(2);

        file("a/vmlinux", bzImage());
        assertThat(cache.defaultKernel(locator()).path()).isEqualTo(first);
        assertThat(cache.lookups()).isEqualTo(3);
        assertThat(cache.reads()).isEqualTo(3);
    }

    @Test
    void aDefaultKernelThatWentAwayIsLookedUpAgainAndNamesTheProblem() throws IOException {
        CheckedKernelCache cache = new CheckedKernelCache(LATER, 8);
        Path k = file("vmlinux", vmlinux());
        props.put(KernelLocator.PROPERTY, k.toString());
        cache.defaultKernel(locator());
        Files.delete(k);
        assertThatThrownBy(() -> cache.defaultKernel(locator())).isInstanceOf(KernelLookupException.class)
                .hasMessageContaining("which does not exist");
    }

    @Test
    void aKernelFromTheBuildCacheIsLookedUpAtEachStartSoThatANewerBuildIsTaken() throws IOException {
        CheckedKernelCache cache = new CheckedKernelCache(LATER, 8);
        Path older = file("cache/kernel/guest-a/vmlinux", vmlinux());
        Files.setLastModifiedTime(older, FileTime.fromMillis(1_000_000_000_000L));
        assertThat(cache.defaultKernel(locator()).path()).isEqualTo(older);
        Path newer = file("cache/kernel/guest-b/vmlinux", vmlinux());
        assertThat(cache.defaultKernel(locator())).isEqualTo(new GuestKernel(newer, GuestKernel.Source.CACHE));
        assertThat(cache.lookups()).isEqualTo(2);
        assertThat(cache.reads()).isEqualTo(2); // each file's header read once
        cache.defaultKernel(locator());
        assertThat(cache.reads()).isEqualTo(2);
    }

    @Test
    void concurrentStartsAllGetTheKernelAndLaterStartsReadNothing() throws Exception {
        CheckedKernelCache cache = new CheckedKernelCache(LATER, 8);
        Path k = file("vmlinux", vmlinux());
        props.put(KernelLocator.PROPERTY, k.toString());
        int threads = 8;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            Callable<GuestKernel> start = () -> {
                go.await();
                return cache.defaultKernel(locator());
            };
            List<Future<GuestKernel>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(start));
            }
            go.countDown();
            for (Future<GuestKernel> r : results) {
                assertThat(r.get()).isEqualTo(new GuestKernel(k, GuestKernel.Source.SYSTEM_PROPERTY));
            }
        } finally {
            pool.shutdownNow();
        }
        long reads = cache.reads();
        assertThat(reads).isBetween(1L, (long) threads);
        cache.defaultKernel(locator());
        cache.userSupplied(k);
        assertThat(cache.reads()).isEqualTo(reads);
    }

    @Test
    void holdsAtMostItsBoundDroppingTheLeastRecentlyUsed() throws IOException {
        CheckedKernelCache cache = new CheckedKernelCache(LATER, 2);
        Path a = file("a", vmlinux());
        Path b = file("b", vmlinux());
        Path c = file("c", vmlinux());
        cache.check(a);
        cache.check(b);
        cache.check(a);
        cache.check(c); // b goes
        assertThat(cache.reads()).isEqualTo(3);
        cache.check(a);
        assertThat(cache.reads()).isEqualTo(3);
        cache.check(b);
        assertThat(cache.reads()).isEqualTo(4);
    }
}
