package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.x86.Gdt;
import dev.arrow.testing.KvmTest;
import org.junit.jupiter.api.Test;

/** Tier 2: interrupts injected through the in-kernel irqchip reach the guest's handler. */
@KvmTest
class InterruptTest {
    static final long MiB = 1L << 20;
    static final int ENTRY = 0x1000;
    static final int HANDLER = 0x1100;
    static final int PIC_VECTOR_BASE = 0x20;
    static final int IRQ = 4;

    /**
     * Real-mode code that programs the master PIC (vectors from 0x20, only IRQ 4 unmasked),
     * reports "ready" on port 0x10, then waits with interrupts on. The handler reports on 0x11.
     */
    private static byte[] picGuest() {
        Asm a = Asm.real()
                .movAl(0x11).outAl(0x20)              // ICW1: edge triggered, cascade, ICW4 follows
                .movAl(PIC_VECTOR_BASE).outAl(0x21)   // ICW2: vector base
                .movAl(0x04).outAl(0x21)              // ICW3: slave on IRQ 2
                .movAl(0x01).outAl(0x21)              // ICW4: 8086 mode
                .movAl(~(1 << IRQ) & 0xFF).outAl(0x21)// OCW1: unmask IRQ 4 only
                .movAl(0x01).outAl(0x10)              // ready
                .sti();
        int wait = a.here();
        a.hlt().jmp(wait);
        a.padTo(HANDLER - ENTRY);
        a.movAl(0x99).outAl(0x11).cli().hlt();
        return a.bytes();
    }

    private static TinyGuest picGuestReady() {
        TinyGuest g = new TinyGuest(2 * MiB, true).realMode(picGuest(), ENTRY);
        // real-mode IVT entry: offset (low word) and segment (high word) of the handler
        g.memory.writeInt(GuestAddress.of(4L * (PIC_VECTOR_BASE + IRQ)), HANDLER);
        g.expectOut(0x10, 1, 0x01);
        return g;
    }

    @Test
    void irqLineThroughThePicRunsTheGuestHandler() {
        try (TinyGuest g = picGuestReady()) {
            g.vm.setIrqLine(IRQ, true);
            g.expectOut(0x11, 1, 0x99);
            g.vm.setIrqLine(IRQ, false);
        }
    }

    @Test
    void signalledIrqfdRunsTheGuestHandler() {
        try (TinyGuest g = picGuestReady(); EventFd irq = EventFd.create()) {
            g.vm.registerIrqfd(irq, IRQ);
            irq.write(1);
            g.expectOut(0x11, 1, 0x99);
            g.vm.unregisterIrqfd(irq, IRQ);
        }
    }

    @Test
    void msiReachesTheLongModeIdtOnceTheGuestEnablesItsLapic() {
        int vector = 0x40;
        long idt = 0x3000;
        long handler = 0x101000;
        Asm main = Asm.longMode()
                .movRbx(0xFEE0_00F0L).movEax(0x1FF).movToRbxPtrEax()   // LAPIC SVR: software enable
                .movAl(0x01).outAl(0x10)                              // ready
                .sti();
        int wait = main.here();
        main.hlt().jmp(wait);
        byte[] isr = Asm.longMode().movAl(0x77).outAl(0x11).cli().hlt().bytes();
        try (TinyGuest g = new TinyGuest(2 * MiB, true).longMode(main.bytes(), 0x100000)) {
            g.memory.write(GuestAddress.of(handler), isr);
            // 64-bit interrupt gate for the vector: offset, code selector, present DPL 0 type 0xE
            long low = (handler & 0xFFFF) | ((long) Gdt.CODE_SELECTOR << 16) | (0x8EL << 40)
                    | (((handler >>> 16) & 0xFFFF) << 48);
            g.memory.writeLong(GuestAddress.of(idt + 16L * vector), low);
            g.memory.writeLong(GuestAddress.of(idt + 16L * vector + 8), handler >>> 32);
            Sregs s = g.vcpu.getSregs();
            g.vcpu.setSregs(s.idt(new DescriptorTable(idt, 16 * 256 - 1)));

            g.expectOut(0x10, 1, 0x01);
            // fixed delivery to APIC id 0
            assertThat(g.vm.signalMsi(0xFEE0_0000L, vector)).as("MSI delivered").isTrue();
            g.expectOut(0x11, 1, 0x77);
        }
    }

    @Test
    void msiToADisabledLapicIsNotDelivered() {
        try (TinyGuest g = new TinyGuest(2 * MiB, true)) {
            // after reset the LAPIC is software-disabled: KVM reports the MSI as blocked
            assertThat(g.vm.signalMsi(0xFEE0_0000L, 0x40)).isFalse();
        }
    }

    @Test
    void ioeventfdAbsorbsTheGuestWriteWithoutAnExit() {
        byte[] code = Asm.real().movAl(0x07).outAl(0x50).outAl(0x50).movAl(0x08).outAl(0x10).hlt().bytes();
        try (TinyGuest g = new TinyGuest(2 * MiB, false).realMode(code, ENTRY);
             EventFd notify = EventFd.create(true)) {
            g.vm.registerIoEvent(notify, Vm.AddressSpace.PIO, 0x50, 1, null);
            g.expectOut(0x10, 1, 0x08);
            assertThat(notify.read()).as("eventfd counter after two guest writes").isEqualTo(2);
            g.vm.unregisterIoEvent(notify, Vm.AddressSpace.PIO, 0x50, 1, null);
        }
    }

    @Test
    void ioeventfdWithDatamatchOnlyCatchesThatValue() {
        byte[] code = Asm.real().movAl(0x07).outAl(0x50).movAl(0x08).outAl(0x50).hlt().bytes();
        try (TinyGuest g = new TinyGuest(2 * MiB, false).realMode(code, ENTRY);
             EventFd notify = EventFd.create(true)) {
            g.vm.registerIoEvent(notify, Vm.AddressSpace.PIO, 0x50, 1, 7L);
            g.expectOut(0x50, 1, 0x08);      // 7 went to the eventfd, 8 exits
            assertThat(notify.read()).isEqualTo(1);
        }
    }

    /**
     * What a VM's doorbell relies on: one eventfd registered for several datamatch values (several queues) counts
     * each matching write, a value registered for none still exits, and each registration is removed on its own.
     */
    @Test
    void oneEventFdServesSeveralIoeventfdRegistrations() {
        byte[] code = Asm.real().movAl(0x05).outAl(0x50).movAl(0x07).outAl(0x50).movAl(0x08).outAl(0x50).hlt().bytes();
        try (TinyGuest g = new TinyGuest(2 * MiB, false).realMode(code, ENTRY);
             EventFd doorbell = EventFd.create(true)) {
            g.vm.registerIoEvent(doorbell, Vm.AddressSpace.PIO, 0x50, 1, 5L);
            g.vm.registerIoEvent(doorbell, Vm.AddressSpace.PIO, 0x50, 1, 7L);
            g.expectOut(0x50, 1, 0x08);      // 5 and 7 rang the doorbell, 8 exits
            assertThat(doorbell.read()).isEqualTo(2);
            g.vm.unregisterIoEvent(doorbell, Vm.AddressSpace.PIO, 0x50, 1, 5L);
            g.vm.unregisterIoEvent(doorbell, Vm.AddressSpace.PIO, 0x50, 1, 7L);
            assertThatThrownBy(() -> g.vm.unregisterIoEvent(doorbell, Vm.AddressSpace.PIO, 0x50, 1, 7L))
                    .as("already removed").isInstanceOf(KvmApiException.class);
        }
    }
}
