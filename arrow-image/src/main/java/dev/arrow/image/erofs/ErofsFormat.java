package dev.arrow.image.erofs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * Where the bytes of EROFS's on-disk structures are (Linux {@code fs/erofs/erofs_fs.h}), for the subset
 * {@link ErofsWriter} writes: 4 KiB blocks, a superblock with a checksum, 64-byte (extended) inodes, uncompressed
 * FLAT_PLAIN data and directory blocks. All fields are little-endian.
 */
final class ErofsFormat {
    static final int BLOCK_SIZE_BITS = 12;
    static final int BLOCK_SIZE = 1 << BLOCK_SIZE_BITS;
    /** The superblock's offset in block 0 (the bytes before it are left to boot sectors). */
    static final int SUPERBLOCK_OFFSET = 1024;
    static final int MAGIC = 0xE0F5E1E2;
    /** The superblock carries a checksum; inodes carry their own mtime. */
    static final int FEATURE_COMPAT = 0x1 | 0x2;
    /** A nid counts 32-byte slots from the start of the metadata area. */
    static final int INODE_SLOT_BITS = 5;
    static final int INODE_SIZE = 64;
    static final int DIRENT_SIZE = 12;
    /** The largest block address the 32-bit fields hold. */
    static final long MAX_BLOCKS = 0xFFFF_FFFFL;

    static final int FILE_TYPE_REGULAR = 1;
    static final int FILE_TYPE_DIRECTORY = 2;
    static final int S_IFREG = 0100000;
    static final int S_IFDIR = 0040000;

    /** i_format: bit 0 the extended (64-byte) inode, bits 1-3 the data layout, 0 = FLAT_PLAIN (no tail packing). */
    private static final short EXTENDED_FLAT_PLAIN = 1;

    private ErofsFormat() {
    }

    /** The superblock's fields that vary; every other field is zero (no xattrs, compression or extra devices). */
    record Superblock(long rootNid, long inodes, long blocks, long metaBlockAddress, UUID uuid) {
    }

    /** Block 0: zeros, and the superblock at {@link #SUPERBLOCK_OFFSET} with its CRC32C. */
    static ByteBuffer blockZero(Superblock sb) {
        ByteBuffer block = ByteBuffer.allocate(BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        int o = SUPERBLOCK_OFFSET;
        block.putInt(o, MAGIC);
        // o + 4: the checksum, zero while it is computed
        block.putInt(o + 8, FEATURE_COMPAT);
        block.put(o + 12, (byte) BLOCK_SIZE_BITS);
        block.put(o + 13, (byte) 0); // sb_extslots: the superblock is 128 bytes
        block.putShort(o + 14, (short) sb.rootNid());
        block.putLong(o + 16, sb.inodes());
        block.putLong(o + 24, 0); // build_time (what compact inodes would use): fixed, for determinism
        block.putInt(o + 32, 0); // build_time_nsec
        block.putInt(o + 36, (int) sb.blocks());
        block.putInt(o + 40, (int) sb.metaBlockAddress());
        block.putInt(o + 44, 0); // xattr_blkaddr: no shared xattrs
        block.put(o + 48, ByteBuffer.allocate(16) // uuid[16]: the UUID's bytes in their written order
                .putLong(sb.uuid().getMostSignificantBits()).putLong(sb.uuid().getLeastSignificantBits()).array());
        // o + 64: volume_name[16]; o + 80: feature_incompat; then compression, devices, dirblkbits, packed_nid: all 0
        block.putInt(o + 4, superblockChecksum(block));
        return block;
    }

    /**
     * Linux's {@code crc32c(~0, sb, blocksize - 1024)} over the superblock's block from the superblock on, checksum
     * field zero: the CRC-32C register without the final inversion that {@link CRC32C} applies.
     */
    static int superblockChecksum(ByteBuffer blockZero) {
        CRC32C crc = new CRC32C();
        ByteBuffer covered = blockZero.duplicate().position(SUPERBLOCK_OFFSET).limit(BLOCK_SIZE);
        byte[] bytes = new byte[covered.remaining()];
        covered.get(bytes);
        bytes[4] = bytes[5] = bytes[6] = bytes[7] = 0;
        crc.update(bytes);
        return ~(int) crc.getValue();
    }

    /** A 64-byte extended FLAT_PLAIN inode at {@code at}: uid and gid 0, mtime 0, no xattrs. */
    static void inode(ByteBuffer buffer, int at, int typeAndMode, long size, long blockAddress, int ino, int links) {
        buffer.putShort(at, EXTENDED_FLAT_PLAIN);
        buffer.putShort(at + 2, (short) 0); // i_xattr_icount
        buffer.putShort(at + 4, (short) typeAndMode);
        buffer.putLong(at + 8, size);
        buffer.putInt(at + 16, (int) blockAddress); // i_u.raw_blkaddr
        buffer.putInt(at + 20, ino); // i_ino, only for 32-bit stat
        buffer.putInt(at + 24, 0); // i_uid
        buffer.putInt(at + 28, 0); // i_gid
        buffer.putLong(at + 32, 0); // i_mtime: fixed, for determinism
        buffer.putInt(at + 40, 0); // i_mtime_nsec
        buffer.putInt(at + 44, links);
    }

    /** A 12-byte directory entry at {@code at}; its name is at {@code nameOffset} in the same block. */
    static void dirent(ByteBuffer buffer, int at, long nid, int nameOffset, int fileType) {
        buffer.putLong(at, nid);
        buffer.putShort(at + 8, (short) nameOffset);
        buffer.put(at + 10, (byte) fileType);
        buffer.put(at + 11, (byte) 0);
    }
}
