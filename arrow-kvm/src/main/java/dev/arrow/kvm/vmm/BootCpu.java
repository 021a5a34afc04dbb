package dev.arrow.kvm.vmm;

import dev.arrow.kvm.DescriptorTable;
import dev.arrow.kvm.Fpu;
import dev.arrow.kvm.Regs;
import dev.arrow.kvm.Sregs;
import dev.arrow.kvm.Vcpu;
import dev.arrow.kvm.x86.BootCpuState;

/**
 * Loads a {@link BootCpuState} (the x86 boot code's register values) into a vCPU: special
 * registers on top of the vCPU's reset state, general registers, and an FPU in its FNINIT state.
 */
public final class BootCpu {
    private BootCpu() {
    }

    /** The special registers of {@code state}, starting from {@code base} (the vCPU's current ones). */
    public static Sregs sregs(Sregs base, BootCpuState state) {
        return base.cs(state.code())
                .dataSegments(state.data())
                .tr(state.tss())
                .gdt(new DescriptorTable(state.gdtBase(), state.gdtLimit()))
                .idt(new DescriptorTable(state.idtBase(), state.idtLimit()))
                .cr0(state.cr0())
                .cr3(state.cr3())
                .cr4(state.cr4())
                .efer(state.efer());
    }

    /** The general registers of {@code state}; the others are zero. */
    public static Regs regs(BootCpuState state) {
        return new Regs().rip(state.rip()).rsp(state.rsp()).rsi(state.rsi()).rflags(state.rflags())
                .set(Regs.Reg.RBP, state.rsp());
    }

    /** x87 and SSE in their power-on defaults. */
    public static Fpu fpu() {
        return new Fpu().fcw(Fpu.FCW_DEFAULT).mxcsr(Fpu.MXCSR_DEFAULT);
    }

    /** Applies all three to {@code vcpu}. */
    public static void apply(Vcpu vcpu, BootCpuState state) {
        vcpu.setSregs(sregs(vcpu.getSregs(), state));
        vcpu.setRegs(regs(state));
        vcpu.setFpu(fpu());
    }
}
