package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import org.junit.jupiter.api.Test;

class PageTablesTest {

    private static final long ADDRESS_MASK = 0x000f_ffff_ffff_f000L;

    /** Walks 4-level paging like the MMU; returns -1 for a non-present mapping. */
    private static long translate(HeapGuestMemory m, long cr3, long va) {
        long pml4e = m.readLong(GuestAddress.of((cr3 & ADDRESS_MASK) + 8 * ((va >>> 39) & 511)));
        if ((pml4e & 1) == 0) {
            return -1;
        }
        long pdpte = m.readLong(GuestAddress.of((pml4e & ADDRESS_MASK) + 8 * ((va >>> 30) & 511)));
        if ((pdpte & 1) == 0) {
            return -1;
        }
        assertThat(pdpte & PageTables.PAGE_SIZE_2M).as("no 1 GiB pages").isZero();
        long pde = m.readLong(GuestAddress.of((pdpte & ADDRESS_MASK) + 8 * ((va >>> 21) & 511)));
        if ((pde & 1) == 0) {
            return -1;
        }
        assertThat(pde & PageTables.PAGE_SIZE_2M).as("2 MiB page").isNotZero();
        assertThat(pde & PageTables.PAGE_WRITABLE).isNotZero();
        return (pde & 0x000f_ffff_ffe0_0000L) | (va & 0x1f_ffffL);
    }

    @Test
    void firstFourGibAreIdentityMappedWith2MibPages() {
        HeapGuestMemory memory = HeapGuestMemory.ofSize(Layout.MIN_RAM_SIZE);
        long cr3 = PageTables.write(memory);
        assertThat(cr3).isEqualTo(Layout.PML4_ADDRESS);
        long[] probes = {0, 0x7000, 0x100200, 0x1000000, 0x3fff_ffffL, 0x4000_0000L, 0xbfff_f123L,
                0xfee0_0000L, 0xffff_ffffL};
        for (long va : probes) {
            assertThat(translate(memory, cr3, va)).as("va 0x%x", va).isEqualTo(va);
        }
        for (long va = 0; va < PageTables.MAPPED_BYTES; va += PageTables.LARGE_PAGE_SIZE) {
            assertThat(translate(memory, cr3, va + 0x1234)).isEqualTo(va + 0x1234);
        }
    }

    @Test
    void nothingAboveFourGibIsMapped() {
        HeapGuestMemory memory = HeapGuestMemory.ofSize(Layout.MIN_RAM_SIZE);
        long cr3 = PageTables.write(memory);
        assertThat(translate(memory, cr3, 0x1_0000_0000L)).isEqualTo(-1);
        assertThat(translate(memory, cr3, 0x80_0000_0000L)).isEqualTo(-1);
    }

    @Test
    void staleEntriesInTheTablePagesAreCleared() {
        HeapGuestMemory memory = HeapGuestMemory.ofSize(Layout.MIN_RAM_SIZE);
        memory.fill(GuestAddress.of(Layout.PML4_ADDRESS), 3 * Layout.PAGE_SIZE, (byte) 0xff);
        long cr3 = PageTables.write(memory);
        assertThat(memory.readLong(GuestAddress.of(Layout.PML4_ADDRESS + 8))).isZero();
        assertThat(memory.readLong(GuestAddress.of(Layout.PDPT_ADDRESS + 8 * 4))).isZero();
        assertThat(translate(memory, cr3, 0x1_0000_0000L)).isEqualTo(-1);
    }
}
