package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.x86.KernelCommandLine;
import dev.arrow.kvm.x86.Layout;
import org.junit.jupiter.api.Test;

/** Where virtio devices sit and how Linux is told (tier 1). */
class VirtioSlotTest {

    @Test
    void slotsFollowTheLayoutOneWindowAndOneIrqEach() {
        VirtioSlot first = VirtioSlot.of(0);
        VirtioSlot second = VirtioSlot.of(1);
        assertThat(first.base()).isEqualTo(0xD000_0000L);
        assertThat(first.irq()).isEqualTo(5);
        assertThat(second.base()).isEqualTo(0xD000_1000L);
        assertThat(second.irq()).isEqualTo(6);
        assertThat(first.size()).isEqualTo(0x1000);
        assertThat(second.queueNotifyAddress()).isEqualTo(0xD000_1050L);
    }

    @Test
    void theCommandLineEntryIsWhatLinuxParses() {
        assertThat(VirtioSlot.of(0).commandLineEntry()).isEqualTo("virtio_mmio.device=4K@0xd0000000:5");
        assertThat(VirtioSlot.of(2).commandLineEntry()).isEqualTo("virtio_mmio.device=4K@0xd0002000:7");
    }

    @Test
    void aSlotAppendsItsEntryToTheCommandLineOnce() {
        KernelCommandLine line = VirtioSlot.of(1).appendTo(KernelCommandLine.of("console=ttyS0"));
        assertThat(line).hasToString("console=ttyS0 virtio_mmio.device=4K@0xd0001000:6");
        assertThat(VirtioSlot.of(1).appendTo(line)).isEqualTo(line);
    }

    @Test
    void indicesOutsideTheIoapicPinsAreRefused() {
        assertThat(VirtioSlot.of(Layout.MAX_VIRTIO_DEVICES - 1).irq()).isEqualTo(23);
        assertThatThrownBy(() -> VirtioSlot.of(Layout.MAX_VIRTIO_DEVICES)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> VirtioSlot.of(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
