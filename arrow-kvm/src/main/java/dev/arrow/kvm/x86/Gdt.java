package dev.arrow.kvm.x86;

import dev.arrow.kvm.Segment;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;

/**
 * The boot GDT and the segment register values that match it.
 *
 * <p>Layout (selectors as the Linux boot protocol wants them: __BOOT_CS = 0x10,
 * __BOOT_DS = 0x18): 0 null, 1 unused (null), 2 flat 64-bit code, 3 flat data, 4..5 a 16-byte
 * 64-bit TSS descriptor (a placeholder with base 0 and limit 0x67: VM entry needs a busy TSS in
 * TR; Linux loads its own TSS early). Descriptors follow the Intel SDM vol. 3 section 3.4.5 bit
 * layout.
 */
public final class Gdt {

    private Gdt() {}

    public static final int CODE_SELECTOR = 0x10;
    public static final int DATA_SELECTOR = 0x18;
    public static final int TSS_SELECTOR = 0x20;
    /** 8-byte slots, the TSS descriptor takes two. */
    public static final int ENTRY_COUNT = 6;
    public static final int SIZE = ENTRY_COUNT * 8;
    /** GDTR limit (size - 1). */
    public static final int LIMIT = SIZE - 1;
    /** One empty 8-byte IDT slot; IDTR limit 7. Any exception before Linux sets up its IDT
     *  ends in a triple fault, which the VMM sees as a shutdown exit. */
    public static final int IDT_LIMIT = 7;

    /** Access byte: present, DPL 0, code/data, execute/read, accessed. */
    public static final int ACCESS_CODE = 0x9b;
    /** Access byte: present, DPL 0, code/data, read/write, accessed. */
    public static final int ACCESS_DATA = 0x93;
    /** Access byte: present, DPL 0, system, busy 64-bit TSS. */
    public static final int ACCESS_TSS_BUSY = 0x8b;
    /** Flags nibble bits (descriptor bits 52..55). */
    public static final int FLAG_AVL = 0x1;
    public static final int FLAG_L = 0x2;
    public static final int FLAG_DB = 0x4;
    public static final int FLAG_G = 0x8;

    public static final long CODE_DESCRIPTOR = descriptor(0, 0xfffff, ACCESS_CODE, FLAG_G | FLAG_L);
    public static final long DATA_DESCRIPTOR = descriptor(0, 0xfffff, ACCESS_DATA, FLAG_G | FLAG_DB);
    public static final long TSS_DESCRIPTOR = descriptor(0, 0x67, ACCESS_TSS_BUSY, 0);

    /**
     * Encodes a segment descriptor.
     *
     * @param base  32-bit base (the upper half of a 16-byte system descriptor is separate)
     * @param limit 20-bit raw limit (in 4 KiB units when {@link #FLAG_G} is set)
     * @param access access byte (P, DPL, S, type)
     * @param flags  flags nibble (G, D/B, L, AVL)
     */
    public static long descriptor(long base, int limit, int access, int flags) {
        if ((base & ~0xffff_ffffL) != 0 || (limit & ~0xfffff) != 0 || (access & ~0xff) != 0 || (flags & ~0xf) != 0) {
            throw new IllegalArgumentException(String.format(
                    "descriptor field out of range: base 0x%x limit 0x%x access 0x%x flags 0x%x",
                    base, limit, access, flags));
        }
        return (limit & 0xffffL)
                | ((base & 0xff_ffffL) << 16)
                | ((long) access << 40)
                | ((long) (limit >>> 16) << 48)
                | ((long) flags << 52)
                | (((base >>> 24) & 0xffL) << 56);
    }

    /**
     * The segment register a CPU holds after loading {@code selector} that names {@code descriptor};
     * a segment that is not present is marked unusable, as KVM expects.
     */
    public static Segment decode(long descriptor, int selector) {
        long base = ((descriptor >>> 16) & 0xff_ffffL) | (((descriptor >>> 56) & 0xffL) << 24);
        int rawLimit = (int) ((descriptor & 0xffff) | ((descriptor >>> 32) & 0xf_0000L));
        int access = (int) ((descriptor >>> 40) & 0xff);
        int flags = (int) ((descriptor >>> 52) & 0xf);
        boolean g = (flags & FLAG_G) != 0;
        int limit = g ? (rawLimit << 12) | 0xfff : rawLimit;
        boolean present = (access & 0x80) != 0;
        return new Segment(base, limit, selector,
                access & 0xf, present, (access >>> 5) & 3,
                (flags & FLAG_DB) != 0, (access & 0x10) != 0, (flags & FLAG_L) != 0, g,
                (flags & FLAG_AVL) != 0, !present);
    }

    /** The six 8-byte GDT slots in order. */
    public static long[] descriptors() {
        return new long[] {0, 0, CODE_DESCRIPTOR, DATA_DESCRIPTOR, TSS_DESCRIPTOR, 0};
    }

    public static Segment code() {
        return decode(CODE_DESCRIPTOR, CODE_SELECTOR);
    }

    public static Segment data() {
        return decode(DATA_DESCRIPTOR, DATA_SELECTOR);
    }

    public static Segment tss() {
        return decode(TSS_DESCRIPTOR, TSS_SELECTOR);
    }

    /** Writes the GDT at {@link Layout#GDT_ADDRESS} and the empty IDT at {@link Layout#IDT_ADDRESS}. */
    public static void write(GuestMemory memory) {
        long[] d = descriptors();
        for (int i = 0; i < d.length; i++) {
            memory.writeLong(GuestAddress.of(Layout.GDT_ADDRESS + 8L * i), d[i]);
        }
        memory.writeLong(GuestAddress.of(Layout.IDT_ADDRESS), 0);
    }
}
