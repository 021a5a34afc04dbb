package dev.arrow.kvm.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class HeapGuestMemoryTest extends GuestMemoryContractTest {

    @Override
    GuestMemory create(List<MemoryRegion> regions) {
        return new HeapGuestMemory(regions);
    }

    @Test
    void regionsAreSortedByAddress() {
        assertThat(((HeapGuestMemory) memory).regions()).extracting(r -> r.start().value())
                .containsExactly(0x1000L, 0x3000L, 0x10000L);
    }

    @Test
    void overlappingRegionsAreRejected() {
        assertThatThrownBy(() -> new HeapGuestMemory(List.of(MemoryRegion.of(0, 0x2000), MemoryRegion.of(0x1000, 0x1000))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlap");
    }

    @Test
    void emptyAndWrappingRegionsAreRejected() {
        assertThatThrownBy(() -> new HeapGuestMemory(List.of()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MemoryRegion.of(0x1000, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MemoryRegion.of(-0x1000, 0x2000))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("wraps");
    }

    @Test
    void aRegionMayEndAtTheTopOfTheAddressSpace() {
        HeapGuestMemory m = new HeapGuestMemory(GuestAddress.of(-0x1000L), 0x1000);
        m.writeLong(GuestAddress.of(-8L), 42);
        assertThat(m.readLong(GuestAddress.of(-8L))).isEqualTo(42);
        assertThatThrownBy(() -> m.readLong(GuestAddress.of(-4L))).isInstanceOf(GuestMemoryException.class);
    }

    @Test
    void ofSizeStartsAtZero() {
        HeapGuestMemory m = HeapGuestMemory.ofSize(4096);
        assertThat(m.isValid(GuestAddress.of(0), 4096)).isTrue();
        assertThat(m.size()).isEqualTo(4096);
    }
}
