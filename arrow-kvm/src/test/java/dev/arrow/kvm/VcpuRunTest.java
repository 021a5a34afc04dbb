package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.x86.BootCpuState;
import dev.arrow.testing.KvmTest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tier 2: tiny guests on the host's /dev/kvm, checking what run() decodes. */
@KvmTest
class VcpuRunTest {
    static final long MiB = 1L << 20;
    static final int ENTRY = 0x1000;

    @Test
    void realModeGuestWritesAndReadsPortsWithTheRightSizeAndData() {
        byte[] code = Asm.real()
                .movDx(0x3F8).movAl(0x41).outDxAl()   // out 0x3f8 <- 0x41 (byte)
                .inAlDx()                             // in from 0x3f8: we answer 0x5A
                .movDx(0x10).outDxAl()                // echo it on port 0x10
                .movAx(0x1234).outAx(0x12)            // 16-bit write
                .movDx(0x20).inEaxDx()                // 32-bit read: we answer 0xCAFEBABE
                .outDxEax()                           // echo on 0x20
                .inAlDx()                             // a read nobody answers
                .outDxAl()                            // reads as 0xFF, like an empty bus
                .hlt().bytes();
        try (TinyGuest g = new TinyGuest(2 * MiB, false).realMode(code, ENTRY)) {
            g.expectOut(0x3F8, 1, 0x41);
            VcpuExit.IoIn in = g.runUntil(VcpuExit.IoIn.class);
            assertThat(in.port()).isEqualTo(0x3F8);
            assertThat(in.size()).isEqualTo(1);
            in.respond(0x5A);
            g.expectOut(0x10, 1, 0x5A);
            g.expectOut(0x12, 2, 0x1234);
            VcpuExit.IoIn in32 = g.runUntil(VcpuExit.IoIn.class);
            assertThat(in32.port()).isEqualTo(0x20);
            assertThat(in32.size()).isEqualTo(4);
            in32.respond(0xCAFEBABEL);
            g.expectOut(0x20, 4, 0xCAFEBABEL);
            g.runUntil(VcpuExit.IoIn.class);
            g.expectOut(0x20, 1, 0xFF);
            g.runUntil(VcpuExit.Hlt.class);
        }
    }

    @Test
    void aReadExitCannotBeAnsweredAfterTheVcpuResumed() {
        byte[] code = Asm.real().movDx(0x10).inAlDx().outDxAl().hlt().bytes();
        try (TinyGuest g = new TinyGuest(2 * MiB, false).realMode(code, ENTRY)) {
            VcpuExit.IoIn in = g.runUntil(VcpuExit.IoIn.class);
            g.expectOut(0x10, 1, 0xFF);
            assertThatThrownBy(() -> in.respond(1)).isInstanceOf(KvmException.class)
                    .hasMessageContaining("already resumed");
        }
    }

    @Test
    void mmioOutsideRamExitsWithAddressLengthAndData() {
        // 64 KiB of RAM; DS = 0x2000 points the data accesses at 0x20000, beyond it
        byte[] code = Asm.real()
                .movAx(0x2000).movDsAx()
                .movByteToAbs(0x10, 0xAB)
                .movWordToAbs(0x20, 0xBEEF)
                .movDwordToAbs(0x40, 0xCAFEBABE)
                .movEaxFromAbs(0x30)                 // we answer 0x11223344
                .movDx(0x10).outDxEax()
                .hlt().bytes();
        try (TinyGuest g = new TinyGuest(0x10000, false).realMode(code, ENTRY)) {
            VcpuExit.MmioWrite b = g.runUntil(VcpuExit.MmioWrite.class);
            assertThat(b.address()).isEqualTo(0x20010);
            assertThat(b.length()).isEqualTo(1);
            assertThat(b.data()).containsExactly(0xAB);
            assertThat(g.memory.isValid(GuestAddress.of(b.address()), b.length()))
                    .as("guest write at 0x%x is outside RAM", b.address()).isFalse();
            VcpuExit.MmioWrite w = g.runUntil(VcpuExit.MmioWrite.class);
            assertThat(w.address()).isEqualTo(0x20020);
            assertThat(w.length()).isEqualTo(2);
            assertThat(w.value()).isEqualTo(0xBEEF);
            VcpuExit.MmioWrite d = g.runUntil(VcpuExit.MmioWrite.class);
            assertThat(d.address()).isEqualTo(0x20040);
            assertThat(d.length()).isEqualTo(4);
            assertThat(d.value()).isEqualTo(0xCAFEBABEL);
            VcpuExit.MmioRead r = g.runUntil(VcpuExit.MmioRead.class);
            assertThat(r.address()).isEqualTo(0x20030);
            assertThat(r.length()).isEqualTo(4);
            r.respond(0x11223344);
            g.expectOut(0x10, 4, 0x11223344);
            g.runUntil(VcpuExit.Hlt.class);
        }
    }

    @Test
    void readOnlySlotIsReadableAndWritesExitAsMmio() {
        byte[] code = Asm.real()
                .movAx(0x3000).movDsAx()             // DS base 0x30000: the read-only slot
                .movEaxFromAbs(0x30)                 // plain memory read, no exit
                .movDx(0x10).outDxEax()
                .movByteToAbs(0x10, 0xAB)            // write: exits
                .hlt().bytes();
        try (TinyGuest g = new TinyGuest(0x10000, false);
             MmapGuestMemory rom = MmapGuestMemory.create(List.of(MemoryRegion.of(0x30000, 0x10000)))) {
            rom.writeInt(GuestAddress.of(0x30030), 0x5A5A1234);
            g.vm.registerMemory(rom, true);
            g.realMode(code, ENTRY);
            g.expectOut(0x10, 4, 0x5A5A1234);
            VcpuExit.MmioWrite w = g.runUntil(VcpuExit.MmioWrite.class);
            assertThat(w.address()).isEqualTo(0x30010);
            assertThat(w.value()).isEqualTo(0xAB);
            assertThat(rom.readByte(GuestAddress.of(0x30010))).isZero();
            g.runUntil(VcpuExit.Hlt.class);
            g.vm.close(); // slots go before the memory behind them
        }
    }

    @Test
    void longModeGuestRunsSixtyFourBitCodeOnTheBootPageTables() {
        long outside = 0x4000_0000L; // 1 GiB: mapped by the boot page tables, but not RAM
        byte[] code = Asm.longMode()
                .movRax(0x1122334455667788L).movRbx(outside).movToRbxPtrRax()   // 8-byte store
                .movRaxFromRbxPtr()                                               // 8-byte load
                .movDx(0x10).outDxEax()
                .hlt().bytes();
        try (TinyGuest g = new TinyGuest(2 * MiB, false).longMode(code, 0x100000)) {
            VcpuExit.MmioWrite w = g.runUntil(VcpuExit.MmioWrite.class);
            assertThat(w.address()).isEqualTo(outside);
            assertThat(w.length()).isEqualTo(8);
            assertThat(w.value()).isEqualTo(0x1122334455667788L);
            assertThat(g.memory.isValid(GuestAddress.of(w.address()), w.length()))
                    .as("guest write at 0x%x is outside RAM", w.address()).isFalse();
            VcpuExit.MmioRead r = g.runUntil(VcpuExit.MmioRead.class);
            assertThat(r.address()).isEqualTo(outside);
            assertThat(r.length()).isEqualTo(8);
            r.respond(0x0123456789ABCDEFL);
            g.expectOut(0x10, 4, 0x89ABCDEFL);
            g.runUntil(VcpuExit.Hlt.class);
            Sregs s = g.vcpu.getSregs();
            assertThat(s.efer() & BootCpuState.EFER_LMA).as("EFER.LMA").isNotZero();
            assertThat(s.cs().l()).as("CS.L").isTrue();
        }
    }

    @Test
    void exceptionWithoutAnIdtTripleFaultsIntoShutdown() {
        // The boot IDT has a single non-present slot: #UD cannot be delivered -> #DF -> shutdown.
        byte[] code = Asm.longMode().ud2().hlt().bytes();
        try (TinyGuest g = new TinyGuest(2 * MiB, false).longMode(code, 0x100000)) {
            VcpuExit exit = g.run();
            assertThat(exit).as("exit after a triple fault").isInstanceOf(VcpuExit.Shutdown.class);
        }
    }

    @Test
    void runOnAClosedVcpuFails() {
        try (TinyGuest g = new TinyGuest(2 * MiB, false)) {
            g.vcpu.close();
            assertThatThrownBy(g.vcpu::run).isInstanceOf(KvmException.class).hasMessageContaining("closed");
            assertThatThrownBy(g.vcpu::getRegs).isInstanceOf(KvmException.class).hasMessageContaining("closed");
        }
    }
}
