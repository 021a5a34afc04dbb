package dev.arrow.kvm.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kernels loaded once per cache and shared by the guests that boot them (tier 1: memfd, no /dev/kvm). */
class KernelCacheTest {
    private static final long RAM = 64 * Layout.MiB;
    private static final GuestAddress TEXT = GuestAddress.of(0x100_0000);

    @TempDir
    Path dir;

    private Path kernel(String name, int fill) throws IOException {
        TestImages.Elf e = TestImages.Elf.typical();
        e.fills.set(0, new long[] {0x1000, 0x3000, fill});
        return Files.write(dir.resolve(name), e.build());
    }

    @Test
    void aKernelIsReadOnceForEveryGuestThatBootsIt() throws IOException {
        Path image = kernel("vmlinux", 0x11);
        try (KernelCache cache = new KernelCache(4)) {
            for (int i = 0; i < 3; i++) {
                try (MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
                    LoadedKernel k = cache.loadInto(image, m);
                    assertThat(k.entryAddress()).isEqualTo(0x100_0000);
                    assertThat(m.readByte(TEXT)).isEqualTo((byte) 0x11);
                }
            }
            assertThat(cache.loads()).isEqualTo(1);
        }
    }

    @Test
    void aKernelIsCopiedIntoRamInAMemoryFileWhichTakesNoOverlay() throws IOException {
        Path image = kernel("vmlinux", 0x22);
        try (KernelCache cache = new KernelCache(4); MmapGuestMemory m = MmapGuestMemory.sharedForRam(RAM, "kernel-cache-test")) {
            cache.loadInto(image, m);
            assertThat(m.readByte(TEXT)).isEqualTo((byte) 0x22);
            assertThat(cache.loads()).as("no snapshot made: a template's clones map only its memory file").isZero();
            try (MmapGuestMemory copy = m.mapPrivateCopy()) {
                assertThat(copy.readByte(TEXT)).as("the kernel is in the file a clone maps").isEqualTo((byte) 0x22);
            }
        }
    }

    @Test
    void aKernelRebuiltAtTheSamePathIsLoadedAfresh() throws IOException {
        Path image = kernel("vmlinux", 0x11);
        try (KernelCache cache = new KernelCache(4); MmapGuestMemory first = MmapGuestMemory.forRam(RAM)) {
            cache.loadInto(image, first);
            kernel("vmlinux", 0x33);
            Files.setLastModifiedTime(image, FileTime.from(Instant.now().plusSeconds(5)));
            try (MmapGuestMemory second = MmapGuestMemory.forRam(RAM)) {
                cache.loadInto(image, second);
                assertThat(second.readByte(TEXT)).isEqualTo((byte) 0x33);
            }
            assertThat(first.readByte(TEXT)).as("the guest that booted the old kernel keeps it").isEqualTo((byte) 0x11);
            assertThat(cache.loads()).isEqualTo(2);
        }
    }

    @Test
    void theLeastRecentlyBootedKernelIsDroppedFirstAndItsGuestsKeepIt() throws IOException {
        Path a = kernel("a", 0x0a);
        Path b = kernel("b", 0x0b);
        try (KernelCache cache = new KernelCache(1); MmapGuestMemory withA = MmapGuestMemory.forRam(RAM)) {
            cache.loadInto(a, withA);
            try (MmapGuestMemory withB = MmapGuestMemory.forRam(RAM)) {
                cache.loadInto(b, withB);
                assertThat(withB.readByte(TEXT)).isEqualTo((byte) 0x0b);
            }
            assertThat(cache.size()).isEqualTo(1);
            assertThat(withA.readByte(TEXT)).isEqualTo((byte) 0x0a);
            try (MmapGuestMemory again = MmapGuestMemory.forRam(RAM)) {
                cache.loadInto(a, again);
                assertThat(again.readByte(TEXT)).isEqualTo((byte) 0x0a);
            }
            assertThat(cache.loads()).isEqualTo(3);
        }
    }

    @Test
    void bzImagesAreCopiedIntoEachGuest() throws IOException {
        Path image = Files.write(dir.resolve("bzImage"), new TestImages.BzImage().build());
        try (KernelCache cache = new KernelCache(4); MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
            assertThat(cache.loadInto(image, m).kind()).isEqualTo(LoadedKernel.Kind.BZIMAGE);
            assertThat(m.residentBytes()).as("copied, so the guest's own pages").isPositive();
        }
    }

    @Test
    void missingAndMalformedKernelsFailAsTheLoaderSaysAndAreNotRemembered() throws IOException {
        Path missing = dir.resolve("missing");
        Path text = Files.writeString(dir.resolve("text"), "hello");
        try (KernelCache cache = new KernelCache(4); MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
            assertThatThrownBy(() -> cache.loadInto(missing, m)).isInstanceOf(KernelLoadException.class)
                    .hasMessage("kernel image " + missing + ": file not found");
            assertThatThrownBy(() -> cache.loadInto(text, m)).isInstanceOf(KernelLoadException.class)
                    .hasMessageContaining("not a kernel image");
            assertThat(cache.size()).isZero();
        }
    }

    @Test
    void guestsStartingTogetherShareOneLoad() throws Exception {
        Path image = kernel("vmlinux", 0x11);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (KernelCache cache = new KernelCache(4)) {
            List<Callable<Byte>> boots = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                boots.add(() -> {
                    try (MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
                        cache.loadInto(image, m);
                        return m.readByte(TEXT);
                    }
                });
            }
            for (Future<Byte> f : pool.invokeAll(boots)) {
                assertThat(f.get()).isEqualTo((byte) 0x11);
            }
            assertThat(cache.loads()).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }
}
