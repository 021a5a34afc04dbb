package dev.arrow.kvm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The in-kernel local APIC's register page ({@code struct kvm_lapic_state}, 1024 bytes; each
 * 32-bit register at its MMIO offset from the APIC base). Mutable, not thread-safe.
 */
public final class LapicState {
    public static final int SIZE = 1024;
    public static final int APIC_ID = 0x20;
    public static final int APIC_SPURIOUS = 0xF0;
    public static final int APIC_LVT0 = 0x350;
    public static final int APIC_LVT1 = 0x360;

    /** Delivery modes for LVT entries (bits 8-10). */
    public static final int DELIVERY_FIXED = 0;
    public static final int DELIVERY_NMI = 4;
    public static final int DELIVERY_EXTINT = 7;

    private final byte[] raw = new byte[SIZE];

    public int register(int offset) {
        return ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getInt(checkOffset(offset));
    }

    public LapicState register(int offset, int value) {
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).putInt(checkOffset(offset), value);
        return this;
    }

    /** Sets the delivery mode (bits 8-10) of an LVT register, keeping its other bits. */
    public LapicState deliveryMode(int lvtOffset, int mode) {
        int v = register(lvtOffset);
        return register(lvtOffset, (v & ~0x700) | ((mode & 7) << 8));
    }

    private static int checkOffset(int offset) {
        if (offset < 0 || offset > SIZE - 4 || (offset & 0xF) != 0) {
            throw new IllegalArgumentException("not a LAPIC register offset: 0x" + Integer.toHexString(offset));
        }
        return offset;
    }

    public void encode(ByteBuffer dst) {
        dst.duplicate().put(0, raw, 0, SIZE);
    }

    public static LapicState decode(ByteBuffer src) {
        LapicState s = new LapicState();
        src.duplicate().get(0, s.raw, 0, SIZE);
        return s;
    }
}
