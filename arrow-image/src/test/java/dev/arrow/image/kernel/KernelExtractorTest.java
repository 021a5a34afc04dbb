package dev.arrow.image.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: extracting the packaged kernel (a small fake one): hash, races, unusable directories, damage. */
class KernelExtractorTest {
    private static final int SIZE = 300_000;

    @TempDir
    Path tmp;
    FakeKernelArtifact fake;

    @BeforeEach
    void fakeArtifact() throws IOException {
        fake = FakeKernelArtifact.create(tmp.resolve("classes"), SIZE);
    }

    private static KernelExtractor extractor(Path... dirs) {
        return new KernelExtractor(List.of(dirs));
    }

    private static List<Path> leftovers(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".part")).toList();
        }
    }

    @Test
    void extractsTheVmlinuxUnderItsHashAndReusesIt() throws IOException {
        Path dir = tmp.resolve("cache");
        Path vmlinux = extractor(dir).extract(fake.artifact());
        assertThat(vmlinux).isEqualTo(dir.resolve("vmlinux-" + FakeKernelArtifact.sha256(fake.vmlinux)));
        assertThat(Files.readAllBytes(vmlinux)).isEqualTo(fake.vmlinux);
        Object inode = Files.readAttributes(vmlinux, "unix:ino").get("ino");
        // another JVM (a new extractor) finds it whole and keeps the file
        assertThat(extractor(dir).extract(fake.artifact())).isEqualTo(vmlinux);
        assertThat(Files.readAttributes(vmlinux, "unix:ino").get("ino")).isEqualTo(inode);
        assertThat(leftovers(dir)).isEmpty();
    }

    @Test
    void aTruncatedExtractionIsReplacedNotBooted() throws IOException {
        Path dir = tmp.resolve("cache");
        Path vmlinux = extractor(dir).extract(fake.artifact());
        Files.write(vmlinux, java.util.Arrays.copyOf(fake.vmlinux, SIZE / 2)); // e.g. a full disk, by hand
        assertThat(extractor(dir).extract(fake.artifact())).isEqualTo(vmlinux);
        assertThat(Files.readAllBytes(vmlinux)).isEqualTo(fake.vmlinux);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void twoExtractorsRacingInOneDirectoryBothGetTheWholeKernel() throws Exception {
        Path dir = tmp.resolve("cache");
        int rounds = 20;
        CyclicBarrier barrier = new CyclicBarrier(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<List<Path>>> results = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                results.add(pool.submit(() -> {
                    List<Path> paths = new ArrayList<>();
                    for (int i = 0; i < rounds; i++) {
                        barrier.await(); // both start each round together, on a directory without the kernel
                        paths.add(extractor(dir).extract(fake.artifact()));
                        barrier.await();
                        Files.deleteIfExists(dir.resolve("vmlinux-" + fake.artifact().sha256()));
                    }
                    return paths;
                }));
            }
            for (Future<List<Path>> r : results) {
                assertThat(r.get()).hasSize(rounds).containsOnly(dir.resolve("vmlinux-" + fake.artifact().sha256()));
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(extractor(dir).extract(fake.artifact())).content(StandardCharsets.ISO_8859_1)
                .isEqualTo(new String(fake.vmlinux, StandardCharsets.ISO_8859_1));
        assertThat(leftovers(dir)).isEmpty();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void twoJvmsRacingInOneDirectoryBothGetTheWholeKernel() throws Exception {
        Path dir = tmp.resolve("cache");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<Process> processes = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            processes.add(new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                    KernelExtractorRaceMain.class.getName(), dir.toString(), fake.index().toString(), "10")
                    .redirectErrorStream(true).start());
        }
        Path expected = dir.resolve("vmlinux-" + fake.artifact().sha256());
        for (Process p : processes) {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(out).isZero();
            assertThat(out).contains(expected.toString());
        }
        assertThat(Files.readAllBytes(expected)).isEqualTo(fake.vmlinux);
        assertThat(leftovers(dir)).isEmpty();
    }

    @Test
    void aDirectoryThatCannotBeCreatedFallsBackToTheNext() throws IOException {
        Path blocked = Files.writeString(tmp.resolve("not-a-directory"), "a file where the cache should be");
        Path next = tmp.resolve("system");
        Path vmlinux = extractor(blocked.resolve("packaged"), next).extract(fake.artifact());
        assertThat(vmlinux.getParent()).isEqualTo(next);
        assertThat(Files.readAllBytes(vmlinux)).isEqualTo(fake.vmlinux);
    }

    @Test
    void aReadOnlyDirectoryFallsBackToTheNext() throws IOException {
        assumeFalse("root".equals(System.getProperty("user.name")), "root writes into read-only directories");
        Path readOnly = Files.createDirectories(tmp.resolve("home-cache"));
        Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            Path vmlinux = extractor(readOnly, tmp.resolve("tmp-cache")).extract(fake.artifact());
            assertThat(vmlinux.getParent()).isEqualTo(tmp.resolve("tmp-cache"));
        } finally {
            Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void aDirectoryOtherUsersMayWriteIsSkipped() throws IOException {
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path vmlinux = extractor(shared, tmp.resolve("private")).extract(fake.artifact());
        assertThat(vmlinux.getParent()).isEqualTo(tmp.resolve("private"));
        assertThat(leftovers(shared)).isEmpty();
    }

    @Test
    void whenNoDirectoryTakesItEachIsNamedWithWhy() throws IOException {
        Path blocked = Files.writeString(tmp.resolve("file"), "x");
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> extractor(blocked.resolve("a"), shared).extract(fake.artifact()))
                .isInstanceOf(KernelLookupException.class)
                .hasMessageStartingWith("cannot extract the packaged kernel")
                .hasMessageContaining(blocked.resolve("a").toString(), shared + " (java.io.IOException: writable by other users",
                        "set ARROW_CACHE to a writable directory", ".kernel(path)");
    }

    @Test
    void aVmlinuxWhoseHashIsNotTheIndexsIsACorruptArtifact() throws IOException {
        String wrong = FakeKernelArtifact.sha256(new byte[] {1});
        fake.writeIndex(wrong, SIZE);
        Path dir = tmp.resolve("cache");
        assertThatThrownBy(() -> extractor(dir, tmp.resolve("other")).extract(fake.artifact()))
                .isInstanceOf(KernelLookupException.class)
                .hasMessageContaining("vmlinux.gz is corrupt: its vmlinux has SHA-256 " + FakeKernelArtifact.sha256(fake.vmlinux)
                        + ", its index gives " + wrong)
                .hasMessageContaining("the dev.arrow:arrow-kernel jar is damaged: rebuild or re-download it");
        assertThat(dir).isEmptyDirectory(); // nothing half-written, and no other directory tried
        assertThat(tmp.resolve("other")).doesNotExist();
    }

    @Test
    void aVmlinuxThatDoesNotDecompressIsACorruptArtifact() throws IOException {
        byte[] gz = Files.readAllBytes(fake.image());
        Files.write(fake.image(), java.util.Arrays.copyOf(gz, gz.length / 2)); // truncated download
        assertThatThrownBy(() -> extractor(tmp.resolve("cache")).extract(fake.artifact()))
                .isInstanceOf(KernelLookupException.class)
                .hasMessageContaining("is corrupt: its vmlinux does not decompress");
        Files.writeString(fake.image(), "not gzip at all");
        assertThatThrownBy(() -> extractor(tmp.resolve("cache")).extract(fake.artifact()))
                .isInstanceOf(KernelLookupException.class).hasMessageContaining("is corrupt");
        assertThat(tmp.resolve("cache")).isEmptyDirectory();
    }

    @Test
    void aVmlinuxOfAnotherSizeThanTheIndexsIsACorruptArtifact() throws IOException {
        fake.writeIndex(FakeKernelArtifact.sha256(fake.vmlinux), SIZE + 1);
        assertThatThrownBy(() -> extractor(tmp.resolve("cache")).extract(fake.artifact()))
                .hasMessageContaining("its vmlinux has " + SIZE + " bytes, its index gives " + (SIZE + 1));
        fake.writeIndex(FakeKernelArtifact.sha256(fake.vmlinux), SIZE - 1);
        assertThatThrownBy(() -> extractor(tmp.resolve("cache")).extract(fake.artifact()))
                .hasMessageContaining("its vmlinux has more than the " + (SIZE - 1) + " bytes its index gives");
    }

    @Test
    void aMissingImageIsACorruptArtifact() throws IOException {
        Files.delete(fake.image());
        assertThatThrownBy(() -> extractor(tmp.resolve("cache")).extract(fake.artifact()))
                .isInstanceOf(KernelLookupException.class).hasMessageContaining("is corrupt: cannot open its vmlinux");
    }

    @Test
    void theDefaultDirectoriesArePerUserThenSystemWideThenTemporary() {
        assertThat(KernelExtractor.defaultDirectories(java.util.Map.<String, String>of()::get, Path.of("/home/u"), Path.of("/tmp"), "svc"))
                .containsExactly(Path.of("/home/u/.cache/arrow/kernel/packaged"), Path.of("/var/cache/arrow/kernel/packaged"),
                        Path.of("/tmp/arrow-svc/kernel/packaged"));
    }
}
