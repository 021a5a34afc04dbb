package dev.arrow.kvm.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kernel loaded once into a sealed memory file and mapped copy-on-write into each guest (memfd and
 * mmap need no /dev/kvm: tier 1).
 */
class KernelSnapshotTest {
    private static final long RAM = 64 * Layout.MiB;
    private static final long KERNEL = 0x100_0000;   // TestImages.Elf.typical(): [16 MiB, +0x7000)
    private static final int LENGTH = 0x7000;

    @TempDir
    Path dir;

    private Path typicalKernel() throws IOException {
        return Files.write(dir.resolve("vmlinux"), TestImages.Elf.typical().build());
    }

    private static byte[] kernelBytes(MmapGuestMemory m) {
        byte[] b = new byte[LENGTH];
        m.read(GuestAddress.of(KERNEL), b, 0, b.length);
        return b;
    }

    private static KernelSnapshot snapshot(Path image) {
        return KernelSnapshot.load(image, RAM).orElseThrow();
    }

    @Test
    void aMappedSnapshotHoldsWhatTheLoaderWouldHaveCopied() throws IOException {
        Path image = typicalKernel();
        try (MmapGuestMemory copied = MmapGuestMemory.forRam(RAM);
             MmapGuestMemory mapped = MmapGuestMemory.forRam(RAM);
             KernelSnapshot s = snapshot(image)) {
            LoadedKernel byCopy = KernelLoader.load(image, copied);
            LoadedKernel byMap = s.mapInto(mapped);
            assertThat(byMap).isEqualTo(byCopy);
            assertThat(kernelBytes(mapped)).isEqualTo(kernelBytes(copied));
            assertThat(mapped.readByte(GuestAddress.of(KERNEL))).isEqualTo((byte) 0x11);
            assertThat(mapped.readByte(GuestAddress.of(KERNEL + 0x5000))).as("bss").isZero();
            assertThat(s.length()).isEqualTo(LENGTH);
        }
    }

    @Test
    void aGuestsWritesStayInThatGuestAndTheFileIsSealed() throws IOException {
        try (KernelSnapshot s = snapshot(typicalKernel());
             MmapGuestMemory a = MmapGuestMemory.forRam(RAM);
             MmapGuestMemory b = MmapGuestMemory.forRam(RAM)) {
            s.mapInto(a);
            s.mapInto(b);
            a.writeLong(GuestAddress.of(KERNEL + 8), 0x1234_5678_9abc_def0L);
            a.writeByte(GuestAddress.of(KERNEL + 0x6000), (byte) 7); // in the bss
            assertThat(a.readLong(GuestAddress.of(KERNEL + 8))).isEqualTo(0x1234_5678_9abc_def0L);
            assertThat(b.readLong(GuestAddress.of(KERNEL + 8))).isEqualTo(0x1111_1111_1111_1111L);
            assertThat(b.readByte(GuestAddress.of(KERNEL + 0x6000))).isZero();
            try (MmapGuestMemory c = MmapGuestMemory.forRam(RAM)) {
                s.mapInto(c);
                assertThat(c.readLong(GuestAddress.of(KERNEL + 8))).as("a later guest").isEqualTo(0x1111_1111_1111_1111L);
            }
            int seals = LibC.F_SEAL_SHRINK | LibC.F_SEAL_GROW | LibC.F_SEAL_WRITE | LibC.F_SEAL_SEAL;
            assertThat(s.seals() & seals).isEqualTo(seals);
        }
    }

    @Test
    void textPatchedAlikeIsSharedByGuestsAndTheDataSegmentIsNot() throws IOException {
        try (KernelSnapshot s = snapshot(typicalKernel());
             MmapGuestMemory a = MmapGuestMemory.forRam(RAM);
             MmapGuestMemory b = MmapGuestMemory.forRam(RAM)) {
            for (MmapGuestMemory m : new MmapGuestMemory[] {a, b}) {
                s.mapInto(m);
                m.writeLong(GuestAddress.of(KERNEL + 0x1010), 0x90_90_90_90L); // text page 1, patched alike
                m.writeLong(GuestAddress.of(KERNEL + 0x4010), 0x42L); // the writable segment: the guest's own
            }
            a.giveCommonCopies();
            assertThat(a.dropPagesEqualToBacking().sharedPages()).isEqualTo(1);
            assertThat(b.dropPagesEqualToBacking().sharedPages()).isEqualTo(1);
            assertThat(Files.readString(Path.of("/proc/self/maps"))).as("the common copies' memory file")
                    .contains("memfd:" + KernelSnapshot.FILE_NAME_PREFIX + "vmlinux:patched");
            for (MmapGuestMemory m : new MmapGuestMemory[] {a, b}) {
                assertThat(m.readLong(GuestAddress.of(KERNEL + 0x1010))).isEqualTo(0x90_90_90_90L);
                assertThat(m.readLong(GuestAddress.of(KERNEL + 0x1018))).isEqualTo(0x1111_1111_1111_1111L);
                assertThat(m.readLong(GuestAddress.of(KERNEL + 0x4010))).isEqualTo(0x42L);
            }
        }
    }

    @Test
    void aGuestsCopiesStillEqualToTheImageAreDroppedAndDifferentOnesKept() throws IOException {
        try (KernelSnapshot s = snapshot(typicalKernel()); MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
            s.mapInto(m);
            m.writeLong(GuestAddress.of(KERNEL + 8), 0x1111_1111_1111_1111L); // a copy with the image's bytes
            m.writeLong(GuestAddress.of(KERNEL + 0x1008), 0x42L); // a copy that differs
            m.writeByte(GuestAddress.of(KERNEL + 0x6000), (byte) 0); // a copy of a bss page: zeros, as in the image
            MmapGuestMemory.DroppedPages d = m.dropPagesEqualToBacking();
            // page 0, written alike, and the data segment's three pages, the guest's copies since the mapping
            // (prefaulted for writes, the default)
            assertThat(d.filePages()).isEqualTo(4);
            assertThat(m.readLong(GuestAddress.of(KERNEL + 8))).isEqualTo(0x1111_1111_1111_1111L);
            assertThat(m.readLong(GuestAddress.of(KERNEL + 0x1008))).isEqualTo(0x42L);
        }
    }

    @Test
    void aClosedSnapshotsCopiesAreKept() throws IOException {
        KernelSnapshot s = snapshot(typicalKernel());
        try (MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
            s.mapInto(m);
            m.writeLong(GuestAddress.of(KERNEL + 8), 0x1111_1111_1111_1111L);
            s.close(); // its file can no longer be read: nothing tells whether the copy is still the image's
            assertThat(m.dropPagesEqualToBacking().filePages()).isZero();
            assertThat(m.readLong(GuestAddress.of(KERNEL + 8))).isEqualTo(0x1111_1111_1111_1111L);
        }
    }

    @Test
    void guestMemoryStaysUsableAroundTheMappedKernel() throws IOException {
        try (KernelSnapshot s = snapshot(typicalKernel()); MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
            m.writeInt(GuestAddress.of(KERNEL - 4), 0xcafe);
            s.mapInto(m);
            assertThat(m.readInt(GuestAddress.of(KERNEL - 4))).as("below the kernel").isEqualTo(0xcafe);
            m.writeInt(GuestAddress.of(KERNEL + LENGTH - 2), 0x0102_0304); // straddles the kernel's last page and the next
            assertThat(m.readInt(GuestAddress.of(KERNEL + LENGTH - 2))).isEqualTo(0x0102_0304);
            assertThatThrownBy(() -> s.mapInto(m)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("already backed by a file");
        }
    }

    @Test
    void residentGuestBytesLeaveTheSharedKernelOut() throws IOException {
        try (KernelSnapshot s = snapshot(typicalKernel()); MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
            s.mapInto(m);
            kernelBytes(m); // reading maps the file's pages, which are not this guest's
            assertThat(m.residentBytes()).isZero();
            m.writeInt(GuestAddress.of(0x20_0000), 1);
            assertThat(m.residentBytes()).isGreaterThanOrEqualTo(4096).isLessThanOrEqualTo(2 * Layout.MiB);
        }
    }

    @Test
    void aGuestTooSmallForTheKernelIsRefusedWithTheFix() throws IOException {
        TestImages.Elf e = TestImages.Elf.typical();
        e.entry = 0x300_0000;
        e.phdrs.get(0).paddr = 0x300_0000;
        e.phdrs.get(1).paddr = 0x300_4000;
        Path image = Files.write(dir.resolve("high"), e.build());
        try (KernelSnapshot s = snapshot(image); MmapGuestMemory small = MmapGuestMemory.forRam(32 * Layout.MiB)) {
            assertThatThrownBy(() -> s.mapInto(small)).isInstanceOf(KernelLoadException.class)
                    .hasMessage("kernel image " + image + ": [0x3000000, 0x3007000) is outside guest RAM (33554432 bytes):"
                            + " give the VM more memory");
        }
    }

    @Test
    void aBzImageIsNotSnapshotted() throws IOException {
        Path image = Files.write(dir.resolve("bzImage"), new TestImages.BzImage().build());
        assertThat(KernelSnapshot.load(image, RAM)).isEmpty();
    }

    @Test
    void aMalformedImageFailsAsTheLoaderSays() throws IOException {
        Path image = Files.write(dir.resolve("text"), "not a kernel".getBytes());
        assertThatThrownBy(() -> KernelSnapshot.load(image, RAM)).isInstanceOf(KernelLoadException.class)
                .hasMessageContaining("not a kernel image");
    }

    @Test
    void aClosedSnapshotMapsNothingButGuestsKeepTheirKernel() throws IOException {
        KernelSnapshot s = snapshot(typicalKernel());
        try (MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
            s.mapInto(m);
            s.close();
            assertThat(m.readByte(GuestAddress.of(KERNEL))).isEqualTo((byte) 0x11);
            try (MmapGuestMemory later = MmapGuestMemory.forRam(RAM)) {
                assertThatThrownBy(() -> s.mapInto(later)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("closed");
            }
        }
    }

    @Test
    void unmappingGuestMemoryReleasesTheKernelMappingToo() throws IOException {
        try (KernelSnapshot s = snapshot(typicalKernel())) {
            try (MmapGuestMemory warmUp = MmapGuestMemory.forRam(RAM)) { // class loading, first mappings
                s.mapInto(warmUp);
            }
            int before = Files.readAllLines(Path.of("/proc/self/maps")).size();
            for (int i = 0; i < 20; i++) {
                try (MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
                    s.mapInto(m);
                }
            }
            assertThat(Files.readAllLines(Path.of("/proc/self/maps")).size()).isLessThanOrEqualTo(before + 5);
        }
    }
    @Test
    void prefaultingForWritesIsTheDefault() {
        assertThat(KernelSnapshot.prefaultMode()).isEqualTo(KernelSnapshot.Prefault.WRITE);
    }

    @Test
    void prefaultingForReadsMapsEveryPageOfTheImageAndCopiesNone() throws IOException {
        try (KernelSnapshot s = snapshot(typicalKernel()); MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
            System.setProperty(KernelSnapshot.PREFAULT_PROPERTY, "read");
            LoadedKernel k = s.mapInto(m);
            assertThat(k.writableSegments()).containsExactly(MemoryRegion.of(KERNEL + 0x4000, 0x3000));
            for (int page = 0; page < LENGTH / Layout.PAGE_SIZE; page++) {
                long entry = pagemap(m, KERNEL + page * Layout.PAGE_SIZE);
                assertThat(entry & PRESENT).as("page %d mapped", page).isNotZero();
                assertThat(entry & FILE_OR_SHARED).as("page %d is the file's", page).isNotZero();
            }
            assertThat(kernelBytes(m)[0x4000]).isEqualTo((byte) 0x22);
        } finally {
            System.clearProperty(KernelSnapshot.PREFAULT_PROPERTY);
        }
    }

    @Test
    void prefaultingForWritesGivesTheGuestItsCopiesOfTheWritableSegmentsOnly() throws IOException {
        try (KernelSnapshot s = snapshot(typicalKernel());
             MmapGuestMemory written = MmapGuestMemory.forRam(RAM);
             MmapGuestMemory untouched = MmapGuestMemory.forRam(RAM)) {
            System.setProperty(KernelSnapshot.PREFAULT_PROPERTY, "write");
            s.mapInto(written);
            System.setProperty(KernelSnapshot.PREFAULT_PROPERTY, "none");
            s.mapInto(untouched);
            for (int page = 0; page < LENGTH / Layout.PAGE_SIZE; page++) {
                long entry = pagemap(written, KERNEL + page * Layout.PAGE_SIZE);
                boolean writable = page >= 4; // the data segment and its bss; page 3 is the gap before it
                assertThat(entry & PRESENT).as("page %d mapped", page).isNotZero();
                assertThat((entry & FILE_OR_SHARED) == 0).as("page %d the guest's own copy", page).isEqualTo(writable);
                assertThat(pagemap(untouched, KERNEL + page * Layout.PAGE_SIZE) & PRESENT).as("page %d, none", page)
                        .isZero();
            }
            assertThat(kernelBytes(written)).isEqualTo(kernelBytes(untouched));
            assertThat(written.dropPagesEqualToBacking().filePages()).as("copies equal to the image, given back")
                    .isEqualTo(3);
        } finally {
            System.clearProperty(KernelSnapshot.PREFAULT_PROPERTY);
        }
    }

    @Test
    void anUnknownPrefaultModeIsRefusedWithTheFix() throws IOException {
        try (KernelSnapshot s = snapshot(typicalKernel()); MmapGuestMemory m = MmapGuestMemory.forRam(RAM)) {
            System.setProperty(KernelSnapshot.PREFAULT_PROPERTY, "eager");
            assertThatThrownBy(() -> s.mapInto(m)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("-D" + KernelSnapshot.PREFAULT_PROPERTY + "=eager")
                    .hasMessageContaining("read, write or none");
        } finally {
            System.clearProperty(KernelSnapshot.PREFAULT_PROPERTY);
        }
    }

    private static final long PRESENT = 1L << 63;
    private static final long FILE_OR_SHARED = 1L << 61;

    /** The pagemap entry of the host page behind guest address {@code guest} ({@code /proc/self/pagemap}). */
    private static long pagemap(MmapGuestMemory m, long guest) throws IOException {
        MmapGuestMemory.HostRegion r = m.hostRegions().get(0);
        long host = r.hostAddress() + guest - r.region().start().value();
        try (FileChannel c = FileChannel.open(Path.of("/proc/self/pagemap"), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
            c.read(b, host / Layout.PAGE_SIZE * 8);
            return b.getLong(0);
        }
    }
}
