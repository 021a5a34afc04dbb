package dev.arrow.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.x86.CpuidEntry;
import dev.arrow.kvm.x86.MsrEntry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** VcpuState and VmState hold what they were given, unchangeable, and refuse mixed-up structs. */
class StateRecordsTest {

    private static KernelStruct zero(KernelStruct.Kind kind) {
        return new KernelStruct(kind, new byte[kind.size()]);
    }

    private static KernelStruct chip(Vm.Irqchip chip) {
        return zero(KernelStruct.Kind.IRQCHIP).withIntAt(0, chip.id());
    }

    private static VcpuState vcpuState(Regs regs, Sregs sregs, LapicState lapic, KernelStruct xsave) {
        return new VcpuState(List.of(new CpuidEntry(0, 0, 0, 0xd, 0, 0, 0)), MpState.RUNNABLE, regs, sregs, xsave,
                zero(KernelStruct.Kind.XCRS), zero(KernelStruct.Kind.DEBUGREGS), lapic,
                List.of(new MsrEntry(0x10, 42)), zero(KernelStruct.Kind.VCPU_EVENTS));
    }

    @Test
    void aVcpuStateKeepsItsRegistersWhateverTheCallerDoesWithThem() {
        Regs regs = new Regs().rip(0x1000);
        Sregs sregs = new Sregs().cr3(0x9000);
        LapicState lapic = new LapicState().register(LapicState.APIC_SPURIOUS, 0x1ff);
        VcpuState state = vcpuState(regs, sregs, lapic, zero(KernelStruct.Kind.XSAVE));

        regs.rip(0x2000);
        sregs.cr3(0xa000);
        lapic.register(LapicState.APIC_SPURIOUS, 0);
        state.regs().rip(0x3000);
        state.sregs().cr3(0xb000);
        state.lapic().register(LapicState.APIC_SPURIOUS, 0);

        assertThat(state.regs().rip()).isEqualTo(0x1000);
        assertThat(state.sregs().cr3()).isEqualTo(0x9000);
        assertThat(state.lapic().register(LapicState.APIC_SPURIOUS)).isEqualTo(0x1ff);
        assertThat(state.msrs()).containsExactly(new MsrEntry(0x10, 42));
    }

    @Test
    void aVcpuStateRefusesAStructInTheWrongPlace() {
        assertThatThrownBy(() -> vcpuState(new Regs(), new Sregs(), new LapicState(), zero(KernelStruct.Kind.XCRS)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("XSAVE");
    }

    @Test
    void aVmStateChecksWhichChipEachIrqchipStructHolds() {
        KvmClock clock = new KvmClock(1, 0, 0, 0);
        VmState ok = new VmState(chip(Vm.Irqchip.PIC_MASTER), chip(Vm.Irqchip.PIC_SLAVE), chip(Vm.Irqchip.IOAPIC), clock);
        assertThat(ok.ioapic().intAt(0)).isEqualTo(2);
        assertThatThrownBy(() -> new VmState(chip(Vm.Irqchip.PIC_SLAVE), chip(Vm.Irqchip.PIC_SLAVE),
                chip(Vm.Irqchip.IOAPIC), clock)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("PIC_MASTER");
        assertThatThrownBy(() -> new VmState(chip(Vm.Irqchip.PIC_MASTER), chip(Vm.Irqchip.PIC_SLAVE),
                zero(KernelStruct.Kind.DEBUGREGS), clock))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("IOAPIC");
        assertThatThrownBy(() -> new VmState(chip(Vm.Irqchip.PIC_MASTER), chip(Vm.Irqchip.PIC_SLAVE),
                chip(Vm.Irqchip.IOAPIC), null)).isInstanceOf(NullPointerException.class).hasMessageContaining("clock");
    }
}
