package dev.arrow.kvm.x86;

/**
 * One CPUID entry as KVM_GET_SUPPORTED_CPUID returns it and KVM_SET_CPUID2 takes it
 * (struct kvm_cpuid_entry2 without padding): the leaf ({@code function}), the sub-leaf
 * ({@code index}, meaningful when {@code flags} has {@link #FLAG_SIGNIFICANT_INDEX}) and the
 * four result registers.
 */
public record CpuidEntry(int function, int index, int flags, int eax, int ebx, int ecx, int edx) {

    /** KVM_CPUID_FLAG_SIGNIFCANT_INDEX: the entry applies to sub-leaf {@code index} only. */
    public static final int FLAG_SIGNIFICANT_INDEX = 1;

    public CpuidEntry withEax(int value) {
        return new CpuidEntry(function, index, flags, value, ebx, ecx, edx);
    }

    public CpuidEntry withEbx(int value) {
        return new CpuidEntry(function, index, flags, eax, value, ecx, edx);
    }

    public CpuidEntry withEcx(int value) {
        return new CpuidEntry(function, index, flags, eax, ebx, value, edx);
    }

    public CpuidEntry withEdx(int value) {
        return new CpuidEntry(function, index, flags, eax, ebx, ecx, value);
    }

    @Override
    public String toString() {
        return String.format("CpuidEntry[0x%x/%d flags=%d eax=%08x ebx=%08x ecx=%08x edx=%08x]",
                function, index, flags, eax, ebx, ecx, edx);
    }
}
