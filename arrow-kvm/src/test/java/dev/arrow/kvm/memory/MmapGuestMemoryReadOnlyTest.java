package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.KvmApiException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A file mapped read-only as guest memory (tier 1: mmap only, no KVM). */
class MmapGuestMemoryReadOnlyTest {
    static final long BASE = 0x1_0000_0000L;
    static final int SIZE = 2 << 20;

    @TempDir
    Path dir;

    private Path image(long seed) throws Exception {
        byte[] bytes = new byte[SIZE + 4096];
        new Random(seed).nextBytes(bytes);
        return Files.write(dir.resolve("image-" + seed), bytes);
    }

    @Test
    void readsSeeTheFileAtTheRegionAndEveryWriteIsRefused() throws Exception {
        Path file = image(1);
        byte[] before = Files.readAllBytes(file);
        try (MmapGuestMemory image = MmapGuestMemory.mapReadOnlyFile(file, MemoryRegion.of(BASE, SIZE))) {
            assertThat(image.isReadOnly()).isTrue();
            assertThat(image.read(GuestAddress.of(BASE + SIZE - 16), 16)).isEqualTo(java.util.Arrays.copyOfRange(before, SIZE - 16, SIZE));
            GuestAddress at = GuestAddress.of(BASE + 8);
            assertThatThrownBy(() -> image.writeInt(at, 1)).isInstanceOf(GuestMemoryException.class)
                    .hasMessageContaining("is read-only");
            assertThatThrownBy(() -> image.write(at, new byte[3])).isInstanceOf(GuestMemoryException.class);
            assertThatThrownBy(() -> image.write(at, ByteBuffer.allocate(3))).isInstanceOf(GuestMemoryException.class);
            assertThatThrownBy(() -> image.fill(at, 3, (byte) 1)).isInstanceOf(GuestMemoryException.class);
            assertThatThrownBy(() -> image.discardPages(GuestAddress.of(BASE), 4096)).isInstanceOf(GuestMemoryException.class)
                    .hasMessageContaining("is read-only");
            assertThatThrownBy(() -> image.mapCopyOnWrite(GuestAddress.of(BASE), 4096, 0, 0)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> image.read(GuestAddress.of(BASE + SIZE), 1)).as("beyond the region")
                    .isInstanceOf(GuestMemoryException.class);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(before);
    }

    @Test
    void aViewMapsTheSameOpenFileEvenAfterItsPathIsReplacedAndOutlivesTheOriginal() throws Exception {
        Path file = image(2);
        byte[] before = Files.readAllBytes(file);
        MmapGuestMemory view;
        try (MmapGuestMemory image = MmapGuestMemory.mapReadOnlyFile(file, MemoryRegion.of(BASE, SIZE))) {
            Files.move(image(3), file, StandardCopyOption.REPLACE_EXISTING); // an image cache renaming a new build into place
            view = image.mapReadOnlyView();
        }
        try (view) {
            assertThat(view.read(GuestAddress.of(BASE), 64)).isEqualTo(java.util.Arrays.copyOf(before, 64));
            assertThat(view.isReadOnly()).isTrue();
            assertThatThrownBy(view::mapReadOnlyView).as("a view holds no file of its own")
                    .isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void aClosedImageMakesNoViewAndAShortOrMissingFileIsRefused() throws Exception {
        Path file = image(4);
        MmapGuestMemory image = MmapGuestMemory.mapReadOnlyFile(file, MemoryRegion.of(BASE, SIZE));
        image.close();
        assertThatThrownBy(image::mapReadOnlyView).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> MmapGuestMemory.mapReadOnlyFile(file, MemoryRegion.of(BASE, 2L * SIZE)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fewer than the " + 2L * SIZE);
        assertThatThrownBy(() -> MmapGuestMemory.mapReadOnlyFile(dir.resolve("missing"), MemoryRegion.of(BASE, SIZE)))
                .isInstanceOf(KvmApiException.class).hasMessageContaining("missing");
        try (MmapGuestMemory ram = MmapGuestMemory.create(java.util.List.of(MemoryRegion.of(0, 1 << 20)))) {
            assertThatThrownBy(ram::mapReadOnlyView).isInstanceOf(IllegalStateException.class);
        }
    }
}
