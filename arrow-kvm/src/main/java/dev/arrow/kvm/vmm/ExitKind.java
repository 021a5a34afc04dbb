package dev.arrow.kvm.vmm;

import dev.arrow.kvm.VcpuExit;

/**
 * The kinds of vCPU exit the VMM counts: one per {@link VcpuExit} type. {@link #INTR} is a return
 * from KVM_RUN that the VMM caused itself (a kick or a signal), not a guest exit.
 */
public enum ExitKind {
    IO_IN, IO_OUT, MMIO_READ, MMIO_WRITE, HLT, SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR, SYSTEM_EVENT, INTR, UNKNOWN;

    private static final ExitKind[] VALUES = values();

    /** The number of kinds, for arrays indexed by {@link #ordinal()}. */
    static int count() {
        return VALUES.length;
    }

    /** The kind of {@code exit}. */
    public static ExitKind of(VcpuExit exit) {
        if (exit instanceof VcpuExit.IoOut) {
            return IO_OUT;
        }
        if (exit instanceof VcpuExit.IoIn) {
            return IO_IN;
        }
        if (exit instanceof VcpuExit.MmioWrite) {
            return MMIO_WRITE;
        }
        if (exit instanceof VcpuExit.MmioRead) {
            return MMIO_READ;
        }
        if (exit instanceof VcpuExit.Intr) {
            return INTR;
        }
        if (exit instanceof VcpuExit.Hlt) {
            return HLT;
        }
        if (exit instanceof VcpuExit.Shutdown) {
            return SHUTDOWN;
        }
        if (exit instanceof VcpuExit.FailEntry) {
            return FAIL_ENTRY;
        }
        if (exit instanceof VcpuExit.InternalError) {
            return INTERNAL_ERROR;
        }
        if (exit instanceof VcpuExit.SystemEvent) {
            return SYSTEM_EVENT;
        }
        return UNKNOWN;
    }
}
