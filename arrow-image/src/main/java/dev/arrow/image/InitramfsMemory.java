package dev.arrow.image;

import dev.arrow.config.LinuxLimits;
import dev.arrow.image.cpio.Initramfs;

/**
 * How much guest RAM an initramfs needs to arrive whole in an Arrow guest, computed before boot from
 * sizes alone.
 *
 * <p>The rule follows what the guest kernel does with it:
 * <ol>
 *   <li>The kernel keeps its own image, its page structures (64 bytes per 4 KiB page of RAM) and its
 *       early allocations: {@value #KERNEL_RESERVED_MIB} MiB plus 1/64 of RAM, measured for Arrow's
 *       guest kernel (see {@code InitramfsMemoryBootTest}).</li>
 *   <li>The archive stays reserved in RAM while it is unpacked, and the root file system, a tmpfs, is
 *       sized at that moment: half of the RAM left, as for every tmpfs.</li>
 *   <li>The unpacked files must fit in that tmpfs, counted in whole 4 KiB pages (links with targets of
 *       more than 127 bytes too), with a margin of {@value #MARGIN_MIB} MiB that leaves the app room to
 *       write to {@code /}. Afterwards the kernel frees the archive, so a file costs one copy in RAM
 *       while the app runs.</li>
 * </ol>
 * So the RAM needed is about kernel + archive + twice the unpacked files. Init checks every file
 * against the image's manifest before the app runs, so an estimate that is wrong for some kernel ends
 * the arrow with an "image incomplete" outcome, never with the app running on partial files.
 */
public record InitramfsMemory(long archiveBytes, long unpackedBytes, long requiredRamBytes) {
    /** The guest kernel's fixed share of RAM: image, early allocations, reserved areas. */
    public static final long KERNEL_RESERVED_MIB = 16;
    /** Room left in the root file system beyond the files given. */
    public static final long MARGIN_MIB = 2;
    /** Suggested memory sizes are rounded up to this many MiB. */
    public static final long SUGGESTION_STEP_MIB = 16;

    private static final long MiB = 1 << 20;
    /** Longest link target tmpfs keeps inside the inode (SHORT_SYMLINK_LEN 128, with the NUL). */
    private static final int INLINE_LINK_BYTES = 127;

    /** The needs of {@code initramfs}. */
    public static InitramfsMemory of(Initramfs initramfs) {
        long archive = initramfs.size();
        long unpacked = initramfs.unpackedPageBytes(INLINE_LINK_BYTES);
        return new InitramfsMemory(archive, unpacked, requiredRam(archive, unpacked));
    }

    /**
     * The least RAM R with {@code (R - kernelReserved(R) - archive) / 2 >= unpacked + margin}, in whole
     * pages.
     */
    static long requiredRam(long archiveBytes, long unpackedBytes) {
        long archivePages = pages(archiveBytes) * LinuxLimits.PAGE_SIZE;
        long fixed = KERNEL_RESERVED_MIB * MiB + archivePages + 2 * (unpackedBytes + MARGIN_MIB * MiB);
        long ram = ceilDiv(fixed * 64, 63); // R - R/64 >= fixed
        return pages(ram) * LinuxLimits.PAGE_SIZE;
    }

    /** Bytes the guest kernel keeps for itself in a guest of {@code ramBytes}. */
    static long kernelReserved(long ramBytes) {
        return KERNEL_RESERVED_MIB * MiB + ramBytes / 64;
    }

    /** The size of the guest's root file system (the tmpfs the files are unpacked into) for {@code ramBytes}. */
    public long rootFileSystemBytes(long ramBytes) {
        long left = ramBytes - kernelReserved(ramBytes) - pages(archiveBytes) * LinuxLimits.PAGE_SIZE;
        return Math.max(0, left / 2 / LinuxLimits.PAGE_SIZE * LinuxLimits.PAGE_SIZE);
    }

    /** Whether the files arrive whole in a guest with {@code ramBytes} of RAM. */
    public boolean fits(long ramBytes) {
        return ramBytes >= requiredRamBytes;
    }

    /** The smallest memory size in whole {@value #SUGGESTION_STEP_MIB} MiB steps, at least {@code floorBytes}, that fits. */
    public long suggestedRamBytes(long floorBytes) {
        long step = SUGGESTION_STEP_MIB * MiB;
        return Math.max(floorBytes, ceilDiv(requiredRamBytes, step) * step);
    }

    /**
     * What is missing in a guest of {@code ramBytes}, naming the fix: e.g. "guest RAM too small for the
     * files given: 212 MiB needed (...), 128 MiB given: ask for memory(224, MiB)".
     */
    public String shortfall(long ramBytes) {
        return "guest RAM too small for the files given: " + mib(requiredRamBytes) + " MiB needed ("
                + mib(unpackedBytes) + " MiB of files unpacked into the guest's root file system, which gets half of "
                + "the RAM left after the kernel (" + mib(kernelReserved(requiredRamBytes)) + " MiB) and the archive ("
                + mib(archiveBytes) + " MiB) while it unpacks), " + mib(ramBytes) + " MiB given: ask for memory("
                + suggestedRamBytes(0) / MiB + ", MiB)";
    }

    private static long mib(long bytes) {
        return ceilDiv(bytes, MiB);
    }

    private static long pages(long bytes) {
        return ceilDiv(bytes, LinuxLimits.PAGE_SIZE);
    }

    /** {@code a / b} rounded up, for {@code a >= 0, b > 0} (Math.ceilDiv needs Java 18). */
    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
