package dev.arrow.kvm.vmm;

import dev.arrow.kvm.Vm;
import dev.arrow.kvm.device.InterruptTrigger;

/**
 * An edge-triggered interrupt line of a device that interrupts rarely (the serial port, the i8042,
 * a virtio device whose queues are seldom notified): each {@link #trigger()} pulses the VM's line
 * {@code gsi} with KVM_IRQ_LINE (raised, then lowered, as KVM does for an irqfd), two ioctls on the
 * VM's fd from the calling thread. Holds no fd of its own, so nothing to unregister or close: the
 * line is low between pulses, and a VM that outlives the device (recycled for the next clone of a
 * template) keeps nothing of it.
 */
final class LineInterrupt implements InterruptTrigger {
    private final Vm vm;
    private final int gsi;

    LineInterrupt(Vm vm, int gsi) {
        this.vm = vm;
        this.gsi = gsi;
    }

    @Override
    public void trigger() {
        vm.pulseIrqLine(gsi);
    }

    @Override
    public String toString() {
        return "KVM_IRQ_LINE of GSI " + gsi;
    }
}
