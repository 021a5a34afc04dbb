package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.x86.CpuidEntry;
import dev.arrow.kvm.x86.CpuidFilter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tier 1: the vCPUs' CPUID leaves derived once per VM shape, and anew when the shape or the host's list differs. */
class GuestCpuidTest {
    private static final List<CpuidEntry> SUPPORTED = List.of(
            new CpuidEntry(0, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69),
            new CpuidEntry(1, 0, 0, 0x000806ea, 0x0b100800, 0x7ffafbbf, 0xbfebfbff),
            new CpuidEntry(0x4000_0001, 0, 0, 0xffff, 0, 0, 0));

    @Test
    void theLeavesAreTheFiltersForEachVcpu() {
        List<List<CpuidEntry>> leaves = new GuestCpuid().forVcpus(SUPPORTED, 2, true);
        CpuidFilter filter = new CpuidFilter(2, true);
        assertThat(leaves).containsExactly(filter.filter(SUPPORTED, 0), filter.filter(SUPPORTED, 1));
    }

    @Test
    void aVmOfTheSameShapeReusesThem() {
        GuestCpuid cpuid = new GuestCpuid();
        List<List<CpuidEntry>> first = cpuid.forVcpus(SUPPORTED, 1, true);
        assertThat(cpuid.forVcpus(SUPPORTED, 1, true)).isSameAs(first);
        assertThat(cpuid.derivations()).isEqualTo(1);
    }

    @Test
    void anotherShapeOrAnotherSupportedListIsDerivedAnew() {
        GuestCpuid cpuid = new GuestCpuid();
        cpuid.forVcpus(SUPPORTED, 1, true);
        assertThat(cpuid.forVcpus(SUPPORTED, 2, true)).hasSize(2);
        assertThat(cpuid.forVcpus(SUPPORTED, 2, false).get(0)).isEqualTo(new CpuidFilter(2, false).filter(SUPPORTED, 0));
        List<CpuidEntry> otherHost = new ArrayList<>(SUPPORTED);
        otherHost.set(1, new CpuidEntry(1, 0, 0, 0x000806ea, 0x0b100800, 0x7ffafbbf, 0));
        assertThat(cpuid.forVcpus(otherHost, 2, false).get(0)).isEqualTo(new CpuidFilter(2, false).filter(otherHost, 0));
        assertThat(cpuid.derivations()).isEqualTo(4);
    }
}
