package dev.arrow.kvm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A segment register as KVM's {@code struct kvm_segment} describes it: the hidden descriptor cache
 * (base, byte-granular limit, attributes) plus the visible selector, and how that struct is laid out
 * (24 bytes: u64 base, u32 limit, u16 selector, then the u8 fields type, present, dpl, db, s, l, g,
 * avl, unusable and one padding byte). The x86 boot code computes them ({@code x86.Gdt#decode});
 * {@link Sregs} carries them to and from KVM.
 *
 * @param base     linear base address
 * @param limit    limit in bytes (already scaled by 4 KiB when {@code g} is set)
 * @param selector the selector (index * 8 + table indicator + RPL)
 * @param type     4-bit descriptor type (e.g. 0xB = code execute/read accessed, 0x3 = data
 *                 read/write accessed; for system segments 0xB = busy 64-bit TSS)
 * @param present  P bit
 * @param dpl      descriptor privilege level 0..3
 * @param db       D/B bit (default operation size 32 bit / big)
 * @param s        S bit: code or data segment (true) versus system segment (false)
 * @param l        L bit: 64-bit code segment
 * @param g        G bit: limit granularity 4 KiB
 * @param avl      AVL bit (available to software)
 * @param unusable KVM's "unusable" flag, which KVM expects on every segment that is not present
 */
public record Segment(long base, int limit, int selector, int type, boolean present, int dpl,
                      boolean db, boolean s, boolean l, boolean g, boolean avl, boolean unusable) {

    public static final int SIZE = 24;
    static final int OFF_BASE = 0;
    static final int OFF_LIMIT = 8;
    static final int OFF_SELECTOR = 12;
    static final int OFF_TYPE = 14;
    static final int OFF_PRESENT = 15;
    static final int OFF_DPL = 16;
    static final int OFF_DB = 17;
    static final int OFF_S = 18;
    static final int OFF_L = 19;
    static final int OFF_G = 20;
    static final int OFF_AVL = 21;
    static final int OFF_UNUSABLE = 22;

    public Segment {
        if (selector < 0 || selector > 0xFFFF) {
            throw new IllegalArgumentException("segment selector out of range: " + selector);
        }
        if (type < 0 || type > 0xF || dpl < 0 || dpl > 3) {
            throw new IllegalArgumentException("segment type or dpl out of range: type=" + type + " dpl=" + dpl);
        }
    }

    /**
     * The segment a real-mode {@code mov sreg, selector} loads: base = selector * 16, limit 64 KiB,
     * read/write data (type 3) or execute/read code (type 11, accessed).
     */
    public static Segment realMode(int selector, boolean code) {
        return new Segment((long) selector << 4, 0xFFFF, selector, code ? 0xB : 0x3, true, 0,
                false, true, false, false, false, false);
    }

    /** Writes the struct at {@code index} of {@code dst}. */
    public void encode(ByteBuffer dst, int index) {
        ByteBuffer b = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(index + OFF_BASE, base);
        b.putInt(index + OFF_LIMIT, limit);
        b.putShort(index + OFF_SELECTOR, (short) selector);
        b.put(index + OFF_TYPE, (byte) type);
        b.put(index + OFF_PRESENT, bit(present));
        b.put(index + OFF_DPL, (byte) dpl);
        b.put(index + OFF_DB, bit(db));
        b.put(index + OFF_S, bit(s));
        b.put(index + OFF_L, bit(l));
        b.put(index + OFF_G, bit(g));
        b.put(index + OFF_AVL, bit(avl));
        b.put(index + OFF_UNUSABLE, bit(unusable));
        b.put(index + 23, (byte) 0);
    }

    /** Reads the struct at {@code index} of {@code src}. */
    public static Segment decode(ByteBuffer src, int index) {
        ByteBuffer b = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return new Segment(b.getLong(index + OFF_BASE), b.getInt(index + OFF_LIMIT),
                b.getShort(index + OFF_SELECTOR) & 0xFFFF, b.get(index + OFF_TYPE) & 0xF,
                b.get(index + OFF_PRESENT) != 0, b.get(index + OFF_DPL) & 3, b.get(index + OFF_DB) != 0,
                b.get(index + OFF_S) != 0, b.get(index + OFF_L) != 0, b.get(index + OFF_G) != 0,
                b.get(index + OFF_AVL) != 0, b.get(index + OFF_UNUSABLE) != 0);
    }

    private static byte bit(boolean v) {
        return (byte) (v ? 1 : 0);
    }
}
