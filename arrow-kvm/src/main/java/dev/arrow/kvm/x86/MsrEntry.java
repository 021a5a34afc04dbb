package dev.arrow.kvm.x86;

/** A model-specific register and the value to load into it (struct kvm_msr_entry). */
public record MsrEntry(int index, long value) {

    @Override
    public String toString() {
        return String.format("MsrEntry[0x%x=0x%x]", index, value);
    }
}
