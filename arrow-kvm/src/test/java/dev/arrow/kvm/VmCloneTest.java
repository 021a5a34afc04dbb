package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.sys.KvmCapability;
import dev.arrow.kvm.vmm.BootCpu;
import dev.arrow.kvm.x86.BootCpuState;
import dev.arrow.kvm.x86.CpuidFilter;
import dev.arrow.kvm.x86.Gdt;
import dev.arrow.kvm.x86.MsrEntry;
import dev.arrow.kvm.x86.Msrs;
import dev.arrow.kvm.x86.PageTables;
import dev.arrow.testing.KvmTest;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Tier 2: a tiny long-mode guest counting in guest RAM is frozen after a few steps, its vCPU and
 * VM state are captured, and clones made of a private copy of its RAM (a memory file) and that
 * state continue from the same point, each on its own.
 */
@KvmTest
class VmCloneTest {
    static final long RAM = 2L << 20;
    static final long ENTRY = 0x10_0000;
    static final long COUNTER = 0x18_0000;
    static final int PORT = 0x10;
    static final long WATCHDOG_SECONDS = 20;
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "vm-clone-watchdog");
        t.setDaemon(true);
        return t;
    });

    /** Forever: increment the u32 at COUNTER in memory, write it to PORT. */
    private static final Asm GUEST = Asm.longMode().movRbx(COUNTER);
    private static final int LOOP = GUEST.here();
    private static final int JUMP;
    private static final byte[] CODE;

    static {
        GUEST.movEaxFromRbxPtr()
                .raw(new byte[] {(byte) 0xFF, (byte) 0xC0})   // inc eax: FF /0
                .movToRbxPtrEax()
                .movDx(PORT).outDxEax();
        JUMP = GUEST.here();
        CODE = GUEST.jmp(LOOP).bytes();
    }


    /** A one-vCPU VM with the in-kernel irqchip (and no PIT, as Arrow's VMs) on {@code memory}, which it closes. */
    private static final class Machine implements AutoCloseable {
        final MmapGuestMemory memory;
        final Vm vm;
        final Vcpu vcpu;

        Machine(Kvm kvm, MmapGuestMemory memory) {
            this.memory = memory;
            try {
                vm = kvm.createVm();
                vm.setTssAddress(0xFFFB_D000L);
                vm.registerMemory(memory);
                vm.createIrqchip();
                vcpu = vm.createVcpu(0);
            } catch (RuntimeException e) {
                memory.close();
                throw e;
            }
        }

        /** The counting guest, set up as the boot sets up a kernel's vCPU. */
        static Machine template(Kvm kvm) {
            Machine m = new Machine(kvm, MmapGuestMemory.createShared(List.of(MemoryRegion.of(0, RAM)), "arrow-vm-clone-test"));
            PageTables.write(m.memory);
            Gdt.write(m.memory);
            m.memory.write(GuestAddress.of(ENTRY), CODE);
            CpuidFilter cpuid = new CpuidFilter(1, kvm.hasCapability(KvmCapability.TSC_DEADLINE_TIMER));
            m.vcpu.setCpuid(cpuid.filter(kvm.supportedCpuid(), 0));
            m.vcpu.setMsrs(Msrs.boot());
            BootCpu.apply(m.vcpu, BootCpuState.linux64(ENTRY));
            return m;
        }

        /** A clone: a private copy of {@code template}'s RAM, then its VM and vCPU state. */
        static Machine cloneOf(Kvm kvm, MmapGuestMemory templateRam, VmState vmState, VcpuState vcpuState) {
            Machine m = new Machine(kvm, templateRam.mapPrivateCopy());
            m.vm.restoreState(vmState);
            m.vcpu.restoreState(vcpuState);
            return m;
        }

        /** Runs until the guest reports its counter, and returns it. */
        long step() {
            ScheduledFuture<?> watchdog = WATCHDOG.schedule(vcpu::kick, WATCHDOG_SECONDS, TimeUnit.SECONDS);
            VcpuExit exit;
            try {
                exit = vcpu.run();
            } finally {
                watchdog.cancel(false);
            }
            assertThat(exit).as("exit (rip=0x%x)", vcpu.getRegs().rip()).isInstanceOf(VcpuExit.IoOut.class);
            VcpuExit.IoOut out = (VcpuExit.IoOut) exit;
            assertThat(out.port()).isEqualTo(PORT);
            assertThat(out.size()).isEqualTo(4);
            return out.value();
        }

        long counter() {
            return memory.readInt(GuestAddress.of(COUNTER)) & 0xFFFF_FFFFL;
        }

        @Override
        public void close() {
            vm.close(); // memory slots go before the memory behind them
            memory.close();
        }
    }

    @Test
    void clonesContinueFromTheTemplatesPointEachOnItsOwnAfterTheTemplateIsClosed() {
        try (Kvm kvm = Kvm.open()) {
            Machine template = Machine.template(kvm);
            VcpuState vcpuState;
            VmState vmState;
            Machine a;
            Machine b;
            MmapGuestMemory untouched;
            try {
                assertThat(List.of(template.step(), template.step(), template.step())).containsExactly(1L, 2L, 3L);
                vcpuState = template.vcpu.saveState();
                vmState = template.vm.saveState();
                assertThat(vcpuState.regs().rip()).as("the OUT is complete: the vCPU stands at the jump")
                        .isEqualTo(ENTRY + JUMP);
                a = Machine.cloneOf(kvm, template.memory, vmState, vcpuState);
                b = Machine.cloneOf(kvm, template.memory, vmState, vcpuState);
                untouched = template.memory.mapPrivateCopy();
            } finally {
                template.close();
            }
            try (a; b; untouched) {
                assertThat(a.vcpu.getRegs().rip()).isEqualTo(ENTRY + JUMP);
                assertThat(a.step()).isEqualTo(4);
                assertThat(a.step()).isEqualTo(5);
                assertThat(b.step()).as("a's writes are not b's").isEqualTo(4);
                assertThat(a.step()).isEqualTo(6);
                assertThat(b.step()).isEqualTo(5);
                assertThat(a.counter()).isEqualTo(6);
                assertThat(b.counter()).isEqualTo(5);
                assertThat(untouched.readInt(GuestAddress.of(COUNTER))).as("the template's RAM").isEqualTo(3);
            }
        }
    }

    @Test
    void aResetCloneStartsOverFromTheTemplatesPoint() {
        try (Kvm kvm = Kvm.open(); Machine template = Machine.template(kvm)) {
            template.step();
            template.step();
            VcpuState vcpuState = template.vcpu.saveState();
            VmState vmState = template.vm.saveState();
            try (Machine clone = Machine.cloneOf(kvm, template.memory, vmState, vcpuState)) {
                assertThat(List.of(clone.step(), clone.step(), clone.step())).containsExactly(3L, 4L, 5L);

                clone.memory.reset();
                assertThat(clone.counter()).isEqualTo(2);
                clone.vm.restoreState(vmState);
                clone.vcpu.restoreState(vcpuState);

                assertThat(List.of(clone.step(), clone.step())).containsExactly(3L, 4L);
                assertThat(template.counter()).isEqualTo(2);
            }
        }
    }

    @Test
    void aCloneReportsTheStateItWasGiven() {
        try (Kvm kvm = Kvm.open(); Machine template = Machine.template(kvm)) {
            template.step();
            VcpuState saved = template.vcpu.saveState();
            VmState vmState = template.vm.saveState();
            List<Integer> savedMsrs = saved.msrs().stream().map(MsrEntry::index).toList();
            assertThat(savedMsrs).as("MSRs saved of %s", kvm.msrIndexList())
                    .contains(Msrs.LSTAR, Msrs.STAR, Msrs.IA32_TSC, Msrs.IA32_MISC_ENABLE);
            try (Machine clone = Machine.cloneOf(kvm, template.memory, vmState, saved)) {
                VcpuState restored = clone.vcpu.saveState();
                assertThat(restored.mpState()).isEqualTo(saved.mpState());
                assertThat(restored.regs().toString()).isEqualTo(saved.regs().toString());
                Sregs s = restored.sregs();
                Sregs t = saved.sregs();
                assertThat(List.of(s.cr0(), s.cr3(), s.cr4(), s.efer())).isEqualTo(List.of(t.cr0(), t.cr3(), t.cr4(), t.efer()));
                assertThat(restored.cpuid()).isEqualTo(saved.cpuid());
                assertThat(restored.xcrs()).isEqualTo(saved.xcrs());
                assertThat(restored.debugRegs()).isEqualTo(saved.debugRegs());
                assertThat(restored.lapic().register(LapicState.APIC_LVT0))
                        .isEqualTo(saved.lapic().register(LapicState.APIC_LVT0));
                assertThat(restored.msrs().stream().map(MsrEntry::index).toList()).isEqualTo(savedMsrs);
                assertThat(restored.msrs()).as("MSRs other than the TSC keep their values")
                        .filteredOn(e -> e.index() != Msrs.IA32_TSC)
                        .isEqualTo(saved.msrs().stream().filter(e -> e.index() != Msrs.IA32_TSC).toList());
                long clock = clone.vm.getClock().clockNanos();
                assertThat(clock).as("the clone's kvmclock continues from the template's")
                        .isBetween(vmState.clock().clockNanos(), vmState.clock().clockNanos() + TimeUnit.SECONDS.toNanos(60));
                assertThat(clone.step()).isEqualTo(2);
            }
        }
    }
}
