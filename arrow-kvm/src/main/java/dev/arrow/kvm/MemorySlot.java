package dev.arrow.kvm;

import dev.arrow.kvm.memory.MemoryRegion;

/** A KVM memory slot: guest physical {@code region} backed by host memory at {@code hostAddress}. */
public record MemorySlot(int slot, MemoryRegion region, long hostAddress, boolean readOnly) {
    @Override
    public String toString() {
        return "slot " + slot + " " + region + (readOnly ? " (read-only)" : "");
    }
}
