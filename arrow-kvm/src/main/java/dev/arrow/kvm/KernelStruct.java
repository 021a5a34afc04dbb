package dev.arrow.kvm;

import dev.arrow.kvm.sys.KvmIoctl;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A KVM state struct kept as the kernel's bytes: state the VMM captures and later hands back
 * without changing it (XSAVE area, XCRs, pending vCPU events, debug registers, an irqchip). Its
 * {@link Kind} names the struct and fixes its size, which is the argument size of the ioctl that
 * reads it (the XSAVE area may be larger, see {@link Kind#XSAVE}). Immutable: the bytes are copied
 * in and out.
 */
public record KernelStruct(Kind kind, byte[] bytes) {

    /** The kernel structs kept this way, each with the ioctl whose argument it is. */
    public enum Kind {
        /**
         * struct kvm_xsave: 4096 bytes, or the larger size a VM reports through
         * {@code KVM_CAP_XSAVE2} when the host has XSAVE components beyond 4 KiB (AMX).
         */
        XSAVE(KvmIoctl.KVM_GET_XSAVE),
        XCRS(KvmIoctl.KVM_GET_XCRS),
        VCPU_EVENTS(KvmIoctl.KVM_GET_VCPU_EVENTS),
        DEBUGREGS(KvmIoctl.KVM_GET_DEBUGREGS),
        /** struct kvm_irqchip: u32 chip_id at 0, the chip's state from 8. */
        IRQCHIP(KvmIoctl.KVM_GET_IRQCHIP);

        private final KvmIoctl reader;

        Kind(KvmIoctl reader) {
            this.reader = reader;
        }

        /** The struct's size in bytes (for XSAVE: the least size). */
        public int size() {
            return reader.argumentSize();
        }

        private boolean sizeFits(int length) {
            return this == XSAVE ? length >= size() && length % 4 == 0 : length == size();
        }
    }

    /**
     * @throws IllegalArgumentException if {@code bytes} does not have the struct's size
     */
    public KernelStruct {
        if (!kind.sizeFits(bytes.length)) {
            throw new IllegalArgumentException(kind + " is " + kind.size() + " bytes"
                    + (kind == Kind.XSAVE ? " or more (a multiple of 4)" : "") + ", got " + bytes.length);
        }
        bytes = bytes.clone();
    }

    /** Reads a struct of {@code size} bytes from index 0 of {@code src}. */
    static KernelStruct decode(Kind kind, ByteBuffer src, int size) {
        byte[] b = new byte[size];
        src.duplicate().get(0, b, 0, size);
        return new KernelStruct(kind, b);
    }

    /** Writes the struct at index 0 of {@code dst}. */
    void encode(ByteBuffer dst) {
        dst.duplicate().put(0, bytes, 0, bytes.length);
    }

    /** A copy of the kernel's bytes. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    public int size() {
        return bytes.length;
    }

    /** The little-endian u32 at {@code offset}. */
    public int intAt(int offset) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(offset);
    }

    /** A copy with the little-endian u32 at {@code offset} replaced by {@code value}. */
    public KernelStruct withIntAt(int offset, int value) {
        byte[] b = bytes.clone();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return new KernelStruct(kind, b);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KernelStruct k && k.kind == kind && Arrays.equals(k.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return 31 * kind.hashCode() + Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        int shown = Math.min(bytes.length, 16);
        return "KernelStruct[" + kind + ", " + bytes.length + " bytes: "
                + HexFormat.of().formatHex(bytes, 0, shown) + (shown < bytes.length ? "...]" : "]");
    }

    /** This struct, if it is a {@code kind}; what a KVM_SET_* of that kind is given. */
    KernelStruct requireKind(Kind kind) {
        if (this.kind != kind) {
            throw new IllegalArgumentException("expected a " + kind + " struct, got " + this);
        }
        return this;
    }
}
