package dev.arrow.kvm.x86;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns the host's KVM_GET_SUPPORTED_CPUID entries into one vCPU's CPUID (for KVM_SET_CPUID2).
 *
 * <p>The guest sees one package with {@code vcpuCount} single-threaded cores; vCPU {@code i}
 * has APIC id {@code i}. Changes made to the supported list:
 * <ul>
 *   <li>leaf 1: initial APIC id (EBX[31:24]), addressable ids per package (EBX[23:16]), HTT when
 *       there is more than one vCPU, the hypervisor bit (ECX[31]); VMX and PDCM cleared (no
 *       nested virtualization, no perf capability MSR); TSC-deadline set when asked for (KVM
 *       never reports it here, see KVM_CAP_TSC_DEADLINE_TIMER).</li>
 *   <li>leaf 4 (deterministic caches): cores per package and sharing counts for our topology.</li>
 *   <li>leaf 7 sub-leaf 0: TSC_ADJUST (EBX[1]) cleared. Linux reads that MSR, an exit each, up to once
 *       a second from its idle loop to catch firmware moving the TSC; a VM has no such firmware, and
 *       with {@code tsc=reliable} the guest does not need it to check TSC sync between vCPUs.</li>
 *   <li>leaf 0xA (architectural perfmon): zeroed, the guest gets no PMU.</li>
 *   <li>leaves 0xB and 0x1F (extended topology, which KVM reports as zeros): rebuilt with an
 *       SMT level of 1 thread and a core level of {@code vcpuCount}, x2APIC id in EDX.</li>
 *   <li>0x40000000: the KVM signature "KVMKVMKVM\0\0\0"; 0x40000001: only paravirt features that
 *       need no hypercall are kept ({@link #KEPT_KVM_FEATURES}: kvmclock, steal time, PV EOI),
 *       and the hints register is cleared. Hosts whose KVM cannot handle VMCALL (PVM) hang on
 *       PV_UNHALT, PV_SEND_IPI, PV_SCHED_YIELD and the like, and Arrow does not need them.</li>
 *   <li>0x80000001: SVM and TOPOEXT cleared (AMD topology then comes from 0x80000008).</li>
 *   <li>0x80000008 on AMD: core count and APIC-id size; 0x8000001E on AMD: APIC/core id.</li>
 * </ul>
 * Entries are returned in input order; synthesized leaves are appended. The input is not
 * modified. Instances are immutable and thread-safe.
 */
public final class CpuidFilter {

    public static final int LEAF_VENDOR = 0x0;
    public static final int LEAF_FEATURES = 0x1;
    public static final int LEAF_CACHE_PARAMETERS = 0x4;
    public static final int LEAF_STRUCTURED_FEATURES = 0x7;
    public static final int LEAF_PERFMON = 0xA;
    public static final int LEAF_TOPOLOGY = 0xB;
    public static final int LEAF_TOPOLOGY_V2 = 0x1F;
    public static final int LEAF_HYPERVISOR = 0x4000_0000;
    public static final int LEAF_KVM_FEATURES = 0x4000_0001;
    public static final int LEAF_EXT_FEATURES = 0x8000_0001;
    public static final int LEAF_EXT_ADDRESS_SIZES = 0x8000_0008;
    public static final int LEAF_EXT_APIC_ID = 0x8000_001E;

    /** Leaf 1 ECX. */
    public static final int ECX_VMX = 1 << 5;
    public static final int ECX_PDCM = 1 << 15;
    public static final int ECX_TSC_DEADLINE = 1 << 24;
    public static final int ECX_HYPERVISOR = 1 << 31;
    /** Leaf 1 EDX. */
    public static final int EDX_HTT = 1 << 28;
    /** Leaf 7 sub-leaf 0 EBX. */
    public static final int STRUCTURED_EBX_TSC_ADJUST = 1 << 1;
    /** Leaf 0x80000001 ECX. */
    public static final int EXT_ECX_SVM = 1 << 2;
    public static final int EXT_ECX_TOPOEXT = 1 << 22;

    /** KVM paravirt feature bits, leaf 0x40000001 EAX (arch/x86/include/uapi/asm/kvm_para.h). */
    public static final int KVM_FEATURE_CLOCKSOURCE = 0;
    public static final int KVM_FEATURE_NOP_IO_DELAY = 1;
    public static final int KVM_FEATURE_MMU_OP = 2;
    public static final int KVM_FEATURE_CLOCKSOURCE2 = 3;
    public static final int KVM_FEATURE_ASYNC_PF = 4;
    public static final int KVM_FEATURE_STEAL_TIME = 5;
    public static final int KVM_FEATURE_PV_EOI = 6;
    public static final int KVM_FEATURE_PV_UNHALT = 7;
    public static final int KVM_FEATURE_PV_TLB_FLUSH = 9;
    public static final int KVM_FEATURE_ASYNC_PF_VMEXIT = 10;
    public static final int KVM_FEATURE_PV_SEND_IPI = 11;
    public static final int KVM_FEATURE_POLL_CONTROL = 12;
    public static final int KVM_FEATURE_PV_SCHED_YIELD = 13;
    public static final int KVM_FEATURE_ASYNC_PF_INT = 14;
    public static final int KVM_FEATURE_MSI_EXT_DEST_ID = 15;
    public static final int KVM_FEATURE_HC_MAP_GPA_RANGE = 16;
    public static final int KVM_FEATURE_MIGRATION_CONTROL = 17;
    public static final int KVM_FEATURE_CLOCKSOURCE_STABLE_BIT = 24;

    /**
     * The paravirt features passed through (when the host offers them): all are plain MSR or
     * port interfaces. Everything else, in particular every hypercall-based feature and any bit
     * unknown today, is cleared.
     */
    public static final int KEPT_KVM_FEATURES = (1 << KVM_FEATURE_CLOCKSOURCE)
            | (1 << KVM_FEATURE_NOP_IO_DELAY)
            | (1 << KVM_FEATURE_CLOCKSOURCE2)
            | (1 << KVM_FEATURE_STEAL_TIME)
            | (1 << KVM_FEATURE_PV_EOI)
            | (1 << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);

    /** "KVMKVMKVM\0\0\0" as EBX, ECX, EDX of leaf 0x40000000. */
    public static final int KVM_SIGNATURE_EBX = 0x4b4d564b;
    public static final int KVM_SIGNATURE_ECX = 0x564b4d56;
    public static final int KVM_SIGNATURE_EDX = 0x0000004d;

    private static final int TOPOLOGY_LEVEL_SMT = 1;
    private static final int TOPOLOGY_LEVEL_CORE = 2;

    private final int vcpuCount;
    private final boolean tscDeadlineTimer;

    /**
     * @param vcpuCount vCPUs of the VM, 1..{@link Layout#MAX_VCPUS}
     * @param tscDeadlineTimer advertise the TSC-deadline timer (only if KVM_CAP_TSC_DEADLINE_TIMER
     *     is present and the local APIC is emulated in the kernel)
     */
    public CpuidFilter(int vcpuCount, boolean tscDeadlineTimer) {
        if (vcpuCount < 1 || vcpuCount > Layout.MAX_VCPUS) {
            throw new IllegalArgumentException(
                    "vCPU count must be 1.." + Layout.MAX_VCPUS + ", got " + vcpuCount);
        }
        this.vcpuCount = vcpuCount;
        this.tscDeadlineTimer = tscDeadlineTimer;
    }

    public int vcpuCount() {
        return vcpuCount;
    }

    /** The CPUID entries for vCPU {@code vcpuIndex} (its APIC id), derived from {@code supported}. */
    public List<CpuidEntry> filter(List<CpuidEntry> supported, int vcpuIndex) {
        if (vcpuIndex < 0 || vcpuIndex >= vcpuCount) {
            throw new IllegalArgumentException(
                    "vCPU index " + vcpuIndex + " out of range 0.." + (vcpuCount - 1));
        }
        boolean amd = isAmd(supported);
        int maxBasicLeaf = find(supported, LEAF_VENDOR).map(CpuidEntry::eax).orElse(0);
        List<CpuidEntry> out = new ArrayList<>(supported.size() + 4);
        boolean sawHypervisorLeaf = false;
        boolean sawTopologyV2 = false;
        for (CpuidEntry e : supported) {
            switch (e.function()) {
                case LEAF_FEATURES -> out.add(features(e, vcpuIndex));
                case LEAF_CACHE_PARAMETERS -> out.add(amd ? e : cacheParameters(e));
                case LEAF_STRUCTURED_FEATURES -> out.add(e.index() == 0 ? e.withEbx(e.ebx() & ~STRUCTURED_EBX_TSC_ADJUST) : e);
                case LEAF_PERFMON -> out.add(new CpuidEntry(e.function(), e.index(), e.flags(), 0, 0, 0, 0));
                case LEAF_TOPOLOGY -> { } // rebuilt below
                case LEAF_TOPOLOGY_V2 -> sawTopologyV2 = true; // rebuilt below
                case LEAF_HYPERVISOR -> {
                    sawHypervisorLeaf = true;
                    out.add(hypervisorSignature(Math.max(e.eax(), LEAF_KVM_FEATURES)));
                }
                case LEAF_KVM_FEATURES -> out.add(new CpuidEntry(e.function(), e.index(), e.flags(),
                        e.eax() & KEPT_KVM_FEATURES, 0, 0, 0));
                case LEAF_EXT_FEATURES -> out.add(e.withEcx(e.ecx() & ~(EXT_ECX_SVM | EXT_ECX_TOPOEXT)));
                case LEAF_EXT_ADDRESS_SIZES -> out.add(amd ? amdCoreCount(e) : e);
                case LEAF_EXT_APIC_ID -> out.add(amd ? amdApicId(e, vcpuIndex) : e);
                default -> out.add(e);
            }
        }
        if (maxBasicLeaf >= LEAF_TOPOLOGY) {
            out.addAll(topology(LEAF_TOPOLOGY, vcpuIndex));
        }
        if (sawTopologyV2) {
            out.addAll(topology(LEAF_TOPOLOGY_V2, vcpuIndex));
        }
        if (!sawHypervisorLeaf && find(supported, LEAF_KVM_FEATURES).isPresent()) {
            out.add(hypervisorSignature(LEAF_KVM_FEATURES));
        }
        return List.copyOf(out);
    }

    /** Bits of APIC id that number the cores of the package: ceil(log2(vcpuCount)). */
    int coreIdBits() {
        return 32 - Integer.numberOfLeadingZeros(vcpuCount - 1);
    }

    private CpuidEntry features(CpuidEntry e, int apicId) {
        int addressable = Math.min(1 << coreIdBits(), 0xff);
        int ebx = (e.ebx() & 0x0000_ffff) | (addressable << 16) | (apicId << 24);
        int ecx = (e.ecx() | ECX_HYPERVISOR) & ~(ECX_VMX | ECX_PDCM);
        ecx = tscDeadlineTimer ? ecx | ECX_TSC_DEADLINE : ecx & ~ECX_TSC_DEADLINE;
        int edx = vcpuCount > 1 ? e.edx() | EDX_HTT : e.edx() & ~EDX_HTT;
        return new CpuidEntry(e.function(), e.index(), e.flags(), e.eax(), ebx, ecx, edx);
    }

    /** Leaf 4: EAX[31:26] = cores per package - 1, EAX[25:14] = ids sharing this cache - 1. */
    private CpuidEntry cacheParameters(CpuidEntry e) {
        int cacheType = e.eax() & 0x1f;
        if (cacheType == 0) {
            return e; // the terminating "no more caches" sub-leaf
        }
        int level = (e.eax() >>> 5) & 0x7;
        int ids = 1 << coreIdBits();
        int sharing = level <= 2 ? 1 : ids; // L1/L2 private to a core, L3 shared by the package
        int eax = (e.eax() & 0x3fff) | (Math.min(sharing - 1, 0xfff) << 14) | (Math.min(ids - 1, 0x3f) << 26);
        return e.withEax(eax);
    }

    private List<CpuidEntry> topology(int leaf, int apicId) {
        int flags = CpuidEntry.FLAG_SIGNIFICANT_INDEX;
        return List.of(
                // SMT level: one thread per core, shift 0.
                new CpuidEntry(leaf, 0, flags, 0, 1, (TOPOLOGY_LEVEL_SMT << 8), apicId),
                // Core level: vcpuCount logical processors in the package.
                new CpuidEntry(leaf, 1, flags, coreIdBits(), vcpuCount, (TOPOLOGY_LEVEL_CORE << 8) | 1, apicId),
                // Terminator: level type 0 (invalid).
                new CpuidEntry(leaf, 2, flags, 0, 0, 2, apicId));
    }

    private static CpuidEntry hypervisorSignature(int maxLeaf) {
        return new CpuidEntry(LEAF_HYPERVISOR, 0, 0, maxLeaf,
                KVM_SIGNATURE_EBX, KVM_SIGNATURE_ECX, KVM_SIGNATURE_EDX);
    }

    /** AMD 0x80000008 ECX: NC[7:0] = cores - 1, ApicIdSize[15:12] = core id bits. */
    private CpuidEntry amdCoreCount(CpuidEntry e) {
        int ecx = (e.ecx() & ~0xf0ff) | (vcpuCount - 1) | (coreIdBits() << 12);
        return e.withEcx(ecx);
    }

    /** AMD 0x8000001E: extended APIC id, core id, one thread per core, node 0. */
    private static CpuidEntry amdApicId(CpuidEntry e, int apicId) {
        return new CpuidEntry(e.function(), e.index(), e.flags(), apicId, apicId & 0xff, 0, 0);
    }

    /** Whether {@code entries} (a vCPU's or KVM's CPUID) name an AMD (or Hygon) processor. */
    public static boolean isAmd(List<CpuidEntry> entries) {
        return find(entries, LEAF_VENDOR).map(CpuidFilter::vendor)
                .map(v -> v.equals("AuthenticAMD") || v.equals("HygonGenuine"))
                .orElse(false);
    }

    /** The 12-character vendor string of leaf 0 (EBX, EDX, ECX). */
    static String vendor(CpuidEntry leaf0) {
        byte[] b = new byte[12];
        int[] regs = {leaf0.ebx(), leaf0.edx(), leaf0.ecx()};
        for (int r = 0; r < 3; r++) {
            for (int i = 0; i < 4; i++) {
                b[r * 4 + i] = (byte) (regs[r] >>> (8 * i));
            }
        }
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    private static Optional<CpuidEntry> find(List<CpuidEntry> entries, int function) {
        return entries.stream().filter(e -> e.function() == function).findFirst();
    }
}
