package dev.arrow.kvm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A vCPU's general-purpose registers: our layout of {@code struct kvm_regs} (18 little-endian
 * u64 in the order rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8-r15, rip, rflags; 144 bytes).
 * Mutable, like the struct; not thread-safe.
 */
public final class Regs {
    public static final int SIZE = 144;

    /** Register slots in struct order. */
    public enum Reg { RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS }

    /** Byte offset of {@code reg} in struct kvm_regs. */
    public static int offsetOf(Reg reg) {
        return reg.ordinal() * 8;
    }

    /** Bit 1 of RFLAGS is reserved and always 1. */
    public static final long RFLAGS_RESERVED = 0x2;

    private final long[] values = new long[Reg.values().length];

    public Regs() {
        values[Reg.RFLAGS.ordinal()] = RFLAGS_RESERVED;
    }

    public long get(Reg reg) {
        return values[reg.ordinal()];
    }

    public Regs set(Reg reg, long value) {
        values[reg.ordinal()] = value;
        return this;
    }

    public long rip() {
        return get(Reg.RIP);
    }

    public Regs rip(long v) {
        return set(Reg.RIP, v);
    }

    public long rsp() {
        return get(Reg.RSP);
    }

    public Regs rsp(long v) {
        return set(Reg.RSP, v);
    }

    public long rflags() {
        return get(Reg.RFLAGS);
    }

    public Regs rflags(long v) {
        return set(Reg.RFLAGS, v);
    }

    public long rax() {
        return get(Reg.RAX);
    }

    public Regs rax(long v) {
        return set(Reg.RAX, v);
    }

    public long rsi() {
        return get(Reg.RSI);
    }

    public Regs rsi(long v) {
        return set(Reg.RSI, v);
    }

    /** Writes the struct at index 0 of {@code dst} (little-endian regardless of dst's order). */
    public void encode(ByteBuffer dst) {
        ByteBuffer b = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i++) {
            b.putLong(i * 8, values[i]);
        }
    }

    /** Reads the struct from index 0 of {@code src}. */
    public static Regs decode(ByteBuffer src) {
        ByteBuffer b = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        Regs r = new Regs();
        for (int i = 0; i < r.values.length; i++) {
            r.values[i] = b.getLong(i * 8);
        }
        return r;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Regs[");
        for (Reg reg : Reg.values()) {
            if (reg.ordinal() > 0) {
                sb.append(' ');
            }
            sb.append(reg.name().toLowerCase()).append("=0x").append(Long.toHexString(get(reg)));
        }
        return sb.append(']').toString();
    }
}
