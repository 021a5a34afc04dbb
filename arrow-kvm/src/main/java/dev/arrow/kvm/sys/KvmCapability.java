package dev.arrow.kvm.sys;

/**
 * KVM capabilities the VMM asks about with {@code KVM_CHECK_EXTENSION} (numbers from
 * {@code <linux/kvm.h>}). The description says what the VMM loses without it.
 */
public enum KvmCapability {
    IRQCHIP(0, "in-kernel PIC, IOAPIC and LAPIC"),
    HLT(1, "HLT exits"),
    USER_MEMORY(3, "user memory slots"),
    SET_TSS_ADDR(4, "KVM_SET_TSS_ADDR"),
    EXT_CPUID(7, "KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2"),
    NR_VCPUS(9, "recommended vCPU count"),
    NR_MEMSLOTS(10, "number of memory slots"),
    MP_STATE(14, "KVM_GET/SET_MP_STATE"),
    SYNC_MMU(16, "synchronous MMU notifier"),
    USER_NMI(22, "NMI injection"),
    IRQ_ROUTING(25, "GSI routing"),
    IRQ_INJECT_STATUS(26, "KVM_IRQ_LINE_STATUS"),
    IRQFD(32, "irqfd"),
    IOEVENTFD(36, "ioeventfd"),
    SET_IDENTITY_MAP_ADDR(37, "KVM_SET_IDENTITY_MAP_ADDR"),
    ADJUST_CLOCK(39, "kvmclock adjustment"),
    INTERNAL_ERROR_DATA(40, "internal error details"),
    VCPU_EVENTS(41, "KVM_GET/SET_VCPU_EVENTS"),
    DEBUGREGS(50, "KVM_GET/SET_DEBUGREGS"),
    XSAVE(55, "KVM_GET/SET_XSAVE"),
    XCRS(56, "KVM_GET/SET_XCRS"),
    MAX_VCPUS(66, "maximum vCPU count"),
    TSC_DEADLINE_TIMER(72, "LAPIC TSC deadline timer"),
    SIGNAL_MSI(77, "KVM_SIGNAL_MSI"),
    READONLY_MEM(81, "read-only memory slots"),
    SPLIT_IRQCHIP(121, "split irqchip"),
    IOEVENTFD_ANY_LENGTH(122, "ioeventfd of any length"),
    MAX_VCPU_ID(128, "largest vCPU id"),
    X2APIC_API(129, "x2APIC API"),
    IMMEDIATE_EXIT(136, "kvm_run.immediate_exit"),
    /** KVM_CHECK_EXTENSION on a VM answers the size of struct kvm_xsave in bytes (0: no XSAVE2). */
    XSAVE2(208, "KVM_GET_XSAVE2 and XSAVE state larger than 4 KiB");

    private final int number;
    private final String description;

    KvmCapability(int number, String description) {
        this.number = number;
        this.description = description;
    }

    /** The {@code KVM_CAP_*} number. */
    public int number() {
        return number;
    }

    public String description() {
        return description;
    }

    /** The constant's name as in the kernel headers, e.g. {@code KVM_CAP_IRQCHIP}. */
    public String kernelName() {
        return "KVM_CAP_" + name();
    }
}
