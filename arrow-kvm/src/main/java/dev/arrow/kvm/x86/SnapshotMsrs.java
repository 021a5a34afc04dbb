package dev.arrow.kvm.x86;

import java.util.ArrayList;
import java.util.List;

/**
 * Which model-specific registers a vCPU snapshot carries, and in which order they go back.
 *
 * <p>The candidates are the MSRs KVM reports with {@code KVM_GET_MSR_INDEX_LIST}. Left out, as
 * Firecracker leaves them out of its CPU dumps ({@code arch/x86_64/msr.rs}), are those KVM lists
 * but cannot read or write back for a guest like ours: the performance counters (the guest gets
 * no PMU), {@code IA32_MCG_CTL} (readable only with {@code IA32_MCG_CAP.CTL_P}, which KVM sets up
 * only through {@code KVM_X86_SETUP_MCE}), the VMX capability MSRs (nested virtualization) and
 * the Hyper-V synthetic MSRs. Of the rest, the vCPU saves those KVM_GET_MSRS can read on it.
 *
 * <p>Order on restore: {@code IA32_TSC_DEADLINE} goes last, after {@code IA32_TSC} (KVM decides
 * whether to arm the deadline timer from the TSC when the deadline is written: Firecracker's
 * {@code DEFERRED_MSRS}), and all MSRs after the local APIC (the deadline write is ignored unless
 * the LAPIC timer is in TSC-deadline mode), see {@code Vcpu.restoreState}.
 */
public final class SnapshotMsrs {
    public static final int IA32_TSC_DEADLINE = 0x6e0;

    /** {@code [first, first + count)} of MSR indices. */
    private record Range(int first, int count) {
        boolean contains(int index) {
            return Integer.compareUnsigned(index - first, count) < 0;
        }
    }

    private static final List<Range> LEFT_OUT = List.of(
            new Range(0xc1, 8),            // IA32_PMC0..7 (MSR_ARCH_PERFMON_PERFCTRn)
            new Range(0x17b, 1),           // IA32_MCG_CTL
            new Range(0x186, 8),           // IA32_PERFEVTSEL0..7
            new Range(0x309, 4),           // IA32_FIXED_CTR0..3
            new Range(0x38d, 4),           // IA32_FIXED_CTR_CTRL, PERF_GLOBAL_STATUS/CTRL/OVF_CTRL
            new Range(0x480, 18),          // IA32_VMX_BASIC .. IA32_VMX_VMFUNC
            new Range(0x4000_0000, 0x200), // Hyper-V synthetic MSRs
            new Range(0xc001_0000, 8),     // AMD PERF_CTL0..3, PERF_CTR0..3 (K7)
            new Range(0xc001_0200, 12));   // AMD PERF_CTL/PERF_CTR 0..5 (family 15h)

    private SnapshotMsrs() {
    }

    /** The MSRs of {@code kvmIndexList} a snapshot may carry, in KVM's order. */
    public static List<Integer> candidates(List<Integer> kvmIndexList) {
        List<Integer> kept = new ArrayList<>(kvmIndexList.size());
        for (int index : kvmIndexList) {
            if (LEFT_OUT.stream().noneMatch(r -> r.contains(index))) {
                kept.add(index);
            }
        }
        return List.copyOf(kept);
    }

    /** {@code saved} in the order to write them back: as saved, with the TSC deadline moved last. */
    public static List<MsrEntry> restoreOrder(List<MsrEntry> saved) {
        List<MsrEntry> ordered = new ArrayList<>(saved.size());
        List<MsrEntry> deferred = new ArrayList<>(1);
        for (MsrEntry e : saved) {
            (e.index() == IA32_TSC_DEADLINE ? deferred : ordered).add(e);
        }
        ordered.addAll(deferred);
        return List.copyOf(ordered);
    }
}
