package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.x86.CpuidEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Our encodings of the kernel structs, checked against offsets from {@code <linux/kvm.h>}. */
class StructLayoutTest {

    private static ByteBuffer buffer(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void regsPutEachRegisterAtItsStructOffset() {
        Regs r = new Regs();
        long v = 0x1000;
        for (Regs.Reg reg : Regs.Reg.values()) {
            r.set(reg, v++);
        }
        ByteBuffer b = buffer(Regs.SIZE);
        r.encode(b);
        assertThat(b.getLong(0)).isEqualTo(0x1000);      // rax
        assertThat(b.getLong(48)).isEqualTo(0x1006);     // rsp
        assertThat(b.getLong(64)).isEqualTo(0x1008);     // r8
        assertThat(b.getLong(128)).isEqualTo(0x1010);    // rip
        assertThat(b.getLong(136)).isEqualTo(0x1011);    // rflags
        assertThat(Regs.offsetOf(Regs.Reg.RIP)).isEqualTo(128);
        Regs back = Regs.decode(b);
        for (Regs.Reg reg : Regs.Reg.values()) {
            assertThat(back.get(reg)).as(reg.name()).isEqualTo(r.get(reg));
        }
    }

    @Test
    void newRegsHaveTheReservedFlagBitSet() {
        assertThat(new Regs().rflags()).isEqualTo(0x2);
    }

    @Test
    void segmentFieldsSitAtKernelOffsets() {
        Segment s = new Segment(0x1122334455667788L, 0xFFFFF, 0x18, 0xB, true, 3, false, true, true, true, false, false);
        ByteBuffer b = buffer(64);
        s.encode(b, 8);
        assertThat(b.getLong(8)).isEqualTo(0x1122334455667788L);
        assertThat(b.getInt(16)).isEqualTo(0xFFFFF);
        assertThat(b.getShort(20)).isEqualTo((short) 0x18);
        assertThat(b.get(22)).isEqualTo((byte) 0xB);   // type at 14
        assertThat(b.get(23)).isEqualTo((byte) 1);     // present
        assertThat(b.get(24)).isEqualTo((byte) 3);     // dpl
        assertThat(b.get(25)).isEqualTo((byte) 0);     // db
        assertThat(b.get(26)).isEqualTo((byte) 1);     // s
        assertThat(b.get(27)).isEqualTo((byte) 1);     // l
        assertThat(b.get(28)).isEqualTo((byte) 1);     // g
        assertThat(b.get(30)).isEqualTo((byte) 0);     // unusable at 22
        assertThat(Segment.decode(b, 8)).isEqualTo(s);
    }

    @Test
    void realModeSegmentHasBaseSixteenTimesSelector() {
        Segment s = Segment.realMode(0x2000, false);
        assertThat(s.base()).isEqualTo(0x20000);
        assertThat(s.limit()).isEqualTo(0xFFFF);
    }

    @Test
    void sregsPutEveryFieldAtItsStructOffset() {
        Sregs s = new Sregs()
                .cs(new Segment(0xC5, 1, 8, 0xB, true, 0, false, true, true, true, false, false))
                .ss(new Segment(0x55, 2, 0x10, 3, true, 0, true, true, false, true, false, false))
                .tr(new Segment(0x77, 0x67, 0x18, 0xB, true, 0, false, false, false, false, false, false))
                .gdt(new DescriptorTable(0x500, 0x2F))
                .idt(new DescriptorTable(0x540, 0x7))
                .cr0(0x80050033L).cr2(0xC2).cr3(0x9000).cr4(0x20).cr8(0x8).efer(0x500).apicBase(0xFEE00900L)
                .interruptBitmap(new long[] {1, 2, 3, 4});
        ByteBuffer b = buffer(Sregs.SIZE);
        s.encode(b);
        assertThat(b.getLong(0)).isEqualTo(0xC5);          // cs.base
        assertThat(b.getLong(120)).isEqualTo(0x55);        // ss.base
        assertThat(b.getLong(144)).isEqualTo(0x77);        // tr.base
        assertThat(b.getLong(192)).isEqualTo(0x500);       // gdt.base
        assertThat(b.getShort(200)).isEqualTo((short) 0x2F);
        assertThat(b.getLong(208)).isEqualTo(0x540);       // idt.base
        assertThat(b.getLong(224)).isEqualTo(0x80050033L); // cr0
        assertThat(b.getLong(232)).isEqualTo(0xC2);        // cr2
        assertThat(b.getLong(240)).isEqualTo(0x9000);      // cr3
        assertThat(b.getLong(248)).isEqualTo(0x20);        // cr4
        assertThat(b.getLong(256)).isEqualTo(0x8);         // cr8
        assertThat(b.getLong(264)).isEqualTo(0x500);       // efer
        assertThat(b.getLong(272)).isEqualTo(0xFEE00900L); // apic_base
        assertThat(b.getLong(280)).isEqualTo(1);           // interrupt_bitmap[0]
        assertThat(b.getLong(304)).isEqualTo(4);           // interrupt_bitmap[3]
        Sregs back = Sregs.decode(b);
        assertThat(back.cs()).isEqualTo(s.cs());
        assertThat(back.ss()).isEqualTo(s.ss());
        assertThat(back.tr()).isEqualTo(s.tr());
        assertThat(back.gdt()).isEqualTo(s.gdt());
        assertThat(back.efer()).isEqualTo(0x500);
        assertThat(back.interruptBitmap()).containsExactly(1, 2, 3, 4);
    }

    @Test
    void fpuControlWordsSitAtKernelOffsets() {
        Fpu f = new Fpu().fcw(Fpu.FCW_DEFAULT).mxcsr(Fpu.MXCSR_DEFAULT).ftwx(0x81);
        byte[] x = new byte[16];
        x[0] = 0x42;
        x[15] = 0x24;
        f.xmm(15, x);
        ByteBuffer b = buffer(Fpu.SIZE);
        f.encode(b);
        assertThat(b.getShort(128)).isEqualTo((short) 0x37F);
        assertThat(b.get(132)).isEqualTo((byte) 0x81);
        assertThat(b.getInt(408)).isEqualTo(0x1F80);
        assertThat(b.get(152 + 15 * 16)).isEqualTo((byte) 0x42);
        assertThat(b.get(152 + 15 * 16 + 15)).isEqualTo((byte) 0x24);
        Fpu back = Fpu.decode(b);
        assertThat(back.fcw()).isEqualTo(0x37F);
        assertThat(back.mxcsr()).isEqualTo(0x1F80);
        assertThat(back.xmm(15)).isEqualTo(x);
    }

    @Test
    void lapicRegistersAreLittleEndianAtTheirOffsets() {
        LapicState s = new LapicState().register(LapicState.APIC_LVT0, 0x10000);
        s.deliveryMode(LapicState.APIC_LVT0, LapicState.DELIVERY_EXTINT);
        assertThat(s.register(LapicState.APIC_LVT0)).isEqualTo(0x10700);
        ByteBuffer b = buffer(LapicState.SIZE);
        s.encode(b);
        assertThat(b.getInt(0x350)).isEqualTo(0x10700);
        assertThatThrownBy(() -> s.register(0x351)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.register(1024)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void cpuidEntriesRoundTripThroughKvmCpuid2() {
        List<CpuidEntry> entries = List.of(new CpuidEntry(0, 0, 0, 0xD, 0x756E6547, 0x6C65746E, 0x49656E69),
                new CpuidEntry(7, 1, CpuidEntry.FLAG_SIGNIFICANT_INDEX, 1, 2, 3, 4));
        ByteBuffer b = buffer(Kvm.cpuidStructSize(4));
        Kvm.encodeCpuid(b, entries);
        assertThat(b.getInt(0)).isEqualTo(2);
        assertThat(b.getInt(8 + 40)).isEqualTo(7);       // second entry's function
        assertThat(b.getInt(8 + 40 + 4)).isEqualTo(1);   // index
        assertThat(b.getInt(8 + 40 + 24)).isEqualTo(4);  // edx
        assertThat(Kvm.decodeCpuid(b, 4)).isEqualTo(entries);
    }

    @Test
    void cpuidDecodeRejectsACountBeyondTheBuffer() {
        ByteBuffer b = buffer(Kvm.cpuidStructSize(2));
        b.putInt(0, 3);
        assertThatThrownBy(() -> Kvm.decodeCpuid(b, 2)).isInstanceOf(KvmException.class)
                .hasMessageContaining("3 entries");
    }
}
