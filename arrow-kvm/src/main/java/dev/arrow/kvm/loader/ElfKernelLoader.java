package dev.arrow.kvm.loader;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Loads an uncompressed ELF64 x86-64 {@code vmlinux}: its PT_LOAD segments at their physical
 * addresses (bss zeroed), entered at e_entry. The ELF header and every program header are checked
 * first; segments must lie in guest RAM above the 1 MiB boot area and must not overlap.
 */
public final class ElfKernelLoader implements KernelLoader {

    // ELF64 (System V gABI, x86-64 psABI)
    static final int ELF_MAGIC = 0x464c457f; // "\x7fELF", little-endian
    static final int ELF_HEADER_SIZE = 64;
    static final int ELF_PHDR_SIZE = 56;
    static final int ELFCLASS32 = 1;
    static final int ELFCLASS64 = 2;
    static final int ELFDATA2LSB = 1;
    static final int EV_CURRENT = 1;
    static final int ET_EXEC = 2;
    static final int EM_X86_64 = 62;
    static final int PT_LOAD = 1;
    static final int PF_W = 2;
    static final int PN_XNUM = 0xffff;

    /** One PT_LOAD program header. */
    private record LoadSegment(int index, int flags, long fileOffset, long fileSize, long address, long memSize,
            long vaddr) {
        long end() {
            return address + memSize;
        }
    }

    @Override
    public boolean recognises(ByteBuffer head) {
        return head.limit() >= 4 && head.getInt(0) == ELF_MAGIC;
    }

    @Override
    public LoadedKernel load(KernelImage image, ByteBuffer head, GuestMemory memory) throws IOException {
        long size = image.size();
        if (size < ELF_HEADER_SIZE) {
            throw image.fail("truncated ELF header (needs %d bytes, file has %d)", ELF_HEADER_SIZE, size);
        }
        int elfClass = head.get(4);
        if (elfClass == ELFCLASS32) {
            throw image.fail("32-bit ELF (ELFCLASS32): a 64-bit x86-64 vmlinux is needed");
        }
        if (elfClass != ELFCLASS64) {
            throw image.fail("unknown ELF class %d (expected 2, ELFCLASS64)", elfClass);
        }
        if (head.get(5) != ELFDATA2LSB) {
            throw image.fail("ELF data encoding %d is not little-endian (ELFDATA2LSB): not an x86-64 kernel", head.get(5));
        }
        if (head.get(6) != EV_CURRENT) {
            throw image.fail("unknown ELF version %d", head.get(6));
        }
        int type = Short.toUnsignedInt(head.getShort(16));
        if (type != ET_EXEC) {
            throw image.fail("ELF type %d is not an executable (ET_EXEC = 2): not a vmlinux", type);
        }
        int machine = Short.toUnsignedInt(head.getShort(18));
        if (machine != EM_X86_64) {
            throw image.fail("ELF machine %d is not x86-64 (EM_X86_64 = 62)", machine);
        }
        long entry = head.getLong(24);
        long phoff = head.getLong(32);
        int phentsize = Short.toUnsignedInt(head.getShort(54));
        int phnum = Short.toUnsignedInt(head.getShort(56));
        if (phnum == 0) {
            throw image.fail("ELF file has no program headers");
        }
        if (phnum == PN_XNUM) {
            throw image.fail("ELF file has %d or more program headers (PN_XNUM), not supported", PN_XNUM);
        }
        if (phentsize != ELF_PHDR_SIZE) {
            throw image.fail("ELF program header entry size is %d, expected %d", phentsize, ELF_PHDR_SIZE);
        }
        long tableSize = (long) phnum * phentsize;
        if (phoff < 0 || phoff > size || tableSize > size - phoff) {
            throw image.fail("truncated ELF program header table (needs %s bytes, file has %d)",
                    Long.toUnsignedString(phoff + tableSize), size);
        }
        ByteBuffer table = image.read(phoff, (int) tableSize);

        List<LoadSegment> segments = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int at = i * phentsize;
            if (table.getInt(at) != PT_LOAD) {
                continue;
            }
            LoadSegment s = new LoadSegment(i, table.getInt(at + 4), table.getLong(at + 8), table.getLong(at + 32),
                    table.getLong(at + 24), table.getLong(at + 40), table.getLong(at + 16));
            check(s, image, memory);
            if (s.memSize() > 0) {
                segments.add(s);
            }
        }
        if (segments.isEmpty()) {
            throw image.fail("ELF file has no loadable (PT_LOAD) segment");
        }
        segments.sort(Comparator.comparingLong(LoadSegment::address));
        for (int i = 1; i < segments.size(); i++) {
            LoadSegment a = segments.get(i - 1);
            LoadSegment b = segments.get(i);
            if (b.address() < a.end()) {
                throw image.fail("segments %d [0x%x, 0x%x) and %d [0x%x, 0x%x) overlap",
                        a.index(), a.address(), a.end(), b.index(), b.address(), b.end());
            }
        }
        long physicalEntry = physicalEntry(entry, segments, image);

        for (LoadSegment s : segments) {
            image.copyTo(memory, s.address(), s.fileOffset(), s.fileSize());
            if (s.memSize() > s.fileSize()) {
                memory.fill(GuestAddress.of(s.address() + s.fileSize()), s.memSize() - s.fileSize(), (byte) 0);
            }
        }
        LoadSegment lowest = segments.get(0);
        long start = lowest.address();
        long end = segments.stream().mapToLong(LoadSegment::end).max().orElseThrow();
        long readOnlyEnd = (lowest.flags() & PF_W) == 0 ? lowest.end() : start;
        List<MemoryRegion> writable = segments.stream()
                .filter(s -> (s.flags() & PF_W) != 0 && s.address() >= readOnlyEnd)
                .map(s -> MemoryRegion.of(s.address(), s.memSize())).toList();
        return new LoadedKernel(LoadedKernel.Kind.ELF_VMLINUX, physicalEntry, start, end, new byte[0], readOnlyEnd,
                writable);
    }

    private static void check(LoadSegment s, KernelImage image, GuestMemory memory) {
        int i = s.index();
        long size = image.size();
        if (s.fileOffset() < 0 || s.fileSize() < 0 || s.fileOffset() > size || s.fileSize() > size - s.fileOffset()) {
            throw image.fail("segment %d: file bytes [0x%s, 0x%s) run past the end of the file (%d bytes)", i,
                    Long.toHexString(s.fileOffset()), Long.toHexString(s.fileOffset() + s.fileSize()), size);
        }
        if (Long.compareUnsigned(s.memSize(), s.fileSize()) < 0) {
            throw image.fail("segment %d: p_memsz %s is smaller than p_filesz %d", i,
                    Long.toUnsignedString(s.memSize()), s.fileSize());
        }
        if (s.memSize() == 0) {
            return;
        }
        if (s.address() < 0 || s.memSize() < 0 || s.address() + s.memSize() < s.address()) {
            throw image.fail("segment %d: [0x%s + 0x%s) wraps around the address space", i,
                    Long.toHexString(s.address()), Long.toHexString(s.memSize()));
        }
        if (s.address() < Layout.HIGH_MEMORY_START) {
            throw image.fail("segment %d at 0x%x lies in the boot area below 0x%x", i, s.address(), Layout.HIGH_MEMORY_START);
        }
        if (!memory.isValid(GuestAddress.of(s.address()), s.memSize())) {
            throw image.fail("segment %d [0x%x, 0x%x) is outside guest RAM (%d bytes): give the VM more memory",
                    i, s.address(), s.end(), memory.size());
        }
    }

    /** e_entry is physical for vmlinux; accept a virtual entry inside a segment and translate it. */
    private static long physicalEntry(long entry, List<LoadSegment> segments, KernelImage image) {
        for (LoadSegment s : segments) {
            if (entry >= s.address() && entry < s.end()) {
                return entry;
            }
        }
        for (LoadSegment s : segments) {
            if (Long.compareUnsigned(entry, s.vaddr()) >= 0 && Long.compareUnsigned(entry - s.vaddr(), s.memSize()) < 0) {
                return s.address() + (entry - s.vaddr());
            }
        }
        throw image.fail("entry point 0x%s is outside every loadable segment", Long.toHexString(entry));
    }
}
