package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.balloon.VirtioBalloon;
import dev.arrow.kvm.virtio.console.StdioConsoles;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.kvm.x86.KernelCommandLine;
import dev.arrow.kvm.x86.Layout;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The virtio device list of a VM's configuration and the command line it implies (tier 1). */
class VmConfigVirtioTest {
    static final Path KERNEL = Path.of("vmlinux");

    private static VmConfig.Builder config(String... commandLine) {
        return VmConfig.builder().kernel(KERNEL).commandLine(KernelCommandLine.of(commandLine));
    }

    @Test
    void devicesGetSlotsInOrderAndTheirEntriesEndTheCommandLine() {
        VirtioDevice console = StdioConsoles.console();
        VirtioDevice rng = new VirtioRng();
        VmConfig config = config("console=ttyS0", "quiet").virtioDevice(console).virtioDevice(rng).build();
        assertThat(config.virtioDevices()).containsExactly(console, rng);
        assertThat(config.virtioSlots()).containsExactly(VirtioSlot.of(0), VirtioSlot.of(1));
        assertThat(config.virtioCommandLineEntries())
                .containsExactly("virtio_mmio.device=4K@0xd0000000:5", "virtio_mmio.device=4K@0xd0001000:6");
        assertThat(config.commandLine()).hasToString("console=ttyS0 quiet");
        assertThat(config.kernelCommandLine()).hasToString(
                "console=ttyS0 quiet virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6");
    }

    @Test
    void entriesTheCommandLineCarriesAlreadyAreNotRepeated() {
        VmConfig config = config("virtio_mmio.device=4K@0xd0000000:5", "quiet")
                .virtioDevice(StdioConsoles.console()).virtioDevice(new VirtioRng()).build();
        assertThat(config.kernelCommandLine())
                .hasToString("virtio_mmio.device=4K@0xd0000000:5 quiet virtio_mmio.device=4K@0xd0001000:6");
    }

    @Test
    void withoutDevicesTheCommandLineIsUnchanged() {
        VmConfig config = config("quiet").build();
        assertThat(config.virtioDevices()).isEmpty();
        assertThat(config.kernelCommandLine()).isEqualTo(config.commandLine());
        assertThat(config().virtioDevice(new VirtioRng()).build().kernelCommandLine())
                .hasToString("virtio_mmio.device=4K@0xd0000000:5");
    }

    @Test
    void aDevicesKernelParametersFollowItsEntryAndCountTowardsTheLimit() {
        VmConfig config = config("quiet").virtioDevice(new VirtioRng()).virtioDevice(new VirtioBalloon()).build();
        assertThat(config.kernelCommandLine()).hasToString("quiet virtio_mmio.device=4K@0xd0000000:5 "
                + "virtio_mmio.device=4K@0xd0001000:6 page_reporting.page_reporting_order=5");
        String almostFull = "x".repeat(Layout.CMDLINE_MAX_SIZE - 1 - 40);
        assertThat(config(almostFull).virtioDevice(new VirtioRng()).build()).isNotNull();
        assertThatThrownBy(() -> config(almostFull).virtioDevice(new VirtioBalloon()).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("page_reporting_order");
    }

    @Test
    void oneDeviceCannotTakeTwoSlots() {
        VirtioRng rng = new VirtioRng();
        assertThatThrownBy(() -> config().virtioDevice(rng).virtioDevice(rng).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("given twice");
    }

    @Test
    void moreDevicesThanIrqsAreRefused() {
        VmConfig.Builder b = config();
        for (int i = 0; i <= Layout.MAX_VIRTIO_DEVICES; i++) {
            b.virtioDevice(new VirtioRng());
        }
        assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at most " + Layout.MAX_VIRTIO_DEVICES);
    }

    @Test
    void theEntriesCountTowardsTheCommandLineLimit() {
        String almostFull = "x".repeat(Layout.CMDLINE_MAX_SIZE - 1 - 10);
        assertThat(config(almostFull).build().kernelCommandLine().length()).isEqualTo(Layout.CMDLINE_MAX_SIZE - 11);
        assertThatThrownBy(() -> config(almostFull).virtioDevice(new VirtioRng()).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shorten it");
    }
}
