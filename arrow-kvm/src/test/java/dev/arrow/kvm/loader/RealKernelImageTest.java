package dev.arrow.kvm.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.x86.BootParams;
import dev.arrow.kvm.x86.E820Map;
import dev.arrow.kvm.x86.Gdt;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.kvm.x86.MpTable;
import dev.arrow.kvm.x86.PageTables;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Loads the project's real kernels when they have been built (scripts/build-kernel.sh guest|lab);
 * skipped, with the reason, when they have not.
 */
class RealKernelImageTest {

    private static final long RAM = 128 * Layout.MiB;

    /** The newest {@code <cache>/kernel/<flavour>-<hash>/<file>}, the cache as scripts/lib.sh finds it. */
    static Optional<Path> cachedKernel(String flavour, String file) throws IOException {
        String cache = System.getenv("ARROW_CACHE");
        Path root;
        if (cache != null && !cache.isEmpty()) {
            root = Path.of(cache);
        } else {
            String xdg = System.getenv("XDG_CACHE_HOME");
            root = (xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("arrow");
        }
        Path kernels = root.resolve("kernel");
        if (!Files.isDirectory(kernels)) {
            return Optional.empty();
        }
        try (Stream<Path> dirs = Files.list(kernels)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith(flavour + "-"))
                    .map(d -> d.resolve(file))
                    .filter(Files::isRegularFile)
                    .max(Comparator.comparing(p -> p.toFile().lastModified()));
        }
    }

    @Test
    void guestVmlinuxLoadsAtItsPhysicalAddressAndLeavesRoomForTheBootStructures() throws IOException {
        Optional<Path> vmlinux = cachedKernel("guest", "vmlinux");
        assumeTrue(vmlinux.isPresent(), "guest kernel not built: run scripts/build-kernel.sh guest");
        byte[] file = Files.readAllBytes(vmlinux.get());
        ByteBuffer elf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        HeapGuestMemory memory = HeapGuestMemory.ofSize(RAM);

        LoadedKernel kernel = KernelLoader.load(vmlinux.get(), memory);

        assertThat(kernel.kind()).isEqualTo(LoadedKernel.Kind.ELF_VMLINUX);
        assertThat(kernel.entryAddress()).isEqualTo(elf.getLong(24)).isEqualTo(0x100_0000L); // CONFIG_PHYSICAL_START
        long phoff = elf.getLong(32);
        long offset = elf.getLong((int) phoff + 8);
        long paddr = elf.getLong((int) phoff + 24);
        int sample = 0x10000;
        assertThat(memory.read(GuestAddress.of(paddr), sample))
                .isEqualTo(Arrays.copyOfRange(file, (int) offset, (int) offset + sample));
        assertThat(kernel.endAddress()).isGreaterThan(kernel.entryAddress()).isLessThanOrEqualTo(RAM);

        byte[] before = memory.read(GuestAddress.of(kernel.startAddress()), (int) (kernel.endAddress() - kernel.startAddress()));
        byte[] cmdline = "console=ttyS0 reboot=k panic=-1\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        memory.write(GuestAddress.of(Layout.CMDLINE_ADDRESS), cmdline);
        long initrd = Layout.initrdAddress(RAM, 4 * Layout.MiB, BootParams.DEFAULT_INITRD_ADDR_MAX, kernel.endAddress());
        memory.fill(GuestAddress.of(initrd), 4 * Layout.MiB, (byte) 0x5a);
        BootParams.forVmlinux()
                .commandLine(GuestAddress.of(Layout.CMDLINE_ADDRESS), cmdline.length - 1)
                .ramdisk(GuestAddress.of(initrd), 4 * Layout.MiB)
                .e820(E820Map.forRam(RAM))
                .writeTo(memory, GuestAddress.of(Layout.ZERO_PAGE_ADDRESS));
        Gdt.write(memory);
        PageTables.write(memory);
        new MpTable(2).writeTo(memory);
        byte[] after = memory.read(GuestAddress.of(kernel.startAddress()), before.length);
        assertThat(after).as("boot structures and initrd leave the kernel intact").isEqualTo(before);
    }

    @Test
    void labBzImageLoadsAtOneMibWithItsSetupHeader() throws IOException {
        Optional<Path> bzImage = cachedKernel("lab", "bzImage");
        assumeTrue(bzImage.isPresent(), "lab kernel not built: run scripts/build-kernel.sh lab");
        byte[] file = Files.readAllBytes(bzImage.get());
        HeapGuestMemory memory = HeapGuestMemory.ofSize(512 * Layout.MiB);

        LoadedKernel kernel = KernelLoader.load(bzImage.get(), memory);

        assertThat(kernel.kind()).isEqualTo(LoadedKernel.Kind.BZIMAGE);
        assertThat(kernel.entryAddress()).isEqualTo(0x100200);
        int setupSects = file[0x1f1] == 0 ? 4 : file[0x1f1] & 0xff;
        int setup = (setupSects + 1) * 512;
        assertThat(memory.read(GuestAddress.of(0x100000), 4096)).isEqualTo(Arrays.copyOfRange(file, setup, setup + 4096));
        BootParams params = BootParams.fromSetupHeader(kernel.setupHeader());
        assertThat(params.version()).isGreaterThanOrEqualTo(0x020c);
        assertThat(params.cmdlineSize()).isEqualTo(2047);
        assertThat(params.initrdAddrMax()).isEqualTo(0x7fffffffL);
    }
}
