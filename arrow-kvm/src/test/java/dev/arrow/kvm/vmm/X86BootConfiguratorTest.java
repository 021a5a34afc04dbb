package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.loader.LoadedKernel;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.x86.BootParams;
import dev.arrow.kvm.x86.BootSetupException;
import dev.arrow.kvm.x86.Gdt;
import dev.arrow.kvm.x86.KernelCommandLine;
import dev.arrow.kvm.x86.Layout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The boot structures the configurator writes into guest memory (tier 1, heap memory). */
class X86BootConfiguratorTest {
    static final long RAM = 32 * Layout.MiB;
    static final LoadedKernel VMLINUX =
            new LoadedKernel(LoadedKernel.Kind.ELF_VMLINUX, 0x100_0000, 0x100_0000, 0x140_0000, new byte[0]);

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(RAM);

    private static VmConfig.Builder config() {
        return VmConfig.builder().kernel(Path.of("vmlinux")).memoryBytes(RAM)
                .commandLine(KernelCommandLine.of("console=ttyS0", "quiet"));
    }

    private long zeroPageInt(int offset) {
        return Integer.toUnsignedLong(memory.readInt(GuestAddress.of(Layout.ZERO_PAGE_ADDRESS + offset)));
    }

    @Test
    void theZeroPagePointsAtTheNulTerminatedCommandLine() {
        new X86BootConfigurator(config().build(), VMLINUX).writeBootStructures(memory);
        String line = "console=ttyS0 quiet";
        assertThat(zeroPageInt(BootParams.CMD_LINE_PTR)).isEqualTo(Layout.CMDLINE_ADDRESS);
        assertThat(memory.read(GuestAddress.of(Layout.CMDLINE_ADDRESS), line.length() + 1))
                .isEqualTo((line + "\0").getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void theInitrdLiesAboveTheKernelWhereTheZeroPageSays() {
        byte[] initrd = {1, 2, 3, 4, 5};
        new X86BootConfigurator(config().initrd(initrd).build(), VMLINUX).writeBootStructures(memory);
        long address = zeroPageInt(BootParams.RAMDISK_IMAGE);
        assertThat(address).isGreaterThanOrEqualTo(VMLINUX.endAddress());
        assertThat(zeroPageInt(BootParams.RAMDISK_SIZE)).isEqualTo(initrd.length);
        assertThat(memory.read(GuestAddress.of(address), initrd.length)).isEqualTo(initrd);
    }

    @Test
    void withoutAnInitrdTheZeroPageNamesNone() {
        new X86BootConfigurator(config().build(), VMLINUX).writeBootStructures(memory);
        assertThat(zeroPageInt(BootParams.RAMDISK_IMAGE)).isZero();
        assertThat(zeroPageInt(BootParams.RAMDISK_SIZE)).isZero();
    }

    @Test
    void theE820MapMpTablePageTablesAndGdtAreWritten() {
        new X86BootConfigurator(config().vcpuCount(2).build(), VMLINUX).writeBootStructures(memory);
        assertThat(memory.readByte(GuestAddress.of(Layout.ZERO_PAGE_ADDRESS + BootParams.E820_ENTRIES))).isPositive();
        assertThat(memory.read(GuestAddress.of(Layout.MPTABLE_ADDRESS), 4))
                .isEqualTo("_MP_".getBytes(StandardCharsets.US_ASCII));
        assertThat(memory.readLong(GuestAddress.of(Layout.PML4_ADDRESS)) & ~0xfffL).isEqualTo(Layout.PDPT_ADDRESS);
        assertThat(memory.readLong(GuestAddress.of(Layout.GDT_ADDRESS + Gdt.CODE_SELECTOR))).isEqualTo(Gdt.CODE_DESCRIPTOR);
    }

    @Test
    void anInitrdThatDoesNotFitIsRefused() {
        byte[] initrd = new byte[(int) (RAM - 0x100_0000)];
        assertThatThrownBy(() -> new X86BootConfigurator(config().initrd(initrd).build(), VMLINUX).writeBootStructures(memory))
                .isInstanceOf(BootSetupException.class).hasMessageContaining("does not fit");
    }
}
