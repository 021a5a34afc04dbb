package dev.arrow.kvm.x86;

/**
 * A segment register as KVM's struct kvm_segment describes it: the hidden descriptor cache
 * (base, byte-granular limit, attributes) plus the visible selector. Plain values; the vCPU
 * code copies them into its own register layout.
 *
 * @param base   linear base address
 * @param limit  limit in bytes (already scaled by 4 KiB when {@code g} is set)
 * @param selector the selector (index * 8 + table indicator + RPL)
 * @param type   4-bit descriptor type (e.g. 0xB = code execute/read accessed, 0x3 = data
 *               read/write accessed; for system segments 0xB = busy 64-bit TSS)
 * @param present P bit
 * @param dpl    descriptor privilege level 0..3
 * @param db     D/B bit (default operation size 32 bit / big)
 * @param s      S bit: code or data segment (true) versus system segment (false)
 * @param l      L bit: 64-bit code segment
 * @param g      G bit: limit granularity 4 KiB
 * @param avl    AVL bit (available to software)
 */
public record SegmentRegister(long base, int limit, int selector, int type, boolean present, int dpl,
                      boolean db, boolean s, boolean l, boolean g, boolean avl) {

    public SegmentRegister {
        if (type < 0 || type > 0xf) {
            throw new IllegalArgumentException("segment type must be 0..15, got " + type);
        }
        if (dpl < 0 || dpl > 3) {
            throw new IllegalArgumentException("segment DPL must be 0..3, got " + dpl);
        }
        if (selector < 0 || selector > 0xffff) {
            throw new IllegalArgumentException("segment selector must be 0..0xffff, got " + selector);
        }
    }
}
