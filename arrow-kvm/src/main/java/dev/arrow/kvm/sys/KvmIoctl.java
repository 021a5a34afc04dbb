package dev.arrow.kvm.sys;

/**
 * The one table of KVM ioctl request numbers, computed here and nowhere else with the kernel's
 * {@code _IO/_IOR/_IOW/_IOWR} encoding (x86-64: direction in bits 30-31, argument size in bits
 * 16-29, type 0xAE in bits 8-15, number in bits 0-7). Each entry says on which file descriptor it
 * is issued and, where the call is optional, the capability that must be present first.
 */
public enum KvmIoctl {
    // system ioctls, on /dev/kvm
    KVM_GET_API_VERSION(Target.SYSTEM, io(0x00), null),
    KVM_CREATE_VM(Target.SYSTEM, io(0x01), null),
    /** struct kvm_msr_list header: u32 nmsrs. */
    KVM_GET_MSR_INDEX_LIST(Target.SYSTEM, iowr(0x02, 4), null),
    KVM_CHECK_EXTENSION(Target.SYSTEM, io(0x03), null),
    KVM_GET_VCPU_MMAP_SIZE(Target.SYSTEM, io(0x04), null),
    /** struct kvm_cpuid2 header: u32 nent, u32 padding. */
    KVM_GET_SUPPORTED_CPUID(Target.SYSTEM, iowr(0x05, 8), KvmCapability.EXT_CPUID),

    // VM ioctls, on the VM fd
    KVM_CREATE_VCPU(Target.VM, io(0x41), null),
    /** struct kvm_userspace_memory_region. */
    KVM_SET_USER_MEMORY_REGION(Target.VM, iow(0x46, 32), KvmCapability.USER_MEMORY),
    KVM_SET_TSS_ADDR(Target.VM, io(0x47), KvmCapability.SET_TSS_ADDR),
    /** __u64 address. */
    KVM_SET_IDENTITY_MAP_ADDR(Target.VM, iow(0x48, 8), KvmCapability.SET_IDENTITY_MAP_ADDR),
    KVM_CREATE_IRQCHIP(Target.VM, io(0x60), KvmCapability.IRQCHIP),
    /** struct kvm_irq_level. */
    KVM_IRQ_LINE(Target.VM, iow(0x61, 8), KvmCapability.IRQCHIP),
    /** struct kvm_irqchip: u32 chip_id, u32 pad, 512 bytes of PIC or IOAPIC state. */
    KVM_GET_IRQCHIP(Target.VM, iowr(0x62, 520), KvmCapability.IRQCHIP),
    /** The kernel header declares it {@code _IOR} although it writes the chip. */
    KVM_SET_IRQCHIP(Target.VM, ior(0x63, 520), KvmCapability.IRQCHIP),
    /** struct kvm_irqfd. */
    KVM_IRQFD(Target.VM, iow(0x76, 32), KvmCapability.IRQFD),
    /** struct kvm_ioeventfd. */
    KVM_IOEVENTFD(Target.VM, iow(0x79, 64), KvmCapability.IOEVENTFD),
    /** struct kvm_clock_data: u64 clock, u32 flags, u32 pad, u64 realtime, u64 host_tsc, u32 pad[4]. */
    KVM_SET_CLOCK(Target.VM, iow(0x7b, 48), KvmCapability.ADJUST_CLOCK),
    KVM_GET_CLOCK(Target.VM, ior(0x7c, 48), KvmCapability.ADJUST_CLOCK),
    /** struct kvm_enable_cap. */
    KVM_ENABLE_CAP(Target.VM, iow(0xa3, 104), null),
    /** struct kvm_msi. */
    KVM_SIGNAL_MSI(Target.VM, iow(0xa5, 32), KvmCapability.SIGNAL_MSI),

    // vCPU ioctls, on a vCPU fd
    KVM_RUN(Target.VCPU, io(0x80), null),
    /** struct kvm_regs. */
    KVM_GET_REGS(Target.VCPU, ior(0x81, 144), null),
    KVM_SET_REGS(Target.VCPU, iow(0x82, 144), null),
    /** struct kvm_sregs. */
    KVM_GET_SREGS(Target.VCPU, ior(0x83, 312), null),
    KVM_SET_SREGS(Target.VCPU, iow(0x84, 312), null),
    /** struct kvm_msrs header: u32 nmsrs, u32 pad. */
    KVM_GET_MSRS(Target.VCPU, iowr(0x88, 8), null),
    KVM_SET_MSRS(Target.VCPU, iow(0x89, 8), null),
    /** struct kvm_signal_mask header: u32 len. */
    KVM_SET_SIGNAL_MASK(Target.VCPU, iow(0x8b, 4), null),
    /** struct kvm_fpu. */
    KVM_GET_FPU(Target.VCPU, ior(0x8c, 416), null),
    KVM_SET_FPU(Target.VCPU, iow(0x8d, 416), null),
    /** struct kvm_lapic_state. */
    KVM_GET_LAPIC(Target.VCPU, ior(0x8e, 1024), KvmCapability.IRQCHIP),
    KVM_SET_LAPIC(Target.VCPU, iow(0x8f, 1024), KvmCapability.IRQCHIP),
    /** struct kvm_cpuid2 header. */
    KVM_SET_CPUID2(Target.VCPU, iow(0x90, 8), KvmCapability.EXT_CPUID),
    KVM_GET_CPUID2(Target.VCPU, iowr(0x91, 8), KvmCapability.EXT_CPUID),
    /** struct kvm_mp_state: u32. */
    KVM_GET_MP_STATE(Target.VCPU, ior(0x98, 4), KvmCapability.MP_STATE),
    KVM_SET_MP_STATE(Target.VCPU, iow(0x99, 4), KvmCapability.MP_STATE),
    /** struct kvm_vcpu_events (64 bytes; the same numbers as KVM_GET/SET_PIT2, which Arrow does not use, with another size). */
    KVM_GET_VCPU_EVENTS(Target.VCPU, ior(0x9f, 64), KvmCapability.VCPU_EVENTS),
    KVM_SET_VCPU_EVENTS(Target.VCPU, iow(0xa0, 64), KvmCapability.VCPU_EVENTS),
    /** struct kvm_debugregs: u64 db[4], dr6, dr7, flags, reserved[9]. */
    KVM_GET_DEBUGREGS(Target.VCPU, ior(0xa1, 128), KvmCapability.DEBUGREGS),
    KVM_SET_DEBUGREGS(Target.VCPU, iow(0xa2, 128), KvmCapability.DEBUGREGS),
    /**
     * struct kvm_xsave: u32 region[1024], followed since Linux 5.17 by as many bytes more as
     * {@link KvmCapability#XSAVE2} reports; KVM_SET_XSAVE then reads that many too.
     */
    KVM_GET_XSAVE(Target.VCPU, ior(0xa4, 4096), KvmCapability.XSAVE),
    KVM_SET_XSAVE(Target.VCPU, iow(0xa5, 4096), KvmCapability.XSAVE),
    /** struct kvm_xcrs: u32 nr_xcrs, u32 flags, 16 x {u32 xcr, u32 reserved, u64 value}, u64 padding[16]. */
    KVM_GET_XCRS(Target.VCPU, ior(0xa6, 392), KvmCapability.XCRS),
    KVM_SET_XCRS(Target.VCPU, iow(0xa7, 392), KvmCapability.XCRS),
    /** KVM_GET_XSAVE for the full size that {@link KvmCapability#XSAVE2} reports (the encoded size stays 4096). */
    KVM_GET_XSAVE2(Target.VCPU, ior(0xcf, 4096), KvmCapability.XSAVE2);

    /** The file descriptor an ioctl is issued on. */
    public enum Target { SYSTEM, VM, VCPU }

    private static final int KVMIO = 0xAE;
    private static final int NRBITS = 8;
    private static final int TYPEBITS = 8;
    private static final int SIZEBITS = 14;
    private static final int NRSHIFT = 0;
    private static final int TYPESHIFT = NRSHIFT + NRBITS;
    private static final int SIZESHIFT = TYPESHIFT + TYPEBITS;
    private static final int DIRSHIFT = SIZESHIFT + SIZEBITS;
    private static final int NONE = 0;
    private static final int WRITE = 1;
    private static final int READ = 2;

    private final Target target;
    private final long request;
    private final KvmCapability capability;

    KvmIoctl(Target target, long request, KvmCapability capability) {
        this.target = target;
        this.request = request;
        this.capability = capability;
    }

    /** The request number passed to ioctl(2). */
    public long request() {
        return request;
    }

    public Target target() {
        return target;
    }

    /** The capability to check before issuing, or null when the call is always present. */
    public KvmCapability capability() {
        return capability;
    }

    /** The argument struct size encoded in the request (0 for {@code _IO} requests). */
    public int argumentSize() {
        return (int) ((request >>> SIZESHIFT) & ((1 << SIZEBITS) - 1));
    }

    private static long ioc(int dir, int nr, int size) {
        if (size < 0 || size >= (1 << SIZEBITS)) {
            throw new IllegalArgumentException("ioctl argument size out of range: " + size);
        }
        return ((long) dir << DIRSHIFT) | ((long) size << SIZESHIFT) | ((long) KVMIO << TYPESHIFT)
                | ((long) nr << NRSHIFT);
    }

    private static long io(int nr) {
        return ioc(NONE, nr, 0);
    }

    private static long ior(int nr, int size) {
        return ioc(READ, nr, size);
    }

    private static long iow(int nr, int size) {
        return ioc(WRITE, nr, size);
    }

    private static long iowr(int nr, int size) {
        return ioc(READ | WRITE, nr, size);
    }
}
