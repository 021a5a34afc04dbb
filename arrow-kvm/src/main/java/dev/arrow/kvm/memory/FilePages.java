package dev.arrow.kvm.memory;

/**
 * Reads pages of the file behind a copy-on-write range of guest RAM ({@link MmapGuestMemory#mapCopyOnWrite}), so
 * that a page the guest wrote can be compared with what it would read without that write.
 */
@FunctionalInterface
public interface FilePages {
    /**
     * Reads the 4 KiB page at {@code fileOffset} (page aligned) into {@code dst} (4096 bytes); bytes past the end of
     * the file read as zero.
     *
     * @return false when the file cannot be read any more (closed, or a read failed): then nothing is known of it
     */
    boolean readPage(long fileOffset, byte[] dst);
}
