package dev.arrow.kvm.device;

/**
 * Raises a device's interrupt line (edge): the VMM binds it to KVM_IRQ_LINE or an irqfd.
 * Devices call it when a new interrupt condition arises; they never block on it.
 */
@FunctionalInterface
public interface InterruptTrigger {

    void trigger();

    /** A trigger that does nothing, for devices whose interrupt is not wired. */
    InterruptTrigger NONE = () -> { };
}
