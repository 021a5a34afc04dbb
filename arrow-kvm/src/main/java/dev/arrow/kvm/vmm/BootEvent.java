package dev.arrow.kvm.vmm;

/**
 * Milestones of a VM build and start, reported to the {@link BootListener} of a {@link VmConfig}
 * in this order, each at most once per VM.
 */
public enum BootEvent {
    /** KVM_CREATE_VM returned: the VM exists (no memory, devices or vCPUs yet). */
    VM_CREATED,
    /** The kernel, command line, initrd and boot structures are in guest memory. */
    KERNEL_LOADED,
    /** The boot vCPU's thread is about to enter the guest for the first time (its first KVM_RUN). */
    FIRST_RUN
}
