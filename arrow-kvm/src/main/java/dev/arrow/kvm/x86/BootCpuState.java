package dev.arrow.kvm.x86;

import dev.arrow.kvm.Segment;

/**
 * Everything a vCPU needs to enter a 64-bit Linux kernel (the 64-bit boot protocol): long mode
 * with paging on the identity map of {@link PageTables}, the boot GDT of {@link Gdt}, interrupts
 * off, RSI pointing at the zero page. Plain values; the VMM copies them into KVM_SET_SREGS /
 * KVM_SET_REGS. Registers not named here (other GPRs, FS, GS, LDT) are zero.
 *
 * @param code  CS; {@code data} is loaded into DS, ES, FS, GS and SS; {@code tss} into TR
 */
public record BootCpuState(
        long cr0, long cr3, long cr4, long efer,
        long gdtBase, int gdtLimit, long idtBase, int idtLimit,
        Segment code, Segment data, Segment tss,
        long rip, long rsp, long rsi, long rflags) {

    /** CR0.PE: protected mode. */
    public static final long CR0_PE = 1L;
    /** CR0.ET: extension type (hard-wired to 1 on modern CPUs). */
    public static final long CR0_ET = 1L << 4;
    /** CR0.PG: paging. */
    public static final long CR0_PG = 1L << 31;
    /** CR4.PAE: physical address extension, required for long mode. */
    public static final long CR4_PAE = 1L << 5;
    /** EFER.LME: long mode enable. */
    public static final long EFER_LME = 1L << 8;
    /** EFER.LMA: long mode active (KVM wants it set together with LME and CR0.PG). */
    public static final long EFER_LMA = 1L << 10;
    /** RFLAGS bit 1 is always set; IF (bit 9) is clear. */
    public static final long RFLAGS_DEFAULT = 0x2;

    /**
     * The state for the boot vCPU entering a 64-bit kernel at {@code entry} with the structures
     * at their {@link Layout} addresses.
     */
    public static BootCpuState linux64(long entry) {
        if (entry <= 0) {
            throw new IllegalArgumentException("kernel entry address must be positive, got " + entry);
        }
        return new BootCpuState(
                CR0_PE | CR0_ET | CR0_PG,
                Layout.PML4_ADDRESS,
                CR4_PAE,
                EFER_LME | EFER_LMA,
                Layout.GDT_ADDRESS, Gdt.LIMIT,
                Layout.IDT_ADDRESS, Gdt.IDT_LIMIT,
                Gdt.code(), Gdt.data(), Gdt.tss(),
                entry,
                Layout.BOOT_STACK_POINTER,
                Layout.ZERO_PAGE_ADDRESS,
                RFLAGS_DEFAULT);
    }
}
