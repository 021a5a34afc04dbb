package dev.arrow.kvm.x86;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Intel MultiProcessor Specification 1.4 tables, so that a kernel without ACPI finds every
 * vCPU, the IOAPIC and the interrupt routing.
 *
 * <p>Written at {@link Layout#MPTABLE_ADDRESS}, where Linux looks for the floating pointer
 * (the last KiB of conventional memory): the 16-byte floating pointer, then the configuration
 * table with, in order, one processor entry per vCPU (APIC id = vCPU index, vCPU 0 the boot
 * processor), one ISA bus, the IOAPIC (id = vCPU count, at {@link Layout#IOAPIC_ADDRESS}), an
 * I/O interrupt entry for each of the {@link Layout#IOAPIC_PINS} pins (ISA IRQ n to pin n,
 * conforming polarity and trigger, matching KVM's default GSI routing), and the local interrupt
 * entries (LINT0 ExtINT, LINT1 NMI). Both checksums are set so every table sums to zero.
 */
public final class MpTable {

    public static final int FLOATING_POINTER_SIZE = 16;
    public static final int HEADER_SIZE = 44;
    public static final int PROCESSOR_ENTRY_SIZE = 20;
    public static final int BUS_ENTRY_SIZE = 8;
    public static final int IOAPIC_ENTRY_SIZE = 8;
    public static final int INTERRUPT_ENTRY_SIZE = 8;

    public static final int ENTRY_PROCESSOR = 0;
    public static final int ENTRY_BUS = 1;
    public static final int ENTRY_IOAPIC = 2;
    public static final int ENTRY_IO_INTERRUPT = 3;
    public static final int ENTRY_LOCAL_INTERRUPT = 4;

    public static final int SPEC_REVISION = 4;
    public static final int CPU_FLAG_ENABLED = 1;
    public static final int CPU_FLAG_BOOT_PROCESSOR = 2;
    /** Local APIC version of an integrated (xAPIC) APIC. */
    public static final int LAPIC_VERSION = 0x14;
    public static final int IOAPIC_VERSION = 0x11;
    public static final int IOAPIC_FLAG_USABLE = 1;
    /** CPU signature family 6, model 0, stepping 0. */
    public static final int CPU_SIGNATURE = 0x600;
    /** CPUID.1 EDX feature flags: FPU (bit 0) and APIC (bit 9). */
    public static final int CPU_FEATURES = (1 << 9) | 1;
    public static final int INTERRUPT_TYPE_INT = 0;
    public static final int INTERRUPT_TYPE_NMI = 1;
    public static final int INTERRUPT_TYPE_EXTINT = 3;
    public static final int ISA_BUS_ID = 0;
    public static final int ALL_LOCAL_APICS = 0xff;

    private static final byte[] OEM_ID = "ARROW   ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PRODUCT_ID = "MICROVM     ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] BUS_TYPE_ISA = "ISA   ".getBytes(StandardCharsets.US_ASCII);

    private final int vcpuCount;

    /** @param vcpuCount 1..{@link Layout#MAX_VCPUS} */
    public MpTable(int vcpuCount) {
        if (vcpuCount < 1 || vcpuCount > Layout.MAX_VCPUS) {
            throw new IllegalArgumentException(
                    "vCPU count must be 1.." + Layout.MAX_VCPUS + ", got " + vcpuCount);
        }
        this.vcpuCount = vcpuCount;
    }

    /** APIC id given to the IOAPIC: the first id after the vCPUs'. */
    public int ioapicId() {
        return vcpuCount;
    }

    /** Number of entries in the configuration table. */
    public int entryCount() {
        return vcpuCount + 1 + 1 + Layout.IOAPIC_PINS + 2;
    }

    /** Bytes of the configuration table (header and entries). */
    public int configTableSize() {
        return HEADER_SIZE + vcpuCount * PROCESSOR_ENTRY_SIZE + BUS_ENTRY_SIZE + IOAPIC_ENTRY_SIZE
                + (Layout.IOAPIC_PINS + 2) * INTERRUPT_ENTRY_SIZE;
    }

    /** Bytes of floating pointer and configuration table together. */
    public int size() {
        return FLOATING_POINTER_SIZE + configTableSize();
    }

    /** The floating pointer followed by the configuration table, for placement at {@code address}. */
    public byte[] toBytes(long address) {
        long configAddress = address + FLOATING_POINTER_SIZE;
        if (address < 0 || configAddress + configTableSize() > 0x1_0000_0000L) {
            throw new IllegalArgumentException("MP table must lie below 4 GiB, got 0x" + Long.toHexString(address));
        }
        ByteBuffer b = ByteBuffer.allocate(size()).order(ByteOrder.LITTLE_ENDIAN);

        // Floating pointer structure.
        b.put("_MP_".getBytes(StandardCharsets.US_ASCII));
        b.putInt((int) configAddress);
        b.put((byte) 1); // length in 16-byte paragraphs
        b.put((byte) SPEC_REVISION);
        b.put((byte) 0); // checksum, below
        b.put((byte) 0); // feature 1: 0 = a configuration table is present
        b.put((byte) 0); // feature 2: bit 7 clear = virtual wire mode, no IMCR
        b.put(new byte[3]);
        b.put(10, checksum(b.array(), 0, FLOATING_POINTER_SIZE));

        // Configuration table header.
        int header = b.position();
        b.put("PCMP".getBytes(StandardCharsets.US_ASCII));
        b.putShort((short) configTableSize());
        b.put((byte) SPEC_REVISION);
        b.put((byte) 0); // checksum, below
        b.put(OEM_ID);
        b.put(PRODUCT_ID);
        b.putInt(0); // OEM table pointer
        b.putShort((short) 0); // OEM table size
        b.putShort((short) entryCount());
        b.putInt((int) Layout.LAPIC_ADDRESS);
        b.putShort((short) 0); // extended table length
        b.put((byte) 0); // extended table checksum
        b.put((byte) 0); // reserved

        for (int cpu = 0; cpu < vcpuCount; cpu++) {
            b.put((byte) ENTRY_PROCESSOR);
            b.put((byte) cpu); // local APIC id
            b.put((byte) LAPIC_VERSION);
            b.put((byte) (CPU_FLAG_ENABLED | (cpu == 0 ? CPU_FLAG_BOOT_PROCESSOR : 0)));
            b.putInt(CPU_SIGNATURE);
            b.putInt(CPU_FEATURES);
            b.putLong(0); // reserved
        }

        b.put((byte) ENTRY_BUS);
        b.put((byte) ISA_BUS_ID);
        b.put(BUS_TYPE_ISA);

        b.put((byte) ENTRY_IOAPIC);
        b.put((byte) ioapicId());
        b.put((byte) IOAPIC_VERSION);
        b.put((byte) IOAPIC_FLAG_USABLE);
        b.putInt((int) Layout.IOAPIC_ADDRESS);

        for (int irq = 0; irq < Layout.IOAPIC_PINS; irq++) {
            b.put((byte) ENTRY_IO_INTERRUPT);
            b.put((byte) INTERRUPT_TYPE_INT);
            b.putShort((short) 0); // polarity and trigger conform to the bus
            b.put((byte) ISA_BUS_ID);
            b.put((byte) irq); // source bus IRQ
            b.put((byte) ioapicId());
            b.put((byte) irq); // IOAPIC pin
        }

        localInterrupt(b, INTERRUPT_TYPE_EXTINT, 0);
        localInterrupt(b, INTERRUPT_TYPE_NMI, 1);

        b.put(header + 7, checksum(b.array(), header, configTableSize()));
        return b.array();
    }

    /**
     * Writes the tables at {@link Layout#MPTABLE_ADDRESS}.
     *
     * @throws IllegalStateException if they would run past {@link Layout#MPTABLE_LIMIT}
     */
    public void writeTo(GuestMemory memory) {
        if (Layout.MPTABLE_ADDRESS + size() > Layout.MPTABLE_LIMIT) {
            throw new IllegalStateException("MP table of " + size() + " bytes does not fit below 0x"
                    + Long.toHexString(Layout.MPTABLE_LIMIT));
        }
        memory.write(GuestAddress.of(Layout.MPTABLE_ADDRESS), toBytes(Layout.MPTABLE_ADDRESS));
    }

    private static void localInterrupt(ByteBuffer b, int type, int lint) {
        b.put((byte) ENTRY_LOCAL_INTERRUPT);
        b.put((byte) type);
        b.putShort((short) 0);
        b.put((byte) ISA_BUS_ID);
        b.put((byte) 0); // source bus IRQ
        b.put((byte) ALL_LOCAL_APICS);
        b.put((byte) lint);
    }

    /** The byte that makes {@code b[offset, offset+length)} sum to zero modulo 256. */
    static byte checksum(byte[] b, int offset, int length) {
        int sum = 0;
        for (int i = offset; i < offset + length; i++) {
            sum += b[i];
        }
        return (byte) -sum;
    }
}
