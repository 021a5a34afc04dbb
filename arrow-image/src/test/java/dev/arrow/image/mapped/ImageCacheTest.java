package dev.arrow.image.mapped;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.image.erofs.ContentId;
import dev.arrow.image.erofs.ErofsUtils;
import dev.arrow.image.erofs.ErofsWriter;
import dev.arrow.image.erofs.ImageEntry;
import dev.arrow.image.erofs.ImageFile;
import dev.arrow.image.erofs.ImageFileException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: the read-only image cache: one image per content, races, changed host files, errors, leftovers. */
class ImageCacheTest {
    private static final int RACE_ROUNDS = 12;

    @TempDir
    Path tmp;

    @BeforeAll
    static void erofsUtils() {
        ErofsUtils.requireInstalled();
    }

    @Test
    void theSameFilesGiveTheSameImageBuiltOnce() throws IOException {
        Path app = Files.write(tmp.resolve("app"), random(3 << 20, 1));
        List<ImageFile> files = List.of(ImageFile.hostFile("0", app, 0755), ImageFile.bytes("1", "data".getBytes(StandardCharsets.UTF_8), 0644));
        Path dir = tmp.resolve("cache/images");

        ReadOnlyImage first = new ImageCache(dir).image(files);
        BasicFileAttributes built = Files.readAttributes(first.path(), BasicFileAttributes.class);
        ReadOnlyImage again = new ImageCache(dir).image(List.of(files.get(1), files.get(0)));
        BasicFileAttributes reused = Files.readAttributes(again.path(), BasicFileAttributes.class);

        assertThat(again).isEqualTo(first);
        assertThat(reused.fileKey()).isEqualTo(built.fileKey());
        assertThat(reused.lastModifiedTime()).isEqualTo(built.lastModifiedTime());
        assertThat(first.path()).isEqualTo(dir.resolve(first.contentId() + ".erofs"));
        assertThat(first.length()).isEqualTo(Files.size(first.path())).isEqualTo(4L << 20);
        assertThat(first.length() % ErofsWriter.LENGTH_ALIGNMENT).isZero();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(first.path()))).isEqualTo("r--r--r--");
        assertThat(first.entries()).containsExactly(
                new ImageEntry("0", 0755, 3 << 20, sha256(Files.readAllBytes(app))),
                new ImageEntry("1", 0644, 4, sha256("data".getBytes(StandardCharsets.UTF_8))));
        assertThat(first.contentId()).isEqualTo(ContentId.of(first.entries()));
        assertThat(ErofsUtils.superblock(first.path())).contains(first.uuid().toString());
        ErofsUtils.fsck(first.path());
        assertThat(leftovers(dir)).isEmpty();
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void eightThreadsAndAnotherJvmBuildingTheSameImagesGetOneWholeImageEach() throws Exception {
        Path app = Files.write(tmp.resolve("app"), random(6 << 20, 2));
        Path dir = tmp.resolve("images");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process other = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                ImageCacheRaceMain.class.getName(), dir.toString(), app.toString(), Integer.toString(RACE_ROUNDS))
                .redirectError(tmp.resolve("other.log").toFile()).start();
        BufferedReader otherOut = new BufferedReader(new InputStreamReader(other.getInputStream(), StandardCharsets.UTF_8));
        assertThat(otherOut.readLine()).isEqualTo("ready");

        int threads = 8;
        ImageCache cache = new ImageCache(dir);
        CyclicBarrier barrier = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<List<ReadOnlyImage>>> results = new ArrayList<>();
        try {
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    List<ReadOnlyImage> images = new ArrayList<>();
                    for (int round = 0; round < RACE_ROUNDS; round++) {
                        barrier.await(60, TimeUnit.SECONDS);
                        ReadOnlyImage image = cache.image(raceRound(round, app));
                        assertThat(Files.size(image.path())).isEqualTo(image.length()); // whole when returned
                        images.add(image);
                    }
                    return images;
                }));
            }
            List<ReadOnlyImage> expected = results.get(0).get(120, TimeUnit.SECONDS);
            for (Future<List<ReadOnlyImage>> r : results) assertThat(r.get(120, TimeUnit.SECONDS)).isEqualTo(expected);
            List<String> otherPaths = new ArrayList<>();
            for (String line; (line = otherOut.readLine()) != null; ) otherPaths.add(line);
            assertThat(other.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(other.exitValue()).as(Files.readString(tmp.resolve("other.log"))).isZero();
            assertThat(otherPaths).containsExactlyElementsOf(expected.stream().map(i -> i.path().toString()).toList());
            for (ReadOnlyImage image : expected) ErofsUtils.fsck(image.path());
            try (Stream<Path> images = Files.list(dir)) {
                assertThat(images.filter(p -> p.toString().endsWith(".erofs"))).hasSize(RACE_ROUNDS);
            }
            assertThat(leftovers(dir)).isEmpty();
        } finally {
            pool.shutdownNow();
            other.destroyForcibly();
        }
    }

    /** The files of one round of the race: the same large host file and a small file that differs by round. */
    static List<ImageFile> raceRound(int round, Path app) {
        return List.of(ImageFile.hostFile("app", app, 0755), ImageFile.bytes("round", ("round " + round).getBytes(StandardCharsets.UTF_8), 0644));
    }

    @Test
    void aHostFileChangedInPlaceGivesANewImageOfItsNewBytes() throws IOException {
        Path app = Files.write(tmp.resolve("app"), random(100_000, 3));
        ImageCache cache = new ImageCache(tmp.resolve("images"));
        ReadOnlyImage before = cache.image(List.of(ImageFile.hostFile("app", app, 0755)));
        FileTime mtime = Files.getLastModifiedTime(app);

        byte[] changed = random(100_000, 4);
        Files.write(app, changed);
        Files.setLastModifiedTime(app, mtime); // same size, same mtime: only the ctime tells
        ReadOnlyImage after = cache.image(List.of(ImageFile.hostFile("app", app, 0755)));

        assertThat(after.contentId()).isNotEqualTo(before.contentId());
        assertThat(after.path()).isNotEqualTo(before.path());
        assertThat(before.path()).exists();
        Path out = tmp.resolve("out");
        ErofsUtils.extract(after.path(), out);
        assertThat(out.resolve("app")).hasBinaryContent(changed);
    }

    @Test
    void aHostFileChangedAfterItsHashWasRememberedGivesANewImage() throws IOException {
        Path app = Files.write(tmp.resolve("app"), random(100_000, 5));
        Files.setLastModifiedTime(app, FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
        Path dir = tmp.resolve("images");
        // a clock an hour ahead: the file's ctime (now) counts as settled, so its hash is remembered and saved
        java.time.Clock later = java.time.Clock.offset(java.time.Clock.systemUTC(), java.time.Duration.ofHours(1));
        ReadOnlyImage before = new ImageCache(dir, later).image(List.of(ImageFile.hostFile("app", app, 0755)));
        assertThat(Files.readString(dir.resolve(HostFileHashes.STORE))).contains(app.toString());

        Files.write(app, random(100_000, 6));
        Files.setLastModifiedTime(app, FileTime.from(Instant.parse("2020-01-02T00:00:00Z")));
        ReadOnlyImage after = new ImageCache(dir, later).image(List.of(ImageFile.hostFile("app", app, 0755)));

        assertThat(after.contentId()).isNotEqualTo(before.contentId());
        assertThat(after.entries().get(0).sha256()).isEqualTo(sha256(Files.readAllBytes(app)));
    }

    @Test
    void aDamagedImageIsBuiltAgain() throws IOException {
        List<ImageFile> files = List.of(ImageFile.bytes("a", random(10_000, 7), 0644));
        ImageCache cache = new ImageCache(tmp.resolve("images"));
        ReadOnlyImage image = cache.image(files);
        Files.delete(image.path());
        Files.write(image.path(), new byte[4096]);

        assertThat(cache.image(files)).isEqualTo(image);
        assertThat(Files.size(image.path())).isEqualTo(image.length());
        ErofsUtils.fsck(image.path());
    }

    @Test
    void temporaryFilesOfDeadBuildersAreRemovedWhenOld() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("images"));
        Path old = Files.write(dir.resolve("0123.abc.part"), new byte[10]);
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(ImageCache.ABANDONED).minusSeconds(60)));
        Path recent = Files.write(dir.resolve("4567.def.part"), new byte[10]);

        new ImageCache(dir).image(List.of(ImageFile.bytes("a", new byte[1], 0644)));

        assertThat(old).doesNotExist();
        assertThat(recent).exists();
    }

    @Test
    void anUnusableCacheDirectoryIsNamedWithTheFix() throws IOException {
        Path file = Files.writeString(tmp.resolve("file"), "not a directory");
        ImageCache cache = new ImageCache(file.resolve("images"));
        assertThatThrownBy(() -> cache.image(List.of(ImageFile.bytes("a", new byte[1], 0644))))
                .isInstanceOf(ImageCacheException.class)
                .hasMessageStartingWith("cannot use " + file.resolve("images") + " as the read-only image cache (")
                .hasMessageEndingWith("make it a directory that this user owns and may write, or set ARROW_CACHE to one");
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> new ImageCache(shared).image(List.of()))
                .isInstanceOf(ImageCacheException.class).hasMessageContaining("writable by other users");
    }

    @Test
    void badFilesAreRefusedNamingTheFileAndTheFix() {
        ImageCache cache = new ImageCache(tmp.resolve("images"));
        Path missing = tmp.resolve("no-such-app");
        assertThatThrownBy(() -> cache.image(List.of(ImageFile.hostFile("app", missing, 0755))))
                .isInstanceOf(ImageFileException.class).hasMessage("host file " + missing + " does not exist: fix the path or create the file");
        assertThatThrownBy(() -> cache.image(List.of(ImageFile.hostFile("app", tmp, 0755))))
                .isInstanceOf(ImageFileException.class).hasMessageContaining(tmp + " is not a regular file");
        assertThatThrownBy(() -> cache.image(List.of(ImageFile.bytes("x", new byte[1], 0644), ImageFile.bytes("x", new byte[2], 0644))))
                .isInstanceOf(ImageFileException.class).hasMessage("two image files are named \"x\": give each file its own name");
        assertThatThrownBy(() -> cache.image(List.of(ImageFile.bytes("bin/app", new byte[1], 0644))))
                .isInstanceOf(ImageFileException.class).hasMessageContaining("plain file name");
    }

    private static List<Path> leftovers(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".part")).toList();
        }
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(ContentId.sha256().digest(bytes));
    }

    static byte[] random(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
