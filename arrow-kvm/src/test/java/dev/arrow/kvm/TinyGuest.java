package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.vmm.BootCpu;
import dev.arrow.kvm.x86.BootCpuState;
import dev.arrow.kvm.x86.Gdt;
import dev.arrow.kvm.x86.PageTables;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A one-vCPU VM for tier-2 tests: RAM from address 0, optionally the in-kernel irqchip, and
 * helpers to start test code in real mode or long mode. {@link #run()} kicks the vCPU after a
 * watchdog timeout so that a broken guest fails the test instead of hanging it.
 */
final class TinyGuest implements AutoCloseable {
    static final long WATCHDOG_SECONDS = 20;
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tiny-guest-watchdog");
        t.setDaemon(true);
        return t;
    });

    final Kvm kvm;
    final Vm vm;
    final MmapGuestMemory memory;
    final Vcpu vcpu;

    TinyGuest(long ramBytes, boolean irqchip) {
        kvm = Kvm.open();
        memory = MmapGuestMemory.create(List.of(MemoryRegion.of(0, ramBytes)));
        try {
            vm = kvm.createVm();
            vm.setTssAddress(0xFFFB_D000L);
            vm.registerMemory(memory);
            if (irqchip) {
                vm.createIrqchip();
            }
            vcpu = vm.createVcpu(0);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Loads {@code code} at {@code entry} and points a real-mode vCPU (CS = DS = SS = 0) at it. */
    TinyGuest realMode(byte[] code, long entry) {
        memory.write(GuestAddress.of(entry), code);
        Sregs s = vcpu.getSregs();
        s.cs(Segment.realMode(0, true)).dataSegments(Segment.realMode(0, false));
        vcpu.setSregs(s);
        vcpu.setRegs(new Regs().rip(entry).rsp(0x8000));
        return this;
    }

    /**
     * Loads {@code code} at {@code entry} and starts the vCPU in 64-bit mode with the boot page
     * tables (identity map of 4 GiB), GDT and one-slot IDT that the kernel boot uses.
     */
    TinyGuest longMode(byte[] code, long entry) {
        PageTables.write(memory);
        Gdt.write(memory);
        memory.write(GuestAddress.of(entry), code);
        BootCpu.apply(vcpu, BootCpuState.linux64(entry));
        return this;
    }

    /** Runs the vCPU once, kicking it if it has not exited within the watchdog timeout. */
    VcpuExit run() {
        ScheduledFuture<?> watchdog = WATCHDOG.schedule(vcpu::kick, WATCHDOG_SECONDS, TimeUnit.SECONDS);
        try {
            return vcpu.run();
        } finally {
            watchdog.cancel(false);
        }
    }

    /** Runs and checks that the exit has the given type. */
    <T extends VcpuExit> T runUntil(Class<T> type) {
        VcpuExit exit = run();
        assertThat(exit).as("vCPU exit (rip=0x%x)", vcpu.getRegs().rip()).isInstanceOf(type);
        return type.cast(exit);
    }

    /** Runs and expects an 8/16/32-bit port write of {@code value} to {@code port}. */
    void expectOut(int port, int size, long value) {
        VcpuExit.IoOut out = runUntil(VcpuExit.IoOut.class);
        assertThat(out.port()).as("port").isEqualTo(port);
        assertThat(out.size()).as("size").isEqualTo(size);
        assertThat(out.count()).isEqualTo(1);
        assertThat(out.value()).as("value").isEqualTo(value);
    }

    @Override
    public void close() {
        kvm.close();
        memory.close();
    }
}
