package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.Segment;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import org.junit.jupiter.api.Test;

class GdtTest {

    @Test
    void flatDescriptorsHaveTheWellKnownEncodings() {
        // Flat 64-bit code (G, L, P, DPL0, execute/read accessed) and flat data (G, D/B, P, read/write accessed).
        assertThat(Gdt.CODE_DESCRIPTOR).isEqualTo(0x00af_9b00_0000_ffffL);
        assertThat(Gdt.DATA_DESCRIPTOR).isEqualTo(0x00cf_9300_0000_ffffL);
        assertThat(Gdt.TSS_DESCRIPTOR).isEqualTo(0x0000_8b00_0000_0067L);
    }

    @Test
    void selectorsAreTheBootProtocols() {
        assertThat(Gdt.CODE_SELECTOR).isEqualTo(0x10); // __BOOT_CS
        assertThat(Gdt.DATA_SELECTOR).isEqualTo(0x18); // __BOOT_DS
        long[] d = Gdt.descriptors();
        assertThat(d[Gdt.CODE_SELECTOR / 8]).isEqualTo(Gdt.CODE_DESCRIPTOR);
        assertThat(d[Gdt.DATA_SELECTOR / 8]).isEqualTo(Gdt.DATA_DESCRIPTOR);
        assertThat(d[Gdt.TSS_SELECTOR / 8]).isEqualTo(Gdt.TSS_DESCRIPTOR);
        assertThat(d[0]).isZero();
        assertThat(d[Gdt.TSS_SELECTOR / 8 + 1]).as("upper half of the 16-byte TSS descriptor").isZero();
        assertThat(d.length * 8).isEqualTo(Gdt.SIZE);
    }

    @Test
    void codeSegmentRegisterIsFlatLongMode() {
        Segment cs = Gdt.code();
        assertThat(cs.base()).isZero();
        assertThat(cs.limit()).isEqualTo(0xffff_ffff);
        assertThat(cs.selector()).isEqualTo(0x10);
        assertThat(cs.type()).isEqualTo(0xb);
        assertThat(cs.present()).isTrue();
        assertThat(cs.dpl()).isZero();
        assertThat(cs.s()).isTrue();
        assertThat(cs.l()).isTrue();
        assertThat(cs.db()).as("D must be 0 with L=1").isFalse();
        assertThat(cs.g()).isTrue();
        assertThat(cs.avl()).isFalse();
        assertThat(cs.unusable()).isFalse();
    }

    @Test
    void dataAndTssSegmentRegisters() {
        Segment ds = Gdt.data();
        assertThat(ds.type()).isEqualTo(0x3);
        assertThat(ds.db()).isTrue();
        assertThat(ds.l()).isFalse();
        assertThat(ds.limit()).isEqualTo(0xffff_ffff);
        assertThat(ds.selector()).isEqualTo(0x18);
        Segment tr = Gdt.tss();
        assertThat(tr.type()).as("busy 64-bit TSS").isEqualTo(0xb);
        assertThat(tr.s()).isFalse();
        assertThat(tr.g()).isFalse();
        assertThat(tr.limit()).isEqualTo(0x67);
        assertThat(tr.present()).isTrue();
    }

    @Test
    void decodeInvertsEncodeForArbitraryFields() {
        long d = Gdt.descriptor(0x12345678L, 0xabcde, 0xf2, Gdt.FLAG_AVL | Gdt.FLAG_DB);
        Segment s = Gdt.decode(d, 0x2b);
        assertThat(s.base()).isEqualTo(0x12345678L);
        assertThat(s.limit()).isEqualTo(0xabcde);
        assertThat(s.type()).isEqualTo(0x2);
        assertThat(s.s()).isTrue();
        assertThat(s.dpl()).isEqualTo(3);
        assertThat(s.present()).isTrue();
        assertThat(s.avl()).isTrue();
        assertThat(s.db()).isTrue();
        assertThat(s.l()).isFalse();
        assertThat(s.g()).isFalse();
        assertThat(s.selector()).isEqualTo(0x2b);
    }

    @Test
    void aSegmentThatIsNotPresentIsUnusable() {
        Segment s = Gdt.decode(Gdt.descriptor(0, 0, Gdt.ACCESS_DATA & 0x7f, 0), 0x28);
        assertThat(s.present()).isFalse();
        assertThat(s.unusable()).isTrue();
    }

    @Test
    void descriptorFieldsAreRangeChecked() {
        assertThatThrownBy(() -> Gdt.descriptor(0x1_0000_0000L, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Gdt.descriptor(0, 0x100000, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Gdt.descriptor(0, 0, 0x100, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Gdt.descriptor(0, 0, 0, 0x10)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void writeStoresGdtAndEmptyIdt() {
        HeapGuestMemory memory = HeapGuestMemory.ofSize(Layout.MIN_RAM_SIZE);
        memory.fill(GuestAddress.of(0), 0x1000, (byte) 0xcc);
        Gdt.write(memory);
        long[] d = Gdt.descriptors();
        for (int i = 0; i < d.length; i++) {
            assertThat(memory.readLong(GuestAddress.of(Layout.GDT_ADDRESS + 8L * i))).isEqualTo(d[i]);
        }
        assertThat(memory.readLong(GuestAddress.of(Layout.IDT_ADDRESS))).isZero();
        assertThat(memory.readByte(GuestAddress.of(Layout.GDT_ADDRESS + Gdt.SIZE))).as("no spill past the GDT").isEqualTo((byte) 0xcc);
    }
}
