package dev.arrow.kvm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A vCPU's special registers: our layout of {@code struct kvm_sregs} (312 bytes): eight
 * {@link Segment}s (cs, ds, es, fs, gs, ss, tr, ldt), two {@link DescriptorTable}s (gdt, idt),
 * cr0, cr2, cr3, cr4, cr8, efer, apic_base and a 256-bit pending-interrupt bitmap.
 * Mutable, like the struct; not thread-safe.
 */
public final class Sregs {
    public static final int SIZE = 312;

    public static final int OFF_CS = 0;
    public static final int OFF_DS = 24;
    public static final int OFF_ES = 48;
    public static final int OFF_FS = 72;
    public static final int OFF_GS = 96;
    public static final int OFF_SS = 120;
    public static final int OFF_TR = 144;
    public static final int OFF_LDT = 168;
    public static final int OFF_GDT = 192;
    public static final int OFF_IDT = 208;
    public static final int OFF_CR0 = 224;
    public static final int OFF_CR2 = 232;
    public static final int OFF_CR3 = 240;
    public static final int OFF_CR4 = 248;
    public static final int OFF_CR8 = 256;
    public static final int OFF_EFER = 264;
    public static final int OFF_APIC_BASE = 272;
    public static final int OFF_INTERRUPT_BITMAP = 280;

    private Segment cs;
    private Segment ds;
    private Segment es;
    private Segment fs;
    private Segment gs;
    private Segment ss;
    private Segment tr;
    private Segment ldt;
    private DescriptorTable gdt;
    private DescriptorTable idt;
    private long cr0;
    private long cr2;
    private long cr3;
    private long cr4;
    private long cr8;
    private long efer;
    private long apicBase;
    private final long[] interruptBitmap = new long[4];

    /** Use {@link Vcpu#getSregs()} to start from the vCPU's state, or {@link #decode}. */
    public Sregs() {
        Segment none = new Segment(0, 0, 0, 0, false, 0, false, false, false, false, false, true);
        cs = ds = es = fs = gs = ss = tr = ldt = none;
        gdt = idt = new DescriptorTable(0, 0);
    }

    public Segment cs() { return cs; }
    public Sregs cs(Segment v) { cs = v; return this; }
    public Segment ds() { return ds; }
    public Sregs ds(Segment v) { ds = v; return this; }
    public Segment es() { return es; }
    public Sregs es(Segment v) { es = v; return this; }
    public Segment fs() { return fs; }
    public Sregs fs(Segment v) { fs = v; return this; }
    public Segment gs() { return gs; }
    public Sregs gs(Segment v) { gs = v; return this; }
    public Segment ss() { return ss; }
    public Sregs ss(Segment v) { ss = v; return this; }
    public Segment tr() { return tr; }
    public Sregs tr(Segment v) { tr = v; return this; }
    public Segment ldt() { return ldt; }
    public Sregs ldt(Segment v) { ldt = v; return this; }
    public DescriptorTable gdt() { return gdt; }
    public Sregs gdt(DescriptorTable v) { gdt = v; return this; }
    public DescriptorTable idt() { return idt; }
    public Sregs idt(DescriptorTable v) { idt = v; return this; }
    public long cr0() { return cr0; }
    public Sregs cr0(long v) { cr0 = v; return this; }
    public long cr2() { return cr2; }
    public Sregs cr2(long v) { cr2 = v; return this; }
    public long cr3() { return cr3; }
    public Sregs cr3(long v) { cr3 = v; return this; }
    public long cr4() { return cr4; }
    public Sregs cr4(long v) { cr4 = v; return this; }
    public long cr8() { return cr8; }
    public Sregs cr8(long v) { cr8 = v; return this; }
    public long efer() { return efer; }
    public Sregs efer(long v) { efer = v; return this; }
    public long apicBase() { return apicBase; }
    public Sregs apicBase(long v) { apicBase = v; return this; }

    /** Sets ds, es, fs, gs and ss to the same data segment. */
    public Sregs dataSegments(Segment data) {
        ds = es = fs = gs = ss = data;
        return this;
    }

    /** A copy of the pending-interrupt bitmap (bit n = vector n pending). */
    public long[] interruptBitmap() {
        return interruptBitmap.clone();
    }

    public Sregs interruptBitmap(long[] bitmap) {
        if (bitmap.length != 4) {
            throw new IllegalArgumentException("interrupt bitmap has 4 words, got " + bitmap.length);
        }
        System.arraycopy(bitmap, 0, interruptBitmap, 0, 4);
        return this;
    }

    /** An independent copy: the setters of this class change it in place. */
    public Sregs copy() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        encode(b);
        return decode(b);
    }

    public void encode(ByteBuffer dst) {
        ByteBuffer b = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        cs.encode(b, OFF_CS);
        ds.encode(b, OFF_DS);
        es.encode(b, OFF_ES);
        fs.encode(b, OFF_FS);
        gs.encode(b, OFF_GS);
        ss.encode(b, OFF_SS);
        tr.encode(b, OFF_TR);
        ldt.encode(b, OFF_LDT);
        gdt.encode(b, OFF_GDT);
        idt.encode(b, OFF_IDT);
        b.putLong(OFF_CR0, cr0);
        b.putLong(OFF_CR2, cr2);
        b.putLong(OFF_CR3, cr3);
        b.putLong(OFF_CR4, cr4);
        b.putLong(OFF_CR8, cr8);
        b.putLong(OFF_EFER, efer);
        b.putLong(OFF_APIC_BASE, apicBase);
        for (int i = 0; i < 4; i++) {
            b.putLong(OFF_INTERRUPT_BITMAP + i * 8, interruptBitmap[i]);
        }
    }

    public static Sregs decode(ByteBuffer src) {
        ByteBuffer b = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        Sregs s = new Sregs();
        s.cs = Segment.decode(b, OFF_CS);
        s.ds = Segment.decode(b, OFF_DS);
        s.es = Segment.decode(b, OFF_ES);
        s.fs = Segment.decode(b, OFF_FS);
        s.gs = Segment.decode(b, OFF_GS);
        s.ss = Segment.decode(b, OFF_SS);
        s.tr = Segment.decode(b, OFF_TR);
        s.ldt = Segment.decode(b, OFF_LDT);
        s.gdt = DescriptorTable.decode(b, OFF_GDT);
        s.idt = DescriptorTable.decode(b, OFF_IDT);
        s.cr0 = b.getLong(OFF_CR0);
        s.cr2 = b.getLong(OFF_CR2);
        s.cr3 = b.getLong(OFF_CR3);
        s.cr4 = b.getLong(OFF_CR4);
        s.cr8 = b.getLong(OFF_CR8);
        s.efer = b.getLong(OFF_EFER);
        s.apicBase = b.getLong(OFF_APIC_BASE);
        for (int i = 0; i < 4; i++) {
            s.interruptBitmap[i] = b.getLong(OFF_INTERRUPT_BITMAP + i * 8);
        }
        return s;
    }

    @Override
    public String toString() {
        return String.format("Sregs[cs=%s ds=%s ss=%s gdt=%s idt=%s cr0=0x%x cr3=0x%x cr4=0x%x efer=0x%x apic_base=0x%x irq=%s]",
                cs, ds, ss, gdt, idt, cr0, cr3, cr4, efer, apicBase, Arrays.toString(interruptBitmap));
    }
}
