package dev.arrow.kvm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A vCPU's x87/SSE state: our layout of {@code struct kvm_fpu} (416 bytes): fpr[8][16] at 0,
 * fcw at 128, fsw 130, ftwx 132, last_opcode 134, last_ip 136, last_dp 144, xmm[16][16] at 152,
 * mxcsr at 408. Registers are kept as raw bytes; mutable, not thread-safe.
 */
public final class Fpu {
    public static final int SIZE = 416;
    public static final int OFF_FPR = 0;
    public static final int OFF_FCW = 128;
    public static final int OFF_FSW = 130;
    public static final int OFF_FTWX = 132;
    public static final int OFF_LAST_OPCODE = 134;
    public static final int OFF_LAST_IP = 136;
    public static final int OFF_LAST_DP = 144;
    public static final int OFF_XMM = 152;
    public static final int OFF_MXCSR = 408;

    /** The x87 control word after FNINIT: all exceptions masked, 64-bit precision. */
    public static final int FCW_DEFAULT = 0x37F;
    /** MXCSR after reset: all SSE exceptions masked. */
    public static final int MXCSR_DEFAULT = 0x1F80;

    private final byte[] raw = new byte[SIZE];

    private ByteBuffer view() {
        return ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    }

    public int fcw() { return view().getShort(OFF_FCW) & 0xFFFF; }
    public Fpu fcw(int v) { view().putShort(OFF_FCW, (short) v); return this; }
    public int fsw() { return view().getShort(OFF_FSW) & 0xFFFF; }
    public Fpu fsw(int v) { view().putShort(OFF_FSW, (short) v); return this; }
    /** Abridged tag word (one bit per register, 1 = valid). */
    public int ftwx() { return raw[OFF_FTWX] & 0xFF; }
    public Fpu ftwx(int v) { raw[OFF_FTWX] = (byte) v; return this; }
    public int lastOpcode() { return view().getShort(OFF_LAST_OPCODE) & 0xFFFF; }
    public long lastIp() { return view().getLong(OFF_LAST_IP); }
    public long lastDp() { return view().getLong(OFF_LAST_DP); }
    public int mxcsr() { return view().getInt(OFF_MXCSR); }
    public Fpu mxcsr(int v) { view().putInt(OFF_MXCSR, v); return this; }

    /** A copy of XMM register {@code n} (16 bytes, little-endian). */
    public byte[] xmm(int n) {
        byte[] r = new byte[16];
        System.arraycopy(raw, OFF_XMM + 16 * java.util.Objects.checkIndex(n, 16), r, 0, 16);
        return r;
    }

    public Fpu xmm(int n, byte[] value) {
        if (value.length != 16) {
            throw new IllegalArgumentException("an XMM register has 16 bytes, got " + value.length);
        }
        System.arraycopy(value, 0, raw, OFF_XMM + 16 * java.util.Objects.checkIndex(n, 16), 16);
        return this;
    }

    public void encode(ByteBuffer dst) {
        dst.duplicate().put(0, raw, 0, SIZE);
    }

    public static Fpu decode(ByteBuffer src) {
        Fpu f = new Fpu();
        src.duplicate().get(0, f.raw, 0, SIZE);
        return f;
    }
}
