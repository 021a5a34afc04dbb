package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Resident-page accounting of guest RAM (mincore needs no /dev/kvm: tier 1). */
class MmapGuestMemoryResidencyTest {
    private static final long PAGE = 4096;
    private static final long HUGE_PAGE = 2 * 1024 * 1024;

    @Test
    void untouchedMemoryIsNotResident() {
        try (MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 16 * HUGE_PAGE)))) {
            assertThat(m.residentBytes()).isZero();
        }
    }

    @Test
    void touchedPagesAreCountedInEveryRegion() {
        try (MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, 16 * HUGE_PAGE),
                MemoryRegion.of(0x1_0000_0000L, 4 * HUGE_PAGE)))) {
            m.writeInt(GuestAddress.of(0), 1);
            m.writeInt(GuestAddress.of(5 * PAGE), 1);
            m.writeInt(GuestAddress.of(0x1_0000_0000L + 3 * PAGE), 1);
            long resident = m.residentBytes();
            // three pages, or whole huge pages where the host backs anonymous memory with them
            assertThat(resident).isGreaterThanOrEqualTo(3 * PAGE).isLessThanOrEqualTo(3 * HUGE_PAGE);
        }
    }

    @Test
    void closedMemoryReportsNothingInsteadOfTouchingTheUnmappedRange() {
        MmapGuestMemory m = MmapGuestMemory.create(List.of(MemoryRegion.of(0, HUGE_PAGE)));
        m.writeInt(GuestAddress.of(0), 1);
        m.close();
        assertThat(m.residentBytes()).isZero();
    }
}
