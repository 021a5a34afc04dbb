package dev.arrow.kvm.loader;

import dev.arrow.kvm.memory.MemoryRegion;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A kernel copied into guest memory by {@link KernelLoader}.
 *
 * @param kind         what the image was
 * @param entryAddress guest physical address of the 64-bit entry point (RIP at boot)
 * @param startAddress lowest guest address the image was loaded to
 * @param endAddress   first guest address above everything the kernel occupies while it
 *                     boots (for a bzImage this includes init_size at its run-time address);
 *                     an initrd must lie at or above it
 * @param setupHeader  for a bzImage, the image bytes from 0x1F1 to the end of its setup header,
 *                     for {@code BootParams.fromSetupHeader}; empty for a vmlinux
 * @param readOnlyEnd  for a vmlinux whose lowest segment is not writable (text and rodata), the guest address where
 *                     that segment ends: the guest changes {@code [startAddress, readOnlyEnd)} only when it patches
 *                     its own code at boot; {@code startAddress} when there is no such segment (and for a bzImage)
 * @param writableSegments for a vmlinux, the guest ranges of its writable segments (data, per-CPU data, init sections,
 *                     bss), lowest first, each inside {@code [readOnlyEnd, endAddress)}: what the guest writes at boot
 *                     lies there; empty when unknown (a bzImage)
 */
public record LoadedKernel(Kind kind, long entryAddress, long startAddress, long endAddress, byte[] setupHeader,
        long readOnlyEnd, List<MemoryRegion> writableSegments) {

    /** Kernel image formats. */
    public enum Kind {
        /** An uncompressed ELF64 x86-64 vmlinux, entered at its e_entry. */
        ELF_VMLINUX,
        /** A bzImage, entered at its 64-bit entry (protected-mode part + 0x200). */
        BZIMAGE
    }

    public LoadedKernel {
        setupHeader = setupHeader.clone();
        if (readOnlyEnd < startAddress || readOnlyEnd > endAddress) {
            throw new IllegalArgumentException(String.format("read-only end 0x%x is outside the kernel [0x%x, 0x%x)",
                    readOnlyEnd, startAddress, endAddress));
        }
        writableSegments = List.copyOf(writableSegments);
        long below = readOnlyEnd;
        for (MemoryRegion w : writableSegments) {
            if (w.start().value() < below || w.endValue() > endAddress) {
                throw new IllegalArgumentException(String.format("writable segment %s is not above 0x%x and inside the"
                        + " kernel [0x%x, 0x%x)", w, below, startAddress, endAddress));
            }
            below = w.endValue();
        }
    }

    /** A kernel without known segments ({@link #readOnlyEnd()} is {@code startAddress}, no writable segments). */
    public LoadedKernel(Kind kind, long entryAddress, long startAddress, long endAddress, byte[] setupHeader) {
        this(kind, entryAddress, startAddress, endAddress, setupHeader, startAddress, List.of());
    }

    @Override
    public byte[] setupHeader() {
        return setupHeader.clone();
    }

    public boolean hasSetupHeader() {
        return setupHeader.length > 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoadedKernel k && kind == k.kind && entryAddress == k.entryAddress
                && startAddress == k.startAddress && endAddress == k.endAddress
                && Arrays.equals(setupHeader, k.setupHeader) && readOnlyEnd == k.readOnlyEnd
                && writableSegments.equals(k.writableSegments);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, entryAddress, startAddress, endAddress, readOnlyEnd, writableSegments)
                * 31 + Arrays.hashCode(setupHeader);
    }

    @Override
    public String toString() {
        return String.format("LoadedKernel[%s entry=0x%x range=[0x%x, 0x%x)]", kind, entryAddress, startAddress, endAddress);
    }
}
