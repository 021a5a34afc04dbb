package dev.arrow.image;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.ImageMounts;
import dev.arrow.image.init.LaunchSpec;
import dev.arrow.image.mapped.ImageCache;
import dev.arrow.image.mapped.ReadOnlyImage;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link LoaderPlan}: what the application loader maps, what stays in the initramfs, and what init is told. */
class LoaderPlanTest {
    private static final long MIN = 1 << 20;

    @TempDir
    Path tmp;
    ImageCache cache;
    Path bigBinary;
    Path smallBinary;
    Path bigData;
    Path smallData;

    @BeforeEach
    void files() throws IOException {
        cache = new ImageCache(tmp.resolve("images"));
        bigBinary = file("app", MIN + 1, "rwxr-xr-x");
        smallBinary = file("tiny", MIN - 1, "rwxr-xr-x");
        bigData = file("big.bin", 3 * MIN, "rw-r-----");
        smallData = file("small.bin", 100, "rw-r--r--");
    }

    private Path file(String name, long size, String perms) throws IOException {
        Path p = tmp.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
            f.write(name.getBytes());
        }
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
        return p;
    }

    @Test
    void aLargeBinaryAndLargeReadOnlyHostFilesAreMappedTheRestCopied() throws IOException {
        ArrowSpec spec = ArrowSpec.builder(bigBinary)
                .file(GuestFile.fromHost(bigData, "/data/big"))
                .file(GuestFile.fromHost(bigData, "/data/big-rw").writable())
                .file(GuestFile.fromHost(smallData, "/data/small"))
                .file(GuestFile.ofBytes(new byte[(int) (2 * MIN)], "/data/inline"))
                .build();
        LoaderPlan plan = LoaderPlan.of(spec, cache, MIN);

        assertThat(plan.binaryCopied()).isFalse();
        assertThat(plan.executable()).isEqualTo("/arrow/images/0/app");
        assertThat(plan.images()).hasSize(2);
        assertThat(plan.copiedFiles()).extracting(GuestFile::guestPath).containsExactly("/data/big-rw", "/data/small", "/data/inline");
        assertThat(plan.mounts().files()).containsExactly(new ImageMounts.MappedFile(1, "0", 3 * MIN, GuestPath.of("/data/big")));
        assertThat(plan.images().get(1).entries().get(0).mode()).as("the host file's bits").isEqualTo(0640);
        assertThat(plan.mappedBytes()).isEqualTo(MIN + 1 + 3 * MIN);
        assertThat(plan.guestPageStructBytes()).isEqualTo((plan.images().get(0).length() + plan.images().get(1).length()) / 4096 * 64);
        for (int k = 0; k < 2; k++) {
            assertThat(plan.mounts().imageUuids().get(k)).as("init finds image %d by the UUID in its superblock", k)
                    .isEqualTo(superblockUuid(plan.images().get(k)));
        }
    }

    @Test
    void theBinarysImageIsTheSameWhateverItsDataSoEveryArrowOfItSharesIt() {
        LoaderPlan alone = LoaderPlan.of(ArrowSpec.builder(bigBinary).build(), cache, MIN);
        LoaderPlan withData = LoaderPlan.of(ArrowSpec.builder(bigBinary).file(GuestFile.fromHost(bigData, "/d")).build(), cache, MIN);
        assertThat(withData.images().get(0).path()).isEqualTo(alone.images().get(0).path());
    }

    @Test
    void smallFilesStayInTheInitramfsAndMinusOneTurnsTheLoaderOff() {
        ArrowSpec spec = ArrowSpec.builder(smallBinary).file(GuestFile.fromHost(smallData, "/data/small")).build();
        LoaderPlan small = LoaderPlan.of(spec, cache, MIN);
        assertThat(small.images()).isEmpty();
        assertThat(small.binaryCopied()).isTrue();
        assertThat(small.executable()).isEqualTo(LaunchSpec.DEFAULT_EXECUTABLE);
        assertThat(small.mounts().isEmpty()).isTrue();

        LoaderPlan off = LoaderPlan.of(ArrowSpec.builder(bigBinary).file(GuestFile.fromHost(bigData, "/d")).build(), cache, -1);
        assertThat(off).isEqualTo(LoaderPlan.copyAll(ArrowSpec.builder(bigBinary).file(GuestFile.fromHost(bigData, "/d")).build()));
    }

    @Test
    void theInitramfsLeavesOutWhatIsMapped() {
        ArrowSpec spec = ArrowSpec.builder(bigBinary).file(GuestFile.fromHost(bigData, "/data/big")).build();
        Initramfs mapped = GuestImage.initramfs(spec, dev.arrow.image.init.Stdio.VIRTIO, java.util.Optional.empty(),
                LoaderPlan.of(spec, cache, MIN));
        Initramfs copied = GuestImage.initramfs(spec, dev.arrow.image.init.Stdio.VIRTIO, java.util.Optional.empty(),
                LoaderPlan.copyAll(spec));
        assertThat(copied.size() - mapped.size()).as("the binary and the data file are not in the archive")
                .isGreaterThanOrEqualTo(MIN + 1 + 3 * MIN);
    }

    private static byte[] superblockUuid(ReadOnlyImage image) {
        try (RandomAccessFile f = new RandomAccessFile(image.path().toFile(), "r")) {
            byte[] uuid = new byte[16];
            f.seek(1024 + 48);
            f.readFully(uuid);
            return uuid;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void uuidBytesAreTheImagesUuidInOrder() {
        LoaderPlan plan = LoaderPlan.of(ArrowSpec.builder(bigBinary).build(), cache, MIN);
        assertThat(HexFormat.of().formatHex(plan.mounts().imageUuids().get(0)))
                .isEqualTo(plan.images().get(0).uuid().toString().replace("-", ""));
        assertThat(List.of(plan.images().get(0).path().getParent())).containsExactly(cache.directory());
    }
}
