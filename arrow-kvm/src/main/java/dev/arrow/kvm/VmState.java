package dev.arrow.kvm;

import java.util.Objects;

/**
 * The VM-wide state KVM keeps for a guest with the in-kernel irqchip: both PICs, the IOAPIC, the
 * PIT and the kvmclock. Captured by {@link Vm#saveState()}, given to any number of VMs by
 * {@link Vm#restoreState(VmState)}. The clock is decoded because a clone may need to change it;
 * the rest is kept as the kernel's bytes.
 */
public record VmState(KernelStruct picMaster, KernelStruct picSlave, KernelStruct ioapic, KernelStruct pit,
                      KvmClock clock) {

    /**
     * @throws IllegalArgumentException if a struct is of the wrong kind or an irqchip struct
     *                                  names another chip
     */
    public VmState {
        requireChip(picMaster, Vm.Irqchip.PIC_MASTER);
        requireChip(picSlave, Vm.Irqchip.PIC_SLAVE);
        requireChip(ioapic, Vm.Irqchip.IOAPIC);
        if (Objects.requireNonNull(pit, "pit").kind() != KernelStruct.Kind.PIT_STATE2) {
            throw new IllegalArgumentException("not a PIT state: " + pit);
        }
        Objects.requireNonNull(clock, "clock");
    }

    private static void requireChip(KernelStruct chip, Vm.Irqchip expected) {
        if (Objects.requireNonNull(chip, expected.name()).kind() != KernelStruct.Kind.IRQCHIP
                || chip.intAt(0) != expected.id()) {
            throw new IllegalArgumentException("not the " + expected + " state: " + chip);
        }
    }
}
