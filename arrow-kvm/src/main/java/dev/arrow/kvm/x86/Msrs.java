package dev.arrow.kvm.x86;

import java.util.List;

/**
 * The model-specific registers a vCPU gets before its first run (via KVM_SET_MSRS): syscall and
 * sysenter entry points cleared (the kernel sets its own), TSC at zero, fast string operations
 * on, MTRRs enabled with write-back as the default memory type.
 */
public final class Msrs {

    private Msrs() {}

    public static final int IA32_TSC = 0x10;
    public static final int IA32_SYSENTER_CS = 0x174;
    public static final int IA32_SYSENTER_ESP = 0x175;
    public static final int IA32_SYSENTER_EIP = 0x176;
    public static final int IA32_MISC_ENABLE = 0x1a0;
    public static final int IA32_MTRR_DEF_TYPE = 0x2ff;
    public static final int STAR = 0xc000_0081;
    public static final int LSTAR = 0xc000_0082;
    public static final int CSTAR = 0xc000_0083;
    public static final int SYSCALL_MASK = 0xc000_0084;
    public static final int KERNEL_GS_BASE = 0xc000_0102;

    /** IA32_MISC_ENABLE bit 0: fast-string operations (rep movs/stos) enabled. */
    public static final long MISC_ENABLE_FAST_STRING = 1L;
    /** IA32_MTRR_DEF_TYPE bit 11: MTRRs enabled. */
    public static final long MTRR_ENABLE = 1L << 11;
    /** Memory type write-back (6) in IA32_MTRR_DEF_TYPE bits 7:0. */
    public static final long MTRR_TYPE_WRITE_BACK = 6;

    private static final List<MsrEntry> BOOT = List.of(
            new MsrEntry(IA32_SYSENTER_CS, 0),
            new MsrEntry(IA32_SYSENTER_ESP, 0),
            new MsrEntry(IA32_SYSENTER_EIP, 0),
            new MsrEntry(STAR, 0),
            new MsrEntry(CSTAR, 0),
            new MsrEntry(KERNEL_GS_BASE, 0),
            new MsrEntry(SYSCALL_MASK, 0),
            new MsrEntry(LSTAR, 0),
            new MsrEntry(IA32_TSC, 0),
            new MsrEntry(IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING),
            new MsrEntry(IA32_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WRITE_BACK));

    /** The boot MSR values, the same for every vCPU (immutable list). */
    public static List<MsrEntry> boot() {
        return BOOT;
    }
}
