package dev.arrow.kvm.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.memory.MemoryRegion;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The MMIO face of read-only guest memory on a bus (tier 1). */
class ReadOnlyMemoryTest {
    final HeapGuestMemory memory = new HeapGuestMemory(List.of(MemoryRegion.of(0x10000, 0x1000)));
    final ReadOnlyMemory device = new ReadOnlyMemory("image", memory, MemoryRegion.of(0x10000, 0x1000));
    final IoBus bus = new IoBus("mmio");

    @Test
    void writesAreDroppedAndCountedAndReadsComeFromTheMemory() {
        memory.writeInt(GuestAddress.of(0x10010), 0x11223344);
        bus.register("image", 0x10000, 0x1000, device);
        for (int i = 0; i < ReadOnlyMemory.LOGGED_WRITES + 5; i++) {
            assertThat(bus.write(0x10010, new byte[] {1, 2, 3, 4})).isTrue();
        }
        assertThat(device.refusedWrites()).isEqualTo(ReadOnlyMemory.LOGGED_WRITES + 5);
        byte[] read = new byte[4];
        assertThat(bus.read(0x10010, read)).isTrue();
        assertThat(read).containsExactly(0x44, 0x33, 0x22, 0x11);
        assertThat(memory.readInt(GuestAddress.of(0x10010))).isEqualTo(0x11223344);
    }

    @Test
    void theMemoryMustHoldTheWholeRange() {
        assertThatThrownBy(() -> new ReadOnlyMemory("image", memory, MemoryRegion.of(0x10000, 0x2000)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not hold");
    }
}
