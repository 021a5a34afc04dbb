package dev.arrow.kvm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * GDTR or IDTR: our layout of {@code struct kvm_dtable} (u64 base, u16 limit, 6 padding bytes;
 * 16 bytes).
 */
public record DescriptorTable(long base, int limit) {
    public static final int SIZE = 16;

    public DescriptorTable {
        if (limit < 0 || limit > 0xFFFF) {
            throw new IllegalArgumentException("descriptor table limit out of range: " + limit);
        }
    }

    public void encode(ByteBuffer dst, int index) {
        ByteBuffer b = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(index, base);
        b.putShort(index + 8, (short) limit);
        b.putShort(index + 10, (short) 0);
        b.putInt(index + 12, 0);
    }

    public static DescriptorTable decode(ByteBuffer src, int index) {
        ByteBuffer b = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return new DescriptorTable(b.getLong(index), b.getShort(index + 8) & 0xFFFF);
    }
}
