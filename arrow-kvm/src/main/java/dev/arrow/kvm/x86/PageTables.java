package dev.arrow.kvm.x86;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;

/**
 * The boot page tables: an identity map of the first 4 GiB with 2 MiB pages (one PML4 entry,
 * four PDPT entries, four page directories of 512 entries). 1 GiB pages are deliberately not
 * used: some hosts (PVM) fault on them even when the CPU advertises pdpe1gb. This covers the
 * kernel, the zero page, the command line and the initrd, all of which sit below 3 GiB; Linux
 * builds its own tables right after entry.
 */
public final class PageTables {

    private PageTables() {}

    /** Bytes identity-mapped from address 0. */
    public static final long MAPPED_BYTES = Layout.PD_COUNT * Layout.GiB;
    public static final long PAGE_PRESENT = 1L;
    public static final long PAGE_WRITABLE = 1L << 1;
    /** PS bit in a page-directory entry: the entry maps a 2 MiB page. */
    public static final long PAGE_SIZE_2M = 1L << 7;
    public static final long LARGE_PAGE_SIZE = 2 * Layout.MiB;
    public static final int ENTRIES_PER_TABLE = 512;

    /**
     * Writes PML4, PDPT and page directories at their {@link Layout} addresses (all other
     * entries of those pages zeroed) and returns the CR3 value.
     */
    public static long write(GuestMemory memory) {
        memory.fill(GuestAddress.of(Layout.PML4_ADDRESS), Layout.PAGE_SIZE, (byte) 0);
        memory.fill(GuestAddress.of(Layout.PDPT_ADDRESS), Layout.PAGE_SIZE, (byte) 0);
        memory.writeLong(GuestAddress.of(Layout.PML4_ADDRESS), Layout.PDPT_ADDRESS | PAGE_PRESENT | PAGE_WRITABLE);
        byte[] directory = new byte[(int) Layout.PAGE_SIZE];
        for (int pd = 0; pd < Layout.PD_COUNT; pd++) {
            long pdAddress = Layout.PD_ADDRESS + pd * Layout.PAGE_SIZE;
            memory.writeLong(GuestAddress.of(Layout.PDPT_ADDRESS + 8L * pd), pdAddress | PAGE_PRESENT | PAGE_WRITABLE);
            for (int i = 0; i < ENTRIES_PER_TABLE; i++) {
                long physical = (pd * (long) ENTRIES_PER_TABLE + i) * LARGE_PAGE_SIZE;
                putLong(directory, 8 * i, physical | PAGE_PRESENT | PAGE_WRITABLE | PAGE_SIZE_2M);
            }
            memory.write(GuestAddress.of(pdAddress), directory);
        }
        return Layout.PML4_ADDRESS;
    }

    private static void putLong(byte[] b, int offset, long value) {
        for (int i = 0; i < 8; i++) {
            b[offset + i] = (byte) (value >>> (8 * i));
        }
    }
}
