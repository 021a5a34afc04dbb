package dev.arrow.image.erofs;

import static dev.arrow.image.erofs.ErofsFormat.BLOCK_SIZE;
import static dev.arrow.image.erofs.ErofsFormat.DIRENT_SIZE;
import static dev.arrow.image.erofs.ErofsFormat.INODE_SIZE;
import static dev.arrow.image.erofs.ErofsFormat.INODE_SLOT_BITS;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * Where everything of an image of regular files in one root directory goes, decided from names, modes and sizes
 * alone: block 0 holds the superblock; the metadata area (from block 1) holds the root's inode (nid 0), then one
 * inode per file in name order; the root directory's blocks follow; then each file's data from a block boundary, in
 * name order. The image's length is padded to a multiple of {@link ErofsWriter#LENGTH_ALIGNMENT}.
 */
final class ErofsLayout {
    /** A file the layout places: its mode, size, inode number and first data block (0 when it has no data). */
    record Placed(int mode, long size, long nid, long blockAddress) {
        long dataOffset() {
            return blockAddress << ErofsFormat.BLOCK_SIZE_BITS;
        }
    }

    /** A file to place. */
    record Sized(String name, int mode, long size) {
    }

    static final long META_BLOCK = 1;
    /** The root's inode comes first, so its nid fits the superblock's 16-bit field. */
    static final long ROOT_NID = 0;
    private static final int ROOT_MODE = ErofsFormat.S_IFDIR | 0755;

    private final List<Placed> files;
    private final int inodeBlocks;
    private final List<ByteBuffer> directoryBlocks;
    private final long directorySize;
    private final long usedBlocks;

    private ErofsLayout(List<Placed> files, int inodeBlocks, List<ByteBuffer> directoryBlocks, long directorySize, long usedBlocks) {
        this.files = files;
        this.inodeBlocks = inodeBlocks;
        this.directoryBlocks = directoryBlocks;
        this.directorySize = directorySize;
        this.usedBlocks = usedBlocks;
    }

    /**
     * The layout of {@code sized} (any order).
     *
     * @throws ImageFileException if two files have one name, or the image would exceed EROFS's 2^32 blocks (16 TiB)
     */
    static ErofsLayout plan(List<Sized> sized) {
        List<Sized> sorted = new ArrayList<>(sized);
        sorted.sort((a, b) -> Arrays.compareUnsigned(ImageFile.nameBytes(a.name()), ImageFile.nameBytes(b.name())));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i - 1).name().equals(sorted.get(i).name())) throw ImageFileException.duplicateName(sorted.get(i).name());
        }
        long inodeBytes = (long) INODE_SIZE * (sorted.size() + 1);
        int inodeBlocks = Math.toIntExact(blocksFor(inodeBytes));
        List<byte[]> names = sorted.stream().map(s -> ImageFile.nameBytes(s.name())).toList();
        List<ByteBuffer> directory = directoryBlocks(names);
        long directoryBlock = META_BLOCK + inodeBlocks;
        long next = directoryBlock + directory.size();
        List<Placed> placed = new ArrayList<>(sorted.size());
        for (int i = 0; i < sorted.size(); i++) {
            Sized s = sorted.get(i);
            long nid = fileNid(i);
            long blocks = blocksFor(s.size());
            placed.add(new Placed(s.mode(), s.size(), nid, blocks == 0 ? 0 : next));
            next += blocks;
        }
        if (next > ErofsFormat.MAX_BLOCKS) {
            throw new ImageFileException("the image files need " + next + " blocks of 4 KiB, more than EROFS addresses (2^32 - 1):"
                    + " split them over several images");
        }
        ByteBuffer last = directory.get(directory.size() - 1);
        long directorySize = (long) (directory.size() - 1) * BLOCK_SIZE + last.limit();
        return new ErofsLayout(List.copyOf(placed), inodeBlocks, directory, directorySize, next);
    }

    /** The files in name order, where their data goes. */
    List<Placed> files() {
        return files;
    }

    /** The image's length: the used blocks padded to {@link ErofsWriter#LENGTH_ALIGNMENT} (never 0). */
    long paddedLength() {
        long used = usedBlocks << ErofsFormat.BLOCK_SIZE_BITS;
        long alignment = ErofsWriter.LENGTH_ALIGNMENT;
        return (used + alignment - 1) / alignment * alignment;
    }

    /** Block 0 with the superblock of an image of this layout with {@code uuid}. */
    ByteBuffer blockZero(UUID uuid) {
        return ErofsFormat.blockZero(new ErofsFormat.Superblock(ROOT_NID, files.size() + 1L, usedBlocks, META_BLOCK, uuid));
    }

    /** The offset of the metadata area, what {@link #metadata()} holds. */
    static long metadataOffset() {
        return META_BLOCK << ErofsFormat.BLOCK_SIZE_BITS;
    }

    /** The inode table and then the root directory's blocks, whole blocks, to be written at {@link #metadataOffset()}. */
    ByteBuffer metadata() {
        ByteBuffer meta = ByteBuffer.allocate((inodeBlocks + directoryBlocks.size()) * BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        long directoryBlock = META_BLOCK + inodeBlocks;
        // inode numbers (for 32-bit stat only): 1 for the root, then 2, 3, ... in name order
        ErofsFormat.inode(meta, 0, ROOT_MODE, directorySize, directoryBlock, 1, 2);
        for (int i = 0; i < files.size(); i++) {
            Placed f = files.get(i);
            ErofsFormat.inode(meta, Math.toIntExact(f.nid() << INODE_SLOT_BITS), ErofsFormat.S_IFREG | f.mode(), f.size(),
                    f.blockAddress(), i + 2, 1);
        }
        for (int i = 0; i < directoryBlocks.size(); i++) {
            ByteBuffer block = directoryBlocks.get(i);
            meta.put((inodeBlocks + i) * BLOCK_SIZE, block, 0, block.limit());
        }
        return meta;
    }

    /** The nid of the {@code index}th file in name order: the inodes follow the root's, 64 bytes each. */
    private static long fileNid(int index) {
        return (long) (index + 1) * (INODE_SIZE >> INODE_SLOT_BITS);
    }

    private static long blocksFor(long bytes) {
        return (bytes + BLOCK_SIZE - 1) / BLOCK_SIZE;
    }

    /** An entry of the root directory: {@code .}, {@code ..} or a file. */
    private record Dirent(byte[] name, long nid, int fileType) {
    }

    /**
     * The root directory's blocks, entries sorted by name bytes ({@code .} and {@code ..} among them, as the kernel's
     * binary search expects), each block starting with as many entries as fit, then their names (not
     * NUL-terminated). Each block's limit is its used length.
     */
    private static List<ByteBuffer> directoryBlocks(List<byte[]> names) {
        List<ByteBuffer> blocks = new ArrayList<>();
        for (List<Dirent> group : groups(dirents(names))) {
            ByteBuffer block = ByteBuffer.allocate(BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            int nameOffset = group.size() * DIRENT_SIZE;
            for (int i = 0; i < group.size(); i++) {
                Dirent d = group.get(i);
                ErofsFormat.dirent(block, i * DIRENT_SIZE, d.nid(), nameOffset, d.fileType());
                block.put(nameOffset, d.name());
                nameOffset += d.name().length;
            }
            block.limit(nameOffset);
            blocks.add(block);
        }
        return blocks;
    }

    private static List<Dirent> dirents(List<byte[]> names) {
        List<Dirent> all = new ArrayList<>(names.size() + 2);
        all.add(new Dirent(".".getBytes(StandardCharsets.US_ASCII), ROOT_NID, ErofsFormat.FILE_TYPE_DIRECTORY));
        all.add(new Dirent("..".getBytes(StandardCharsets.US_ASCII), ROOT_NID, ErofsFormat.FILE_TYPE_DIRECTORY));
        for (int i = 0; i < names.size(); i++) all.add(new Dirent(names.get(i), fileNid(i), ErofsFormat.FILE_TYPE_REGULAR));
        all.sort((a, b) -> Arrays.compareUnsigned(a.name(), b.name()));
        return all;
    }

    /** Splits sorted entries into blocks: each takes entries while their dirents and names fit in it. */
    private static List<List<Dirent>> groups(List<Dirent> sorted) {
        List<List<Dirent>> groups = new ArrayList<>();
        List<Dirent> current = new ArrayList<>();
        int used = 0;
        for (Dirent d : sorted) {
            int need = DIRENT_SIZE + d.name().length;
            if (used + need > BLOCK_SIZE) {
                groups.add(current);
                current = new ArrayList<>();
                used = 0;
            }
            current.add(d);
            used += need;
        }
        groups.add(current);
        return groups;
    }
}
