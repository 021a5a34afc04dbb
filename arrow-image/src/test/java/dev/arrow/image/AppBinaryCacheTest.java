package dev.arrow.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.image.elf.BinaryCheckException;
import dev.arrow.image.mapped.ImageCache;
import dev.arrow.testing.ElfWriter;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppBinaryCacheTest {
    private static final long COPY_ALL = -1;
    /** A clock an hour ahead: every file written by a test has settled by it. */
    private static final Clock LATER = Clock.offset(Clock.systemUTC(), Duration.ofHours(1));

    @TempDir
    Path tmp;

    private AppBinaryCache cache(Clock clock, int maxEntries, long maxBytes, long maxContentBytes) {
        return new AppBinaryCache(() -> new ImageCache(tmp.resolve("images")), clock, maxEntries, maxBytes, maxContentBytes);
    }

    private AppBinaryCache cache() {
        return cache(LATER, 16, 1 << 20, 1 << 20);
    }

    /** A static x86-64 program of {@code size} bytes whose padding is {@code fill}. */
    private Path program(String name, int size, byte fill) throws IOException {
        byte[] padding = new byte[size];
        java.util.Arrays.fill(padding, fill);
        byte[] bytes = ElfWriter.executable().entry(0x401000).segment(1, 0, 0x400000, 120, 120)
                .contents(padding).bytes();
        Path p = tmp.resolve(name);
        Files.write(p, java.util.Arrays.copyOf(bytes, size));
        return p;
    }

    private static void assertPreparedAgainWithItsNewContent(AppBinaryCache cache, Path app, PreparedBinary first)
            throws IOException {
        PreparedBinary second = cache.prepare(app, COPY_ALL);
        assertThat(cache.preparations()).isEqualTo(2);
        assertThat(content(second)).isEqualTo(Files.readAllBytes(app)).isNotEqualTo(content(first));
    }

    private static byte[] content(PreparedBinary p) {
        return p.content().orElseThrow().toByteArray();
    }

    @Test
    void aSecondStartOfTheSameFileIsServedFromTheCache() throws IOException {
        AppBinaryCache cache = cache();
        Path app = program("app", 4096, (byte) 1);
        PreparedBinary first = cache.prepare(app, COPY_ALL);
        PreparedBinary second = cache.prepare(app, COPY_ALL);
        assertThat(second).isSameAs(first);
        assertThat(cache.preparations()).isEqualTo(1);
        assertThat(content(first)).isEqualTo(Files.readAllBytes(app));
        assertThat(first.binary().size()).isEqualTo(4096);
    }

    @Test
    void aRewrittenFileIsPreparedAgainWithItsNewContent() throws IOException {
        AppBinaryCache cache = cache();
        Path app = program("app", 4096, (byte) 1);
        PreparedBinary first = cache.prepare(app, COPY_ALL);
        program("app", 8192, (byte) 2);
        assertPreparedAgainWithItsNewContent(cache, app, first);
    }

    @Test
    void aFileChangedInPlaceWithItsSizeAndMtimeRestoredIsPreparedAgain() throws IOException {
        AppBinaryCache cache = cache();
        Path app = program("app", 4096, (byte) 1);
        FileTime mtime = Files.getLastModifiedTime(app);
        PreparedBinary first = cache.prepare(app, COPY_ALL);
        try (RandomAccessFile f = new RandomAccessFile(app.toFile(), "rw")) { // same inode, same size
            f.seek(4000);
            f.write(new byte[] {9, 9, 9, 9});
        }
        Files.setLastModifiedTime(app, mtime); // the ctime moves on: no one can set it back
        assertThat(Files.size(app)).isEqualTo(4096);
        assertPreparedAgainWithItsNewContent(cache, app, first);
    }

    @Test
    void aFileReplacedByRenameIsPreparedAgain() throws IOException {
        AppBinaryCache cache = cache();
        Path app = program("app", 4096, (byte) 1);
        PreparedBinary first = cache.prepare(app, COPY_ALL);
        Path next = program("next", 4096, (byte) 3);
        Files.move(next, app, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertPreparedAgainWithItsNewContent(cache, app, first);
    }

    @Test
    void aFileNotYetSettledIsPreparedForEachStartAndNotKept() throws IOException {
        AppBinaryCache cache = cache(Clock.systemUTC(), 16, 1 << 20, 1 << 20); // the file was written just now
        Path app = program("app", 4096, (byte) 1);
        cache.prepare(app, COPY_ALL);
        cache.prepare(app, COPY_ALL);
        assertThat(cache.preparations()).isEqualTo(2);
        assertThat(cache.size()).isZero();
    }

    @Test
    void aFailedPreparationLeavesNothingAndTheNextStartTriesAgain() throws IOException {
        AppBinaryCache cache = cache();
        Path app = tmp.resolve("app");
        Files.writeString(app, "#!/bin/sh\necho hi\n");
        assertThatThrownBy(() -> cache.prepare(app, COPY_ALL)).isInstanceOf(BinaryCheckException.class).hasMessageContaining("script");
        assertThat(cache.size()).isZero();
        program("app", 4096, (byte) 1);
        assertThat(content(cache.prepare(app, COPY_ALL))).isEqualTo(Files.readAllBytes(app));
    }

    @Test
    void concurrentStartsOfOneBinaryPrepareItOnce() throws Exception {
        AppBinaryCache cache = cache();
        Path app = program("app", 256 << 10, (byte) 1);
        int starts = 8;
        ExecutorService pool = Executors.newFixedThreadPool(starts);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<PreparedBinary>> results = new ArrayList<>();
            for (int i = 0; i < starts; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    return cache.prepare(app, COPY_ALL);
                }));
            }
            go.countDown();
            PreparedBinary first = results.get(0).get();
            for (Future<PreparedBinary> r : results) assertThat(r.get()).isSameAs(first);
        } finally {
            pool.shutdownNow();
        }
        assertThat(cache.preparations()).isEqualTo(1);
    }

    @Test
    void theLeastRecentlyUsedEntryGoesWhenTheEntriesAreOverTheirCount() throws IOException {
        AppBinaryCache cache = cache(LATER, 2, 1 << 20, 1 << 20);
        Path a = program("a", 4096, (byte) 1), b = program("b", 4096, (byte) 2), c = program("c", 4096, (byte) 3);
        cache.prepare(a, COPY_ALL);
        cache.prepare(b, COPY_ALL);
        cache.prepare(a, COPY_ALL); // b is now the least recently used
        cache.prepare(c, COPY_ALL);
        assertThat(cache.size()).isEqualTo(2);
        long before = cache.preparations();
        cache.prepare(a, COPY_ALL);
        assertThat(cache.preparations()).isEqualTo(before);
        cache.prepare(b, COPY_ALL);
        assertThat(cache.preparations()).isEqualTo(before + 1);
    }

    @Test
    void heldBytesStayWithinTheirCapAndALargerBinaryIsNotHeld() throws IOException {
        AppBinaryCache cache = cache(LATER, 16, 10_000, 6_000);
        Path a = program("a", 4096, (byte) 1), b = program("b", 4096, (byte) 2), big = program("big", 8192, (byte) 3);
        cache.prepare(a, COPY_ALL);
        cache.prepare(b, COPY_ALL); // 8192 bytes held
        cache.prepare(a, COPY_ALL);
        assertThat(cache.heldBytes()).isEqualTo(8192);
        PreparedBinary large = cache.prepare(big, COPY_ALL);
        assertThat(large.content()).isEmpty(); // read from its file at each start
        assertThat(cache.heldBytes()).isEqualTo(8192);
        Path c = program("c", 4096, (byte) 4);
        cache.prepare(c, COPY_ALL); // over 10,000: b, the least recently used holder, goes
        assertThat(cache.heldBytes()).isEqualTo(8192).isLessThanOrEqualTo(10_000);
        long before = cache.preparations();
        cache.prepare(b, COPY_ALL);
        assertThat(cache.preparations()).isEqualTo(before + 1);
    }

    @Test
    void aBinaryOfTheLoadersSizeIsPreparedWithItsImageAndNoBytes() throws IOException {
        AppBinaryCache cache = cache();
        Path app = program("app", 64 << 10, (byte) 1);
        PreparedBinary mapped = cache.prepare(app, 4096);
        assertThat(mapped.image()).isPresent();
        assertThat(mapped.content()).isEmpty();
        assertThat(mapped.image().get().path()).exists();
        assertThat(cache.prepare(app, 4096)).isSameAs(mapped);
        assertThat(cache.prepare(app, COPY_ALL).content()).isPresent(); // another threshold, another entry
        assertThat(cache.preparations()).isEqualTo(2);
    }

    @Test
    void anInitramfsWithTheHeldBytesIsTheOneReadingTheFile() throws IOException {
        AppBinaryCache cache = cache();
        Path app = program("app", 4096, (byte) 1);
        dev.arrow.config.ArrowSpec spec = dev.arrow.config.ArrowSpec.builder(app).args("x").build();
        ImageCache images = new ImageCache(tmp.resolve("images"));
        LoaderPlan held = LoaderPlan.of(spec, cache.prepare(app, 1 << 20), images, 1 << 20);
        LoaderPlan read = LoaderPlan.of(spec, images, 1 << 20);
        assertThat(held.binaryContent()).isPresent();
        assertThat(read.binaryContent()).isEmpty();
        byte[] fromHeld = GuestImage.of(spec, app, GuestImage.initramfs(spec, dev.arrow.image.init.Stdio.VIRTIO,
                java.util.Optional.empty(), held)).initramfsBytes();
        byte[] fromFile = GuestImage.of(spec, app, GuestImage.initramfs(spec, dev.arrow.image.init.Stdio.VIRTIO,
                java.util.Optional.empty(), read)).initramfsBytes();
        assertThat(fromHeld).isEqualTo(fromFile);
    }
}
