package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LayoutTest {

    private static final long MiB = Layout.MiB;
    private static final long GiB = Layout.GiB;

    @Test
    void smallVmHasOneRegionFromZero() {
        assertThat(Layout.ramRegions(256 * MiB)).containsExactly(new Layout.RamRegion(0, 256 * MiB));
    }

    @Test
    void ramBeyondThreeGibContinuesAtFourGib() {
        assertThat(Layout.ramRegions(5 * GiB)).containsExactly(
                new Layout.RamRegion(0, 3 * GiB),
                new Layout.RamRegion(4 * GiB, 2 * GiB));
        assertThat(Layout.ramRegions(3 * GiB)).containsExactly(new Layout.RamRegion(0, 3 * GiB));
    }

    @Test
    void lowRamEndsAtTheMmioHole() {
        assertThat(Layout.lowRamEnd(64 * MiB)).isEqualTo(64 * MiB);
        assertThat(Layout.lowRamEnd(8 * GiB)).isEqualTo(0xC000_0000L);
    }

    @Test
    void rejectsTinyOrUnalignedRam() {
        assertThatThrownBy(() -> Layout.ramRegions(MiB)).hasMessageContaining("at least 16 MiB");
        assertThatThrownBy(() -> Layout.ramRegions(64 * MiB + 1)).hasMessageContaining("multiple of 4 KiB");
    }

    @Test
    void virtioDevicesGetConsecutiveWindowsAndIrqsInsideTheHole() {
        assertThat(Layout.virtioMmioAddress(0)).isEqualTo(0xD000_0000L);
        assertThat(Layout.virtioMmioAddress(2)).isEqualTo(0xD000_2000L);
        assertThat(Layout.virtioIrq(0)).isEqualTo(5);
        int last = Layout.MAX_VIRTIO_DEVICES - 1;
        assertThat(Layout.virtioIrq(last)).isEqualTo(Layout.IOAPIC_PINS - 1);
        assertThat(Layout.virtioMmioAddress(last) + Layout.VIRTIO_MMIO_SIZE).isLessThanOrEqualTo(Layout.IOAPIC_ADDRESS);
        assertThatThrownBy(() -> Layout.virtioIrq(last + 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Layout.virtioMmioAddress(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void virtioIrqsAvoidTheSerialAndKeyboardIrqs() {
        for (int i = 0; i < Layout.MAX_VIRTIO_DEVICES; i++) {
            assertThat(Layout.virtioIrq(i)).isNotIn(0, 1, 2, Layout.SERIAL_IRQ);
        }
    }

    @Test
    void initrdGoesToTheTopOfLowRamPageAligned() {
        long address = Layout.initrdAddress(64 * MiB, 10_000, BootParams.DEFAULT_INITRD_ADDR_MAX, 30 * MiB);
        assertThat(address % Layout.PAGE_SIZE).isZero();
        assertThat(address + 10_000).isLessThanOrEqualTo(64 * MiB);
        assertThat(64 * MiB - (address + 10_000)).isLessThan(Layout.PAGE_SIZE);
    }

    @Test
    void initrdStaysBelowTheMmioHoleAndInitrdAddrMax() {
        long big = Layout.initrdAddress(8 * GiB, MiB, BootParams.DEFAULT_INITRD_ADDR_MAX, 30 * MiB);
        assertThat(big + MiB - 1).isLessThanOrEqualTo(0x7fff_ffffL);
        long limited = Layout.initrdAddress(2 * GiB, MiB, 0x37ff_ffffL, 30 * MiB);
        assertThat(limited).isEqualTo(0x3800_0000L - MiB);
    }

    @Test
    void initrdThatDoesNotFitAboveTheKernelIsRejectedWithAHint() {
        assertThatThrownBy(() -> Layout.initrdAddress(64 * MiB, 40 * MiB, BootParams.DEFAULT_INITRD_ADDR_MAX, 30 * MiB))
                .isInstanceOf(BootSetupException.class)
                .hasMessageContaining("does not fit")
                .hasMessageContaining("more memory");
        assertThatThrownBy(() -> Layout.initrdAddress(64 * MiB, 0, BootParams.DEFAULT_INITRD_ADDR_MAX, 30 * MiB))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void lowBootStructuresAreDisjointAndBelowTheEbda() {
        List<long[]> ranges = new ArrayList<>();
        ranges.add(new long[] {Layout.GDT_ADDRESS, Gdt.SIZE});
        ranges.add(new long[] {Layout.IDT_ADDRESS, Gdt.IDT_LIMIT + 1});
        ranges.add(new long[] {Layout.ZERO_PAGE_ADDRESS, BootParams.SIZE});
        ranges.add(new long[] {Layout.BOOT_STACK_POINTER - 0x800, 0x800}); // stack head room
        ranges.add(new long[] {Layout.PML4_ADDRESS, Layout.PAGE_SIZE});
        ranges.add(new long[] {Layout.PDPT_ADDRESS, Layout.PAGE_SIZE});
        ranges.add(new long[] {Layout.PD_ADDRESS, Layout.PD_COUNT * Layout.PAGE_SIZE});
        ranges.add(new long[] {Layout.CMDLINE_ADDRESS, Layout.CMDLINE_MAX_SIZE});
        for (int i = 0; i < ranges.size(); i++) {
            long[] a = ranges.get(i);
            assertThat(a[0] + a[1]).as("range %d ends below the EBDA", i).isLessThanOrEqualTo(Layout.EBDA_START);
            for (int j = i + 1; j < ranges.size(); j++) {
                long[] b = ranges.get(j);
                boolean disjoint = a[0] + a[1] <= b[0] || b[0] + b[1] <= a[0];
                assertThat(disjoint).as("ranges %d and %d are disjoint", i, j).isTrue();
            }
        }
        assertThat(Layout.BOOT_STACK_POINTER % 16).isZero();
        assertThat(Layout.PML4_ADDRESS % Layout.PAGE_SIZE).isZero();
        assertThat(Layout.PDPT_ADDRESS % Layout.PAGE_SIZE).isZero();
        assertThat(Layout.PD_ADDRESS % Layout.PAGE_SIZE).isZero();
    }
}
