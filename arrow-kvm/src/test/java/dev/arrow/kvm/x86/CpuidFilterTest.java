package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CpuidFilterTest {

    private static final int SIG = CpuidEntry.FLAG_SIGNIFICANT_INDEX;

    /** A trimmed-down Intel host as KVM_GET_SUPPORTED_CPUID reports it. */
    static List<CpuidEntry> intelHost() {
        return List.of(
                vendorLeaf(0x16, "GenuineIntel"),
                new CpuidEntry(1, 0, 0, 0x000806ea, 0x0b100800, 0x7ffafbbf | CpuidFilter.ECX_VMX | CpuidFilter.ECX_PDCM, 0xbfebfbff),
                new CpuidEntry(4, 0, SIG, 0x1c004121, 0x01c0003f, 0x3f, 0),
                new CpuidEntry(4, 1, SIG, 0x1c004122, 0x01c0003f, 0x3f, 0),
                new CpuidEntry(4, 2, SIG, 0x1c004143, 0x00c0003f, 0x3ff, 0),
                new CpuidEntry(4, 3, SIG, 0x1c03c163, 0x03c0003f, 0x1fff, 6),
                new CpuidEntry(4, 4, SIG, 0, 0, 0, 0),
                new CpuidEntry(7, 0, SIG, 0, 0x029c67af, 0, 0x9c000000),
                new CpuidEntry(0xa, 0, 0, 0x07300404, 0, 0, 0x603),
                new CpuidEntry(0xb, 0, SIG, 0, 0, 0, 0),
                new CpuidEntry(0xb, 1, SIG, 0, 0, 1, 0),
                new CpuidEntry(0x4000_0000, 0, 0, 0x4000_0001, 0x4b4d564b, 0x564b4d56, 0x4d),
                new CpuidEntry(0x4000_0001, 0, 0, 0x01ffffff, 0, 0, 1),
                new CpuidEntry(0x8000_0000, 0, 0, 0x8000_0008, 0, 0, 0),
                new CpuidEntry(0x8000_0001, 0, 0, 0, 0, 0x121, 0x2c100800),
                new CpuidEntry(0x8000_0008, 0, 0, 0x3027, 0, 0, 0));
    }

    static List<CpuidEntry> amdHost() {
        return List.of(
                vendorLeaf(0xd, "AuthenticAMD"),
                new CpuidEntry(1, 0, 0, 0x00a00f11, 0x00020800, 0x7ed8320b, 0x178bfbff),
                new CpuidEntry(0xb, 0, SIG, 0, 0, 0, 0),
                new CpuidEntry(0x4000_0000, 0, 0, 0x4000_0001, 0x4b4d564b, 0x564b4d56, 0x4d),
                new CpuidEntry(0x4000_0001, 0, 0, 0x0100_00fb, 0, 0, 0),
                new CpuidEntry(0x8000_0001, 0, 0, 0x00a00f11, 0, 0x75c237ff | CpuidFilter.EXT_ECX_SVM | CpuidFilter.EXT_ECX_TOPOEXT, 0x2fd3fbff),
                new CpuidEntry(0x8000_0008, 0, 0, 0x3030, 0x111ef657, 0x0003707f, 0),
                new CpuidEntry(0x8000_001e, 0, 0, 0, 0x100, 0, 0));
    }

    static CpuidEntry vendorLeaf(int maxLeaf, String vendor) {
        byte[] v = vendor.getBytes(StandardCharsets.US_ASCII);
        return new CpuidEntry(0, 0, 0, maxLeaf, le(v, 0), le(v, 8), le(v, 4));
    }

    private static int le(byte[] b, int o) {
        return (b[o] & 0xff) | (b[o + 1] & 0xff) << 8 | (b[o + 2] & 0xff) << 16 | (b[o + 3] & 0xff) << 24;
    }

    private static CpuidEntry leaf(List<CpuidEntry> entries, int function, int index) {
        List<CpuidEntry> found = entries.stream().filter(e -> e.function() == function && e.index() == index).toList();
        assertThat(found).as("exactly one entry 0x%x/%d", function, index).hasSize(1);
        return found.get(0);
    }

    private static Optional<CpuidEntry> maybe(List<CpuidEntry> entries, int function, int index) {
        return entries.stream().filter(e -> e.function() == function && e.index() == index).findFirst();
    }

    @Test
    void leafOneCarriesTheVcpusApicIdAndTheHypervisorBit() {
        CpuidFilter filter = new CpuidFilter(4, false);
        for (int cpu = 0; cpu < 4; cpu++) {
            CpuidEntry l1 = leaf(filter.filter(intelHost(), cpu), 1, 0);
            assertThat(l1.ebx() >>> 24).isEqualTo(cpu);
            assertThat((l1.ebx() >>> 16) & 0xff).isEqualTo(4);
            assertThat(l1.ebx() & 0xffff).isEqualTo(0x0800); // CLFLUSH size and brand index kept
            assertThat(l1.ecx() & CpuidFilter.ECX_HYPERVISOR).isNotZero();
            assertThat(l1.edx() & CpuidFilter.EDX_HTT).isNotZero();
            assertThat(l1.eax()).isEqualTo(0x000806ea);
        }
    }

    @Test
    void nestedVirtualizationAndPerfCapabilitiesAreHidden() {
        List<CpuidEntry> out = new CpuidFilter(1, false).filter(intelHost(), 0);
        CpuidEntry l1 = leaf(out, 1, 0);
        assertThat(l1.ecx() & (CpuidFilter.ECX_VMX | CpuidFilter.ECX_PDCM)).isZero();
        CpuidEntry perf = leaf(out, 0xa, 0);
        assertThat(List.of(perf.eax(), perf.ebx(), perf.ecx(), perf.edx())).containsOnly(0);
        List<CpuidEntry> amd = new CpuidFilter(1, false).filter(amdHost(), 0);
        assertThat(leaf(amd, 0x8000_0001, 0).ecx() & (CpuidFilter.EXT_ECX_SVM | CpuidFilter.EXT_ECX_TOPOEXT)).isZero();
    }

    @Test
    void tscAdjustIsHiddenAndTheOtherStructuredFeaturesPass() {
        CpuidEntry host = leaf(intelHost(), 7, 0);
        assertThat(host.ebx() & CpuidFilter.STRUCTURED_EBX_TSC_ADJUST).as("the sample host has it").isNotZero();
        CpuidEntry guest = leaf(new CpuidFilter(2, true).filter(intelHost(), 1), 7, 0);
        assertThat(guest.ebx()).isEqualTo(host.ebx() & ~CpuidFilter.STRUCTURED_EBX_TSC_ADJUST);
        assertThat(List.of(guest.eax(), guest.ecx(), guest.edx())).isEqualTo(List.of(host.eax(), host.ecx(), host.edx()));
    }

    @Test
    void singleVcpuHasNoHyperThreadingBit() {
        CpuidEntry l1 = leaf(new CpuidFilter(1, false).filter(intelHost(), 0), 1, 0);
        assertThat(l1.edx() & CpuidFilter.EDX_HTT).isZero();
        assertThat((l1.ebx() >>> 16) & 0xff).isEqualTo(1);
    }

    @Test
    void tscDeadlineIsAdvertisedOnlyWhenAsked() {
        assertThat(leaf(new CpuidFilter(1, true).filter(intelHost(), 0), 1, 0).ecx() & CpuidFilter.ECX_TSC_DEADLINE).isNotZero();
        assertThat(leaf(new CpuidFilter(1, false).filter(intelHost(), 0), 1, 0).ecx() & CpuidFilter.ECX_TSC_DEADLINE).isZero();
    }

    @Test
    void extendedTopologyDescribesOneThreadPerCoreAndAllVcpusInThePackage() {
        CpuidFilter filter = new CpuidFilter(3, false);
        List<CpuidEntry> out = filter.filter(intelHost(), 2);
        CpuidEntry smt = leaf(out, 0xb, 0);
        CpuidEntry core = leaf(out, 0xb, 1);
        CpuidEntry end = leaf(out, 0xb, 2);
        assertThat(smt.eax() & 0x1f).isZero();
        assertThat(smt.ebx() & 0xffff).isEqualTo(1);
        assertThat((smt.ecx() >>> 8) & 0xff).isEqualTo(1); // SMT
        assertThat(core.eax() & 0x1f).isEqualTo(2); // 3 vCPUs need 2 bits of APIC id
        assertThat(core.ebx() & 0xffff).isEqualTo(3);
        assertThat((core.ecx() >>> 8) & 0xff).isEqualTo(2); // core
        assertThat(core.ecx() & 0xff).isEqualTo(1);
        assertThat((end.ecx() >>> 8) & 0xff).isZero(); // invalid level ends the list
        assertThat(List.of(smt.edx(), core.edx(), end.edx())).containsOnly(2); // x2APIC id
        assertThat(List.of(smt.flags(), core.flags(), end.flags())).containsOnly(SIG);
    }

    @Test
    void topologyLeafIsAddedWhenTheHostListsNoneButTheMaxLeafCoversIt() {
        List<CpuidEntry> host = intelHost().stream().filter(e -> e.function() != 0xb).toList();
        List<CpuidEntry> out = new CpuidFilter(2, false).filter(host, 1);
        assertThat(leaf(out, 0xb, 1).ebx()).isEqualTo(2);
        List<CpuidEntry> oldCpu = List.of(vendorLeaf(0xa, "GenuineIntel"), new CpuidEntry(1, 0, 0, 0, 0, 0, 0));
        assertThat(maybe(new CpuidFilter(2, false).filter(oldCpu, 1), 0xb, 0)).isEmpty();
    }

    @Test
    void topologyV2LeafIsRebuiltWhenPresent() {
        List<CpuidEntry> host = new java.util.ArrayList<>(intelHost());
        host.set(0, vendorLeaf(0x1f, "GenuineIntel"));
        host.add(new CpuidEntry(0x1f, 0, SIG, 1, 2, 0x100, 0));
        host.add(new CpuidEntry(0x1f, 1, SIG, 5, 16, 0x201, 0));
        List<CpuidEntry> out = new CpuidFilter(2, false).filter(host, 1);
        assertThat(leaf(out, 0x1f, 0).ebx()).isEqualTo(1);
        assertThat(leaf(out, 0x1f, 1).ebx()).isEqualTo(2);
        assertThat(leaf(out, 0x1f, 1).edx()).isEqualTo(1);
    }

    @Test
    void deterministicCacheLeafMatchesTheTopology() {
        List<CpuidEntry> out = new CpuidFilter(4, false).filter(intelHost(), 0);
        for (int i = 0; i < 4; i++) {
            CpuidEntry c = leaf(out, 4, i);
            int level = (c.eax() >>> 5) & 7;
            int sharing = ((c.eax() >>> 14) & 0xfff) + 1;
            int cores = ((c.eax() >>> 26) & 0x3f) + 1;
            assertThat(cores).isEqualTo(4);
            assertThat(sharing).isEqualTo(level <= 2 ? 1 : 4);
            assertThat(c.eax() & 0x3fff).isEqualTo(intelHost().get(i + 2).eax() & 0x3fff); // type, level kept
        }
        assertThat(leaf(out, 4, 4).eax()).isZero();
    }

    @Test
    void kvmSignatureLeafSaysKvm() {
        CpuidEntry sig = leaf(new CpuidFilter(1, false).filter(intelHost(), 0), 0x4000_0000, 0);
        byte[] text = new byte[12];
        int[] regs = {sig.ebx(), sig.ecx(), sig.edx()};
        for (int r = 0; r < 3; r++) {
            for (int i = 0; i < 4; i++) {
                text[4 * r + i] = (byte) (regs[r] >>> (8 * i));
            }
        }
        assertThat(text).isEqualTo("KVMKVMKVM\0\0\0".getBytes(StandardCharsets.US_ASCII));
        assertThat(sig.eax()).isGreaterThanOrEqualTo(0x4000_0001);
    }

    @Test
    void onlyHypercallFreeParavirtFeaturesSurvive() {
        CpuidEntry pv = leaf(new CpuidFilter(2, false).filter(intelHost(), 0), 0x4000_0001, 0);
        int eax = pv.eax();
        // kvmclock (both MSR sets), its stable bit, steal time, PV EOI, no-op I/O delay kept
        for (int bit : new int[] {0, 1, 3, 5, 6, 24}) {
            assertThat(eax & (1 << bit)).as("bit %d kept", bit).isNotZero();
        }
        // hypercall-based or async-PF features cleared: PV_UNHALT 7, PV_TLB_FLUSH 9,
        // ASYNC_PF 4, ASYNC_PF_VMEXIT 10, PV_SEND_IPI 11, POLL_CONTROL 12, PV_SCHED_YIELD 13,
        // ASYNC_PF_INT 14, MSI_EXT_DEST_ID 15, HC_MAP_GPA_RANGE 16, MIGRATION_CONTROL 17
        for (int bit : new int[] {2, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 23, 25, 31}) {
            assertThat(eax & (1 << bit)).as("bit %d cleared", bit).isZero();
        }
        assertThat(pv.edx()).as("no KVM_HINTS_REALTIME").isZero();
    }

    @Test
    void amdTopologyComesFromLeaf80000008() {
        List<CpuidEntry> out = new CpuidFilter(6, false).filter(amdHost(), 5);
        CpuidEntry sizes = leaf(out, 0x8000_0008, 0);
        assertThat(sizes.ecx() & 0xff).isEqualTo(5); // NC = cores - 1
        assertThat((sizes.ecx() >>> 12) & 0xf).isEqualTo(3); // 6 cores need 3 bits
        assertThat(sizes.ecx() & ~0xf0ff).isEqualTo(0x30000); // other fields (PerfTscSize) kept
        assertThat(leaf(out, 0x8000_001e, 0).eax()).isEqualTo(5);
        assertThat(leaf(out, 1, 0).ebx() >>> 24).isEqualTo(5);
    }

    @Test
    void inputIsNotModifiedAndUnknownLeavesPassThrough() {
        List<CpuidEntry> host = intelHost();
        List<CpuidEntry> copy = List.copyOf(host);
        List<CpuidEntry> out = new CpuidFilter(2, false).filter(host, 0);
        assertThat(host).isEqualTo(copy);
        assertThat(leaf(out, 0x8000_0000, 0)).isEqualTo(leaf(host, 0x8000_0000, 0));
        assertThat(leaf(out, 0x8000_0008, 0)).isEqualTo(host.get(host.size() - 1)); // Intel: untouched
    }

    @Test
    void signatureLeafIsAddedWhenOnlyTheFeatureLeafIsListed() {
        List<CpuidEntry> host = intelHost().stream().filter(e -> e.function() != 0x4000_0000).toList();
        CpuidEntry sig = leaf(new CpuidFilter(1, false).filter(host, 0), 0x4000_0000, 0);
        assertThat(sig.ebx()).isEqualTo(CpuidFilter.KVM_SIGNATURE_EBX);
    }

    @Test
    void rejectsBadCountsAndIndices() {
        assertThatThrownBy(() -> new CpuidFilter(0, false)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new CpuidFilter(Layout.MAX_VCPUS + 1, false)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new CpuidFilter(2, false).filter(intelHost(), 2))
                .hasMessageContaining("vCPU index 2 out of range 0..1");
    }

    @Test
    void vendorStringIsDecodedFromLeafZero() {
        assertThat(CpuidFilter.vendor(vendorLeaf(1, "AuthenticAMD"))).isEqualTo("AuthenticAMD");
    }
}
