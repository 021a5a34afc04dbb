package dev.arrow.kvm.x86;

import java.util.ArrayList;
import java.util.List;

/**
 * Every fixed guest address and I/O port of an Arrow x86-64 microVM, in one place.
 *
 * <pre>
 * 0x0000_0500  GDT (6 descriptors), then the IDT (one empty slot) at 0x540
 * 0x0000_7000  zero page (struct boot_params, 4 KiB)
 * 0x0000_8ff0  initial stack pointer (grows down inside 0x8000..0x8fff)
 * 0x0000_9000  PML4, 0xa000 PDPT, 0xb000..0xefff four page directories (2 MiB pages)
 * 0x0002_0000  kernel command line (2 KiB)
 * 0x0009_fc00  EBDA: MP floating pointer + MP configuration table
 * 0x0009_fc00 .. 0x0010_0000  reserved in the e820 map (EBDA, VGA, ROM)
 * 0x0010_0000  kernel load address (bzImage protected-mode part; a vmlinux uses its p_paddr)
 *   ...        initrd at the top of low RAM, page aligned
 * 0xc000_0000 .. 0x1_0000_0000  MMIO hole: virtio-mmio at 0xd000_0000, IOAPIC, local APIC
 * 0x1_0000_0000  RAM beyond 3 GiB continues here
 *   ...        virtio-pmem images above all RAM ({@link #pmemBase}), 2 MiB aligned, not in the e820 map
 * </pre>
 *
 * <p>I/O ports: serial 0x3f8 (IRQ 4), i8042 data 0x60 and command/status 0x64, status ports 0xf4..0xf7.
 * virtio-mmio device {@code i} sits at {@link #virtioMmioAddress(int)} with IRQ
 * {@link #virtioIrq(int)} (5 upwards, one IOAPIC pin each, identity-mapped GSI = pin).
 */
public final class Layout {

    private Layout() {}

    public static final long KiB = 1024;
    public static final long MiB = 1024 * KiB;
    public static final long GiB = 1024 * MiB;
    public static final long PAGE_SIZE = 4 * KiB;

    // ---- boot structures in low memory ----

    /** Boot GDT (see {@link Gdt}): 6 descriptors = 48 bytes. */
    public static final long GDT_ADDRESS = 0x500;
    /** Boot IDT: one zeroed slot; Linux installs its own before enabling interrupts. */
    public static final long IDT_ADDRESS = 0x540;
    /** struct boot_params ("zero page"), passed to the kernel in RSI. */
    public static final long ZERO_PAGE_ADDRESS = 0x7000;
    /** Initial RSP: just below the page tables, 16-byte aligned. */
    public static final long BOOT_STACK_POINTER = 0x8ff0;
    /** Page-map level 4 (CR3). */
    public static final long PML4_ADDRESS = 0x9000;
    /** The single page-directory-pointer table (first 512 GiB). */
    public static final long PDPT_ADDRESS = 0xa000;
    /** First of {@link #PD_COUNT} page directories, one per GiB, contiguous. */
    public static final long PD_ADDRESS = 0xb000;
    /** Page directories for the identity map: 4 x 1 GiB = the first 4 GiB. */
    public static final int PD_COUNT = 4;
    /** Kernel command line, NUL-terminated. */
    public static final long CMDLINE_ADDRESS = 0x20000;
    /** x86 COMMAND_LINE_SIZE: bytes of command line including the terminating NUL. */
    public static final int CMDLINE_MAX_SIZE = 2048;

    // ---- legacy PC area ----

    /** Start of the extended BIOS data area: conventional RAM ends here. */
    public static final long EBDA_START = 0x9fc00;
    /** MP floating pointer (Linux scans the last KiB of conventional memory, 639 KiB). */
    public static final long MPTABLE_ADDRESS = EBDA_START;
    /** The MP table must end below this address (it stays inside the reserved ISA hole). */
    public static final long MPTABLE_LIMIT = 0x100000;
    /** End of the ISA hole and start of "high" memory. */
    public static final long HIGH_MEMORY_START = 0x100000;
    /** Where a bzImage's protected-mode part is loaded (classic 1 MiB). */
    public static final long KERNEL_LOAD_ADDRESS = 0x100000;

    // ---- 32-bit MMIO hole ----

    /** RAM below 4 GiB ends here at the latest; the hole holds device windows. */
    public static final long MMIO_HOLE_START = 0xC000_0000L;
    /** RAM resumes here when the VM has more than {@link #MMIO_HOLE_START} bytes of RAM. */
    public static final long MMIO_HOLE_END = 0x1_0000_0000L;
    /** Start of the virtio-mmio device windows. */
    public static final long VIRTIO_MMIO_BASE = 0xD000_0000L;
    /** Size of one virtio-mmio device window. */
    public static final long VIRTIO_MMIO_SIZE = 0x1000;
    /** First IRQ (GSI / IOAPIC pin) given to virtio-mmio devices. */
    public static final int VIRTIO_IRQ_BASE = 5;
    /** IOAPIC input pins (KVM's in-kernel IOAPIC has 24). */
    public static final int IOAPIC_PINS = 24;
    /** virtio-mmio devices that get their own IRQ: pins 5..23. */
    public static final int MAX_VIRTIO_DEVICES = IOAPIC_PINS - VIRTIO_IRQ_BASE;
    /** Default IOAPIC MMIO base. */
    public static final long IOAPIC_ADDRESS = 0xFEC0_0000L;
    /** Default local APIC MMIO base. */
    public static final long LAPIC_ADDRESS = 0xFEE0_0000L;
    /** KVM_SET_TSS_ADDR: three pages KVM needs for its real-mode TSS (Intel), inside the MMIO hole. */
    public static final long KVM_TSS_ADDRESS = 0xFFFB_D000L;
    /** KVM_SET_IDENTITY_MAP_ADDR: one page for KVM's identity-map page table (Intel), below the TSS. */
    public static final long KVM_IDENTITY_MAP_ADDRESS = 0xFFFB_C000L;

    // ---- read-only images (virtio-pmem) ----

    /**
     * Alignment of each virtio-pmem image's guest-physical start and length. Linux maps a pmem range
     * with struct pages ({@code devm_memremap_pages}, needed for DAX), which on x86-64 works in
     * sub-sections of 2 MiB: {@code memremap_compat_align()} is SUBSECTION_SIZE, and
     * {@code nvdimm_namespace_common_probe} refuses a range whose start or end is not aligned to it
     * ("misaligned, unable to map"). ZONE_DEVICE requires SPARSEMEM_VMEMMAP, which allows sub-section
     * hotplug, so the 128 MiB section alignment older kernels needed is not (Linux 6.1).
     */
    public static final long PMEM_ALIGNMENT = 2 * MiB;

    /**
     * Where the first virtio-pmem image of a VM with {@code ramSize} bytes of RAM starts: above all
     * RAM and above the 32-bit MMIO hole (every device window), {@link #PMEM_ALIGNMENT} aligned. The
     * images follow one another from there; none is in the e820 map, so the guest never takes them
     * for RAM.
     */
    public static long pmemBase(long ramSize) {
        List<RamRegion> ram = ramRegions(ramSize);
        return alignUp(Math.max(MMIO_HOLE_END, ram.get(ram.size() - 1).end()), PMEM_ALIGNMENT);
    }

    // ---- I/O ports ----

    /** COM1 base port; 8 registers. */
    public static final int SERIAL_PORT = 0x3f8;
    public static final int SERIAL_PORT_COUNT = 8;
    public static final int SERIAL_IRQ = 4;
    /**
     * i8042 data port. (0x61, between the two, is the PC's speaker and PIT gate port, not the i8042's; like the PIT's
     * 0x40-0x43 it reaches no device: an Arrow VM has no PIT.)
     */
    public static final int I8042_DATA_PORT = 0x60;
    /** i8042 command (write) / status (read) port. */
    public static final int I8042_COMMAND_PORT = 0x64;
    /** PS/2 keyboard IRQ. */
    public static final int I8042_KEYBOARD_IRQ = 1;
    /**
     * Arrow status channel: init writes its {@code arrow-status ...} lines here, 4 bytes per {@code outl} to this port
     * and the last 0..3 bytes of a line one per {@code outb}.
     */
    public static final int STATUS_PORT = 0xf4;
    /**
     * Ports of the status channel from {@link #STATUS_PORT} (0xf4..0xf7): a 4-byte access at 0xf4 covers them all, and
     * the port bus dispatches only accesses that lie wholly inside one device's range.
     */
    public static final int STATUS_PORT_COUNT = 4;

    // ---- limits ----

    /** vCPUs: APIC ids 0..253 fit the 8-bit MP table/CPUID fields; 254 is the IOAPIC's id. */
    public static final int MAX_VCPUS = 254;
    /** Smallest guest RAM this layout accepts: the boot structures plus a little kernel room. */
    public static final long MIN_RAM_SIZE = 16 * MiB;

    /** A contiguous piece of guest RAM: one KVM memory slot. */
    public record RamRegion(long start, long size) {
        public long end() {
            return start + size;
        }
    }

    /**
     * The RAM regions for a VM with {@code ramSize} bytes: {@code [0, min(ramSize, 3 GiB))} and,
     * for bigger VMs, the rest from 4 GiB upwards.
     *
     * @throws IllegalArgumentException if {@code ramSize} is below {@link #MIN_RAM_SIZE} or not
     *     a multiple of the page size
     */
    public static List<RamRegion> ramRegions(long ramSize) {
        checkRamSize(ramSize);
        List<RamRegion> regions = new ArrayList<>(2);
        long low = Math.min(ramSize, MMIO_HOLE_START);
        regions.add(new RamRegion(0, low));
        if (ramSize > low) {
            long high = ramSize - low;
            if (high > Long.MAX_VALUE - MMIO_HOLE_END) {
                throw new IllegalArgumentException("guest RAM size " + ramSize + " is too large");
            }
            regions.add(new RamRegion(MMIO_HOLE_END, high));
        }
        return List.copyOf(regions);
    }

    /** Where RAM below 4 GiB ends for a VM with {@code ramSize} bytes. */
    public static long lowRamEnd(long ramSize) {
        checkRamSize(ramSize);
        return Math.min(ramSize, MMIO_HOLE_START);
    }

    /** Guest physical address of virtio-mmio device {@code index} (0-based). */
    public static long virtioMmioAddress(int index) {
        checkVirtioIndex(index);
        return VIRTIO_MMIO_BASE + index * VIRTIO_MMIO_SIZE;
    }

    /** IRQ (GSI and IOAPIC pin) of virtio-mmio device {@code index} (0-based). */
    public static int virtioIrq(int index) {
        checkVirtioIndex(index);
        return VIRTIO_IRQ_BASE + index;
    }

    /**
     * Where to put an initrd: as high as possible in low RAM, page aligned, wholly at or below
     * {@code initrdAddrMax} (the kernel's highest legal initrd byte, setup header field
     * initrd_addr_max) and above the kernel ({@code kernelEnd}, exclusive).
     *
     * @throws BootSetupException if the initrd does not fit between the kernel and that limit
     */
    public static long initrdAddress(long ramSize, long initrdSize, long initrdAddrMax, long kernelEnd) {
        if (initrdSize <= 0) {
            throw new IllegalArgumentException("initrd size must be positive, got " + initrdSize);
        }
        if (initrdAddrMax <= 0 || kernelEnd < 0) {
            throw new IllegalArgumentException(
                    "bad limits: initrd_addr_max 0x" + Long.toHexString(initrdAddrMax)
                            + ", kernel end 0x" + Long.toHexString(kernelEnd));
        }
        long top = Math.min(lowRamEnd(ramSize), initrdAddrMax + 1);
        long lowest = alignUp(Math.max(kernelEnd, HIGH_MEMORY_START), PAGE_SIZE);
        long address = alignDown(top - initrdSize, PAGE_SIZE);
        if (initrdSize > top || address < lowest) {
            throw new BootSetupException(String.format(
                    "initrd of %d bytes does not fit in guest RAM between the kernel (ends at 0x%x) "
                            + "and 0x%x: give the VM more memory or use a smaller initramfs",
                    initrdSize, kernelEnd, top));
        }
        return address;
    }

    public static long alignUp(long value, long alignment) {
        long mask = alignment - 1;
        if (value > Long.MAX_VALUE - mask) {
            throw new IllegalArgumentException("alignment overflow: 0x" + Long.toHexString(value));
        }
        return (value + mask) & ~mask;
    }

    public static long alignDown(long value, long alignment) {
        return value & ~(alignment - 1);
    }

    private static void checkRamSize(long ramSize) {
        if (ramSize < MIN_RAM_SIZE || ramSize % PAGE_SIZE != 0) {
            throw new IllegalArgumentException(
                    "guest RAM size must be a multiple of 4 KiB and at least "
                            + MIN_RAM_SIZE / MiB + " MiB, got " + ramSize);
        }
    }

    private static void checkVirtioIndex(int index) {
        if (index < 0 || index >= MAX_VIRTIO_DEVICES) {
            throw new IllegalArgumentException(
                    "virtio-mmio device index " + index + " out of range 0.." + (MAX_VIRTIO_DEVICES - 1));
        }
    }
}
