package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pmem images in a VM's configuration: validation, placement and the command line (tier 1). */
class VmConfigPmemTest {
    static final long TWO_MIB = Layout.PMEM_ALIGNMENT;

    @TempDir
    Path dir;

    private Path file(String name, long size) throws IOException {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        return p;
    }

    private static VmConfig.Builder config() {
        return VmConfig.builder().kernel(Path.of("vmlinux")).memoryBytes(256 * Layout.MiB);
    }

    @Test
    void imagesSitAboveRamAndTheMmioHoleOneAfterAnotherInSlotsAfterTheVirtioDevices() throws IOException {
        Path app = file("app.erofs", 3 * TWO_MIB);
        Path data = file("data.erofs", TWO_MIB);
        VmConfig config = config().virtioDevice(new VirtioRng()).pmemImage(app, 3 * TWO_MIB).pmemImage(data, TWO_MIB).build();

        assertThat(config.pmemPlacements()).containsExactly(
                new PmemPlacement(0, new PmemImage(app, 3 * TWO_MIB), MemoryRegion.of(4 * Layout.GiB, 3 * TWO_MIB),
                        VirtioSlot.of(1)),
                new PmemPlacement(1, new PmemImage(data, TWO_MIB), MemoryRegion.of(4 * Layout.GiB + 3 * TWO_MIB, TWO_MIB),
                        VirtioSlot.of(2)));
        assertThat(config.pmemPlacements()).extracting(PmemPlacement::guestDevice).containsExactly("/dev/pmem0", "/dev/pmem1");
        assertThat(config.virtioCommandLineEntries()).containsExactly("virtio_mmio.device=4K@0xd0000000:5",
                "virtio_mmio.device=4K@0xd0001000:6", "virtio_mmio.device=4K@0xd0002000:7");
        assertThat(config.kernelCommandLine().toString()).endsWith(
                "virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6 virtio_mmio.device=4K@0xd0002000:7");
        assertThat(config.virtioSlots()).as("the configured devices' slots only").containsExactly(VirtioSlot.of(0));
    }

    @Test
    void withRamAboveTheHoleImagesStartAfterItOnA2MiBBoundary() {
        long ram = 3 * Layout.GiB + 5 * Layout.MiB; // 5 MiB above 4 GiB
        assertThat(Layout.pmemBase(ram)).isEqualTo(4 * Layout.GiB + 6 * Layout.MiB);
        assertThat(Layout.pmemBase(64 * Layout.MiB)).isEqualTo(4 * Layout.GiB);
    }

    @Test
    void aLengthThatIsNotAMultipleOf2MiBIsRefusedWithTheFix() throws IOException {
        Path image = file("app.erofs", 4 * TWO_MIB);
        assertThatThrownBy(() -> config().pmemImage(image, TWO_MIB + 4096))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(image.toString()).hasMessageContaining("not a positive multiple of 2 MiB")
                .hasMessageContaining("pad the image");
        assertThatThrownBy(() -> config().pmemImage(image, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aMissingFileOrADirectoryIsRefused() throws IOException {
        assertThatThrownBy(() -> config().pmemImage(dir.resolve("missing.erofs"), TWO_MIB))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing.erofs does not exist");
        Path sub = Files.createDirectory(dir.resolve("sub"));
        assertThatThrownBy(() -> config().pmemImage(sub, TWO_MIB))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a regular file");
    }

    @Test
    void aLengthBeyondTheFilesSizeIsRefused() throws IOException {
        Path image = file("short.erofs", TWO_MIB + 100);
        assertThatThrownBy(() -> config().pmemImage(image, 2 * TWO_MIB))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has " + (TWO_MIB + 100) + " bytes, fewer than the " + 2 * TWO_MIB);
        assertThat(config().pmemImage(image, TWO_MIB).build().pmemImages()).as("a shorter length is fine").hasSize(1);
    }

    @Test
    void devicesAndImagesTogetherMustFitTheIrqs() throws IOException {
        Path image = file("app.erofs", TWO_MIB);
        VmConfig.Builder b = config();
        for (int i = 0; i < Layout.MAX_VIRTIO_DEVICES; i++) {
            b.virtioDevice(new VirtioRng());
        }
        b.pmemImage(image, TWO_MIB);
        assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(Layout.MAX_VIRTIO_DEVICES + " virtio devices and 1 pmem images given, at most "
                        + Layout.MAX_VIRTIO_DEVICES);
    }

    @Test
    void aPlacementMustHaveItsImagesLength() throws IOException {
        PmemImage image = new PmemImage(file("app.erofs", TWO_MIB), TWO_MIB);
        assertThatThrownBy(() -> new PmemPlacement(0, image, MemoryRegion.of(4 * Layout.GiB, 2 * TWO_MIB), VirtioSlot.of(0)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
