package dev.arrow.kvm.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.loader.TestImages.Phdr;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.x86.BootParams;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelLoaderTest {

    private static final long MiB = 1 << 20;
    private static final byte DIRT = (byte) 0xee;

    private HeapGuestMemory memory;

    @BeforeEach
    void dirtyMemory() {
        memory = HeapGuestMemory.ofSize(32 * MiB);
        memory.fill(GuestAddress.of(0), 32 * MiB, DIRT);
    }

    private LoadedKernel load(byte[] image) {
        return KernelLoader.load("/img", image, memory);
    }

    private void assertUntouched() {
        byte[] all = memory.read(GuestAddress.of(0), (int) (32 * MiB));
        for (int i = 0; i < all.length; i++) {
            if (all[i] != DIRT) {
                throw new AssertionError("guest memory changed at 0x" + Integer.toHexString(i));
            }
        }
    }

    private void assertFails(byte[] image, String... messageParts) {
        assertThatThrownBy(() -> load(image))
                .isInstanceOf(KernelLoadException.class)
                .hasMessageStartingWith("kernel image /img: ")
                .hasMessageContainingAll(messageParts);
        assertUntouched();
    }

    // ---- ELF ----

    @Test
    void elfSegmentsLandAtTheirPhysicalAddressesWithBssZeroed() {
        LoadedKernel k = load(TestImages.Elf.typical().build());
        assertThat(k.kind()).isEqualTo(LoadedKernel.Kind.ELF_VMLINUX);
        assertThat(k.entryAddress()).isEqualTo(0x100_0000);
        assertThat(k.startAddress()).isEqualTo(0x100_0000);
        assertThat(k.endAddress()).isEqualTo(0x100_7000);
        assertThat(k.hasSetupHeader()).isFalse();
        assertThat(memory.read(GuestAddress.of(0x100_0000), 0x3000)).containsOnly(0x11);
        assertThat(memory.read(GuestAddress.of(0x100_4000), 0x1000)).containsOnly(0x22);
        assertThat(memory.read(GuestAddress.of(0x100_5000), 0x2000)).containsOnly(0);
        assertThat(memory.readByte(GuestAddress.of(0x100_3000))).as("gap between segments").isEqualTo(DIRT);
        assertThat(memory.readByte(GuestAddress.of(0x100_7000))).as("after the bss").isEqualTo(DIRT);
    }

    @Test
    void theLowestSegmentIsReadOnlyUnlessWritable() {
        assertThat(load(TestImages.Elf.typical().build()).readOnlyEnd()).as("text ends").isEqualTo(0x100_3000);
        TestImages.Elf writable = TestImages.Elf.typical();
        writable.phdrs.get(0).flags = 7; // PF_R | PF_W | PF_X
        assertThat(load(writable.build()).readOnlyEnd()).as("no read-only segment").isEqualTo(0x100_0000);
    }

    @Test
    void virtualEntryPointIsTranslatedToItsPhysicalAddress() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.entry = e.phdrs.get(0).vaddr + 0x10;
        assertThat(load(e.build()).entryAddress()).isEqualTo(0x100_0010);
    }

    @Test
    void entryOutsideEverySegmentIsRejected() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.entry = 0x200_0000;
        assertFails(e.build(), "entry point 0x2000000 is outside every loadable segment");
    }

    @Test
    void truncatedElfHeader() {
        assertFails(Arrays.copyOf(TestImages.Elf.typical().build(), 40), "truncated ELF header (needs 64 bytes, file has 40)");
    }

    @Test
    void truncatedProgramHeaderTable() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.fileSize = 130;
        assertFails(e.build(), "truncated ELF program header table (needs 176 bytes, file has 130)");
    }

    @Test
    void programHeaderTableOffsetPastTheFile() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.phoff = Long.MAX_VALUE - 10;
        assertFails(e.build(), "truncated ELF program header table");
    }

    @Test
    void thirtyTwoBitElfIsRejected() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.elfClass = 1;
        assertFails(e.build(), "32-bit ELF", "64-bit x86-64 vmlinux is needed");
    }

    @Test
    void unknownClassBigEndianAndBadVersionAreRejected() {
        TestImages.Elf c = TestImages.Elf.typical();
        c.elfClass = 7;
        assertFails(c.build(), "unknown ELF class 7");
        TestImages.Elf d = TestImages.Elf.typical();
        d.data = 2;
        assertFails(d.build(), "not little-endian");
        TestImages.Elf v = TestImages.Elf.typical();
        v.version = 9;
        assertFails(v.build(), "unknown ELF version 9");
    }

    @Test
    void wrongMachineIsRejected() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.machine = 3; // EM_386
        assertFails(e.build(), "ELF machine 3 is not x86-64");
        e.machine = 183; // EM_AARCH64
        assertFails(e.build(), "ELF machine 183 is not x86-64");
    }

    @Test
    void nonExecutableElfIsRejected() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.type = 1; // ET_REL, e.g. a module
        assertFails(e.build(), "ELF type 1 is not an executable");
    }

    @Test
    void oddProgramHeaderTablesAreRejected() {
        TestImages.Elf none = TestImages.Elf.typical();
        none.phnumOverride = 0;
        assertFails(none.build(), "no program headers");
        TestImages.Elf wide = TestImages.Elf.typical();
        wide.phentsize = 64;
        assertFails(wide.build(), "program header entry size is 64, expected 56");
        TestImages.Elf xnum = TestImages.Elf.typical();
        xnum.phnumOverride = 0xffff;
        assertFails(xnum.build(), "PN_XNUM");
    }

    @Test
    void segmentPastTheEndOfTheFile() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.phdrs.get(1).filesz = 0x2000;
        e.phdrs.get(1).memsz = 0x3000;
        assertFails(e.build(), "segment 1: file bytes [0x4000, 0x6000) run past the end of the file (20480 bytes)");
    }

    @Test
    void segmentWithHugeFileOffsetDoesNotOverflow() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.phdrs.get(0).offset = -0x100; // 0xffffffffffffff00
        assertFails(e.build(), "segment 0: file bytes", "run past the end of the file");
    }

    @Test
    void memorySizeSmallerThanFileSize() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.phdrs.get(0).memsz = 0x1000;
        assertFails(e.build(), "segment 0: p_memsz 4096 is smaller than p_filesz 12288");
    }

    @Test
    void segmentOutsideGuestRam() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.phdrs.get(1).paddr = 0x1ff_f000; // ends 8 KiB past 32 MiB
        assertFails(e.build(), "segment 1 [0x1fff000, 0x2002000) is outside guest RAM (33554432 bytes)", "more memory");
    }

    @Test
    void segmentInTheBootAreaBelowOneMib() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.phdrs.get(1).paddr = 0x7000; // would overwrite the zero page
        assertFails(e.build(), "segment 1 at 0x7000 lies in the boot area below 0x100000");
    }

    @Test
    void segmentWrappingTheAddressSpace() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.phdrs.get(1).paddr = 0x7fff_ffff_ffff_f000L;
        assertFails(e.build(), "segment 1", "wraps around");
    }

    @Test
    void overlappingSegments() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.phdrs.get(1).paddr = 0x100_2000;
        assertFails(e.build(), "segments 0 [0x1000000, 0x1003000) and 1 [0x1002000, 0x1005000) overlap");
    }

    @Test
    void elfWithoutLoadableSegments() {
        TestImages.Elf e = TestImages.Elf.typical();
        e.phdrs.forEach(p -> p.type = 4); // PT_NOTE
        assertFails(e.build(), "no loadable (PT_LOAD) segment");
    }

    @Test
    void nonLoadSegmentsAreIgnoredEvenIfTheyPointNowhere() {
        TestImages.Elf e = TestImages.Elf.typical();
        Phdr note = new Phdr(0x7fff_ffffL, 0x9999_0000L, 0x10, 0x10);
        note.type = 4;
        e.phdrs.add(note);
        assertThat(load(e.build()).endAddress()).isEqualTo(0x100_7000);
    }

    @Test
    void somethingElseIsNotAKernel() {
        byte[] junk = new byte[4096];
        Arrays.fill(junk, (byte) 'x');
        assertFails(junk, "not a kernel image", "no ELF magic and no \"HdrS\" at 0x202", "file has 4096 bytes");
        assertFails(new byte[0], "not a kernel image");
    }

    // ---- files ----

    @Test
    void loadsFromAFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("vmlinux");
        Files.write(file, TestImages.Elf.typical().build());
        LoadedKernel k = KernelLoader.load(file, memory);
        assertThat(k.entryAddress()).isEqualTo(0x100_0000);
        assertThat(memory.read(GuestAddress.of(0x100_0000), 0x3000)).containsOnly(0x11);
    }

    @Test
    void missingFileAndDirectoryAreNamed(@TempDir Path dir) {
        Path missing = dir.resolve("nope");
        assertThatThrownBy(() -> KernelLoader.load(missing, memory))
                .isInstanceOf(KernelLoadException.class)
                .hasMessage("kernel image " + missing + ": file not found");
        assertThatThrownBy(() -> KernelLoader.load(dir, memory))
                .hasMessage("kernel image " + dir + ": is a directory, not a kernel image");
    }

    @Test
    void fileErrorsCarryThePath(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("short");
        Files.write(file, Arrays.copyOf(TestImages.Elf.typical().build(), 40));
        assertThatThrownBy(() -> KernelLoader.load(file, memory))
                .hasMessage("kernel image " + file + ": truncated ELF header (needs 64 bytes, file has 40)");
    }

    // ---- bzImage ----

    @Test
    void bzImageProtectedModePartLoadsAtOneMib() {
        TestImages.BzImage bz = new TestImages.BzImage();
        byte[] image = bz.build();
        LoadedKernel k = load(image);
        assertThat(k.kind()).isEqualTo(LoadedKernel.Kind.BZIMAGE);
        assertThat(k.entryAddress()).isEqualTo(0x100200);
        assertThat(k.startAddress()).isEqualTo(0x100000);
        // relocatable: runs at align_up(1 MiB, 2 MiB) = 2 MiB and needs init_size (4 MiB) there
        assertThat(k.endAddress()).isEqualTo(0x600000);
        int setup = 5 * 512;
        assertThat(memory.read(GuestAddress.of(0x100000), bz.kernelBytes))
                .isEqualTo(Arrays.copyOfRange(image, setup, setup + bz.kernelBytes));
        assertThat(memory.readByte(GuestAddress.of(0x100000 + bz.kernelBytes))).isEqualTo(DIRT);
        assertThat(k.setupHeader()).isEqualTo(Arrays.copyOfRange(image, 0x1f1, 0x268));
        BootParams params = BootParams.fromSetupHeader(k.setupHeader());
        assertThat(params.version()).isEqualTo(0x020f);
        assertThat(params.cmdlineSize()).isEqualTo(2047);
    }

    @Test
    void zeroSetupSectorsMeansFour() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.setupSects = 0;
        byte[] image = bz.build();
        load(image);
        assertThat(memory.read(GuestAddress.of(0x100000), 16)).isEqualTo(Arrays.copyOfRange(image, 5 * 512, 5 * 512 + 16));
    }

    @Test
    void nonRelocatableKernelReservesItsPreferredAddress() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.relocatable = 0;
        assertThat(load(bz.build()).endAddress()).isEqualTo(0x100_0000 + 0x40_0000);
    }

    @Test
    void oldBootProtocolIsRejected() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.version = 0x0205;
        assertFails(bz.build(), "boot protocol 2.05 is too old: 2.06 or newer is needed");
    }

    @Test
    void kernelWithoutSixtyFourBitEntryIsRejected() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.xloadflags = 0;
        assertFails(bz.build(), "no 64-bit entry point (xloadflags XLF_KERNEL_64 is clear, protocol 2.15)");
        TestImages.BzImage old = new TestImages.BzImage();
        old.version = 0x020b;
        assertFails(old.build(), "no 64-bit entry point");
    }

    @Test
    void zImageIsRejected() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.loadflags = 0;
        assertFails(bz.build(), "lack LOADED_HIGH");
    }

    @Test
    void badBootFlagIsRejected() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.bootFlag = 0x1234;
        assertFails(bz.build(), "boot flag at 0x1fe is 0x1234, expected 0xaa55");
    }

    @Test
    void shortSetupHeaderIsRejected() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.headerLength = 0x10;
        assertFails(bz.build(), "setup header ends at 0x212 but protocol 2.15 needs fields up to 0x264");
    }

    @Test
    void bzImageWithoutProtectedModePart() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.fileSizeOverride = 5 * 512;
        assertFails(bz.build(), "truncated bzImage", "no protected-mode kernel follows");
    }

    @Test
    void bzImageTruncatedInsideTheHeader() {
        byte[] image = Arrays.copyOf(new TestImages.BzImage().build(), 0x207);
        assertFails(image, "truncated bzImage: the boot protocol version needs 520 bytes, file has 519");
    }

    @Test
    void initSizeBeyondGuestRamIsRejected() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.initSize = 64 * MiB;
        assertFails(bz.build(), "kernel needs 67108864 bytes at 0x200000 while it boots (init_size)", "more memory");
    }

    @Test
    void badKernelAlignmentIsRejected() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.kernelAlignment = 0x30_0000;
        assertFails(bz.build(), "kernel_alignment 0x300000 is not a power of two");
    }

    @Test
    void protectedModePartBiggerThanRam() {
        TestImages.BzImage bz = new TestImages.BzImage();
        bz.kernelBytes = (int) (32 * MiB);
        assertFails(bz.build(), "protected-mode kernel of 33554432 bytes at 0x100000 does not fit in guest RAM");
    }
}
