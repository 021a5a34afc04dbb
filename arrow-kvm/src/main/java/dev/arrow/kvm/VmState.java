package dev.arrow.kvm;

import java.util.Objects;

/**
 * The VM-wide state KVM keeps for a guest with the in-kernel irqchip: both PICs, the IOAPIC and
 * the kvmclock (an Arrow VM has no PIT). Captured by {@link Vm#saveState()}, given to any number
 * of VMs by {@link Vm#restoreState(VmState)}. The clock is decoded because a clone may need to
 * change it; the rest is kept as the kernel's bytes.
 */
public record VmState(KernelStruct picMaster, KernelStruct picSlave, KernelStruct ioapic, KvmClock clock) {

    /**
     * @throws IllegalArgumentException if a struct is not an irqchip struct or names another chip
     */
    public VmState {
        requireChip(picMaster, Vm.Irqchip.PIC_MASTER);
        requireChip(picSlave, Vm.Irqchip.PIC_SLAVE);
        requireChip(ioapic, Vm.Irqchip.IOAPIC);
        Objects.requireNonNull(clock, "clock");
    }

    private static void requireChip(KernelStruct chip, Vm.Irqchip expected) {
        if (Objects.requireNonNull(chip, expected.name()).kind() != KernelStruct.Kind.IRQCHIP
                || chip.intAt(0) != expected.id()) {
            throw new IllegalArgumentException("not the " + expected + " state: " + chip);
        }
    }
}
