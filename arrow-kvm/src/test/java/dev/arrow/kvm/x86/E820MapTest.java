package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.x86.E820Map.Entry;
import dev.arrow.kvm.x86.E820Map.Type;
import org.junit.jupiter.api.Test;

class E820MapTest {

    private static final long MiB = Layout.MiB;
    private static final long GiB = Layout.GiB;

    @Test
    void smallVmHasLowRamTheIsaHoleAndHighRam() {
        E820Map map = E820Map.forRam(128 * MiB);
        assertThat(map.entries()).containsExactly(
                new Entry(0, 0x9fc00, Type.RAM),
                new Entry(0x9fc00, 0x100000 - 0x9fc00, Type.RESERVED),
                new Entry(0x100000, 128 * MiB - 0x100000, Type.RAM));
        assertThat(map.ramBytes()).isEqualTo(128 * MiB - (0x100000 - 0x9fc00));
    }

    @Test
    void bigVmSkipsTheMmioHole() {
        E820Map map = E820Map.forRam(6 * GiB);
        assertThat(map.entries()).hasSize(4);
        assertThat(map.entries().get(2)).isEqualTo(new Entry(0x100000, 3 * GiB - 0x100000, Type.RAM));
        assertThat(map.entries().get(3)).isEqualTo(new Entry(4 * GiB, 3 * GiB, Type.RAM));
        for (Entry e : map.entries()) {
            boolean inHole = e.address() < 4 * GiB && e.end() > 3 * GiB;
            assertThat(inHole).as("%s avoids the MMIO hole", e).isFalse();
        }
    }

    @Test
    void builderSortsEntries() {
        E820Map map = E820Map.builder()
                .add(0x100000, 0x1000, Type.RAM)
                .add(0, 0x1000, Type.RAM)
                .build();
        assertThat(map.entries()).extracting(Entry::address).containsExactly(0L, 0x100000L);
    }

    @Test
    void overlappingEntriesAreRejected() {
        assertThatThrownBy(() -> E820Map.builder()
                .add(0, 0x2000, Type.RAM)
                .add(0x1000, 0x1000, Type.RESERVED)
                .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("overlap")
                .hasMessageContaining("[0x0-0x2000)")
                .hasMessageContaining("[0x1000-0x2000)");
    }

    @Test
    void adjacentEntriesAreFine() {
        assertThat(E820Map.builder().add(0, 0x1000, Type.RAM).add(0x1000, 0x1000, Type.RESERVED).build().entries())
                .hasSize(2);
    }

    @Test
    void emptyNegativeAndWrappingEntriesAreRejected() {
        assertThatThrownBy(() -> E820Map.builder().add(0, 0, Type.RAM).build()).hasMessageContaining("empty or out of range");
        assertThatThrownBy(() -> E820Map.builder().add(-4096, 0x1000, Type.RAM).build()).hasMessageContaining("out of range");
        assertThatThrownBy(() -> E820Map.builder().add(Long.MAX_VALUE - 10, 100, Type.RAM).build()).hasMessageContaining("out of range");
        assertThatThrownBy(() -> E820Map.builder().build()).hasMessageContaining("empty");
    }

    @Test
    void atMost128EntriesFitTheZeroPage() {
        E820Map.Builder b = E820Map.builder();
        for (int i = 0; i < 128; i++) {
            b.add(i * 0x2000L, 0x1000, Type.RAM);
        }
        assertThat(b.build().entries()).hasSize(128);
        b.add(128 * 0x2000L, 0x1000, Type.RAM);
        assertThatThrownBy(b::build).hasMessageContaining("129 entries");
    }

    @Test
    void typeCodesAreTheKernelsValues() {
        assertThat(Type.RAM.code()).isEqualTo(1);
        assertThat(Type.RESERVED.code()).isEqualTo(2);
        assertThat(Type.ACPI.code()).isEqualTo(3);
        assertThat(Type.NVS.code()).isEqualTo(4);
        assertThat(Type.UNUSABLE.code()).isEqualTo(5);
    }
}
