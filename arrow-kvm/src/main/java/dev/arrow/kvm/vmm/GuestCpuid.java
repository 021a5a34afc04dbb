package dev.arrow.kvm.vmm;

import dev.arrow.kvm.x86.CpuidEntry;
import dev.arrow.kvm.x86.CpuidFilter;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The CPUID leaves each vCPU of a new VM gets ({@link CpuidFilter} applied to the host's supported leaves), derived
 * once and reused while the next VM has the same supported list (the same instance: {@link dev.arrow.kvm.Kvm} asks
 * KVM_GET_SUPPORTED_CPUID once per JVM and hands out that list), vCPU count and TSC-deadline choice. Holds the last
 * answer only: VMs of another shape derive theirs anew. Thread-safe; the lists are immutable.
 */
final class GuestCpuid {
    private final AtomicReference<Derived> last = new AtomicReference<>();
    private final AtomicLong derivations = new AtomicLong();

    /** One derivation: its inputs and the leaves of vCPU i at index i. */
    private record Derived(List<CpuidEntry> supported, int vcpuCount, boolean tscDeadlineTimer,
            List<List<CpuidEntry>> perVcpu) {
    }

    /** The leaves of vCPUs 0..{@code vcpuCount - 1}, at their index. */
    List<List<CpuidEntry>> forVcpus(List<CpuidEntry> supported, int vcpuCount, boolean tscDeadlineTimer) {
        Objects.requireNonNull(supported, "supported");
        Derived d = last.get();
        if (d != null && d.supported() == supported && d.vcpuCount() == vcpuCount
                && d.tscDeadlineTimer() == tscDeadlineTimer) {
            return d.perVcpu();
        }
        CpuidFilter filter = new CpuidFilter(vcpuCount, tscDeadlineTimer);
        List<List<CpuidEntry>> perVcpu = new ArrayList<>(vcpuCount);
        for (int i = 0; i < vcpuCount; i++) {
            perVcpu.add(filter.filter(supported, i));
        }
        d = new Derived(supported, vcpuCount, tscDeadlineTimer, List.copyOf(perVcpu));
        last.set(d);
        derivations.incrementAndGet();
        return d.perVcpu();
    }

    /** How many times the leaves were derived rather than reused (for tests). */
    long derivations() {
        return derivations.get();
    }
}
