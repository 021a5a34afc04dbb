package dev.arrow.kvm.loader;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.x86.BootParams;
import dev.arrow.kvm.x86.Layout;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Loads a Linux kernel into guest memory: an uncompressed ELF64 x86-64 {@code vmlinux} (PT_LOAD
 * segments at their physical addresses, entered at e_entry) or a {@code bzImage} (protected-mode
 * part at {@link Layout#KERNEL_LOAD_ADDRESS}, entered at its 64-bit entry, load address + 0x200).
 *
 * <p>The image is treated as untrusted input: the ELF header and every program header, or the
 * bzImage setup header, are checked in full before a single byte is copied, so a malformed image
 * leaves guest memory untouched. Segments must lie in guest RAM above the 1 MiB boot area and must
 * not overlap. Errors are {@link KernelLoadException}s whose message starts with
 * {@code "kernel image NAME: "}.
 */
public final class KernelLoader {

    private KernelLoader() {}

    // ELF64 (System V gABI, x86-64 psABI)
    static final int ELF_HEADER_SIZE = 64;
    static final int ELF_PHDR_SIZE = 56;
    static final int ELFCLASS32 = 1;
    static final int ELFCLASS64 = 2;
    static final int ELFDATA2LSB = 1;
    static final int EV_CURRENT = 1;
    static final int ET_EXEC = 2;
    static final int EM_X86_64 = 62;
    static final int PT_LOAD = 1;
    static final int PN_XNUM = 0xffff;

    /** Oldest boot protocol accepted for a bzImage (cmdline_size appeared in 2.06). */
    public static final int MIN_BOOT_PROTOCOL = 0x0206;
    /** The 64-bit entry point's offset from the protected-mode load address. */
    public static final long BZIMAGE_64BIT_ENTRY_OFFSET = 0x200;

    private static final int COPY_CHUNK = 1 << 20;
    private static final int PROBE_SIZE = 0x1000;

    /** Loads the kernel image file at {@code image}. */
    public static LoadedKernel load(Path image, GuestMemory memory) {
        String name = image.toString();
        FileChannel channel;
        try {
            if (Files.isDirectory(image)) {
                throw new KernelLoadException("kernel image " + name + ": is a directory, not a kernel image");
            }
            channel = FileChannel.open(image, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new KernelLoadException("kernel image " + name + ": file not found", e);
        } catch (AccessDeniedException e) {
            throw new KernelLoadException("kernel image " + name + ": permission denied", e);
        } catch (IOException e) {
            throw new KernelLoadException("kernel image " + name + ": cannot open: " + e, e);
        }
        try (channel) {
            return load(name, new ChannelSource(channel), memory);
        } catch (IOException e) {
            throw new KernelLoadException("kernel image " + name + ": cannot read: " + e, e);
        }
    }

    /** Loads a kernel image held in memory; {@code name} is used in error messages. */
    public static LoadedKernel load(String name, byte[] image, GuestMemory memory) {
        try {
            return load(name, new ArraySource(image), memory);
        } catch (IOException e) {
            throw new KernelLoadException("kernel image " + name + ": cannot read: " + e, e);
        }
    }

    private static LoadedKernel load(String name, Source src, GuestMemory memory) throws IOException {
        long size = src.size();
        byte[] probe = new byte[(int) Math.min(size, PROBE_SIZE)];
        src.read(0, ByteBuffer.wrap(probe));
        ByteBuffer p = ByteBuffer.wrap(probe).order(ByteOrder.LITTLE_ENDIAN);
        if (probe.length >= 4 && p.getInt(0) == 0x464c457f) { // "\x7fELF"
            return new Elf(name, src, size, memory).load();
        }
        if (probe.length >= BootParams.HEADER + 4 && p.getInt(BootParams.HEADER) == BootParams.HDR_MAGIC) {
            return new BzImage(name, src, size, probe, memory).load();
        }
        throw new KernelLoadException(String.format(
                "kernel image %s: not a kernel image (no ELF magic and no \"HdrS\" at 0x202; file has %d bytes): "
                        + "give an uncompressed vmlinux or a bzImage", name, size));
    }

    // ------------------------------------------------------------------------------------------

    private record Segment(int index, long fileOffset, long fileSize, long address, long memSize, long vaddr) {
        long end() {
            return address + memSize;
        }
    }

    private static final class Elf {
        private final String name;
        private final Source src;
        private final long size;
        private final GuestMemory memory;

        Elf(String name, Source src, long size, GuestMemory memory) {
            this.name = name;
            this.src = src;
            this.size = size;
            this.memory = memory;
        }

        LoadedKernel load() throws IOException {
            if (size < ELF_HEADER_SIZE) {
                throw fail("truncated ELF header (needs %d bytes, file has %d)", ELF_HEADER_SIZE, size);
            }
            ByteBuffer h = read(0, ELF_HEADER_SIZE);
            int elfClass = h.get(4);
            if (elfClass == ELFCLASS32) {
                throw fail("32-bit ELF (ELFCLASS32): a 64-bit x86-64 vmlinux is needed");
            }
            if (elfClass != ELFCLASS64) {
                throw fail("unknown ELF class %d (expected 2, ELFCLASS64)", elfClass);
            }
            if (h.get(5) != ELFDATA2LSB) {
                throw fail("ELF data encoding %d is not little-endian (ELFDATA2LSB): not an x86-64 kernel", h.get(5));
            }
            if (h.get(6) != EV_CURRENT) {
                throw fail("unknown ELF version %d", h.get(6));
            }
            int type = Short.toUnsignedInt(h.getShort(16));
            if (type != ET_EXEC) {
                throw fail("ELF type %d is not an executable (ET_EXEC = 2): not a vmlinux", type);
            }
            int machine = Short.toUnsignedInt(h.getShort(18));
            if (machine != EM_X86_64) {
                throw fail("ELF machine %d is not x86-64 (EM_X86_64 = 62)", machine);
            }
            long entry = h.getLong(24);
            long phoff = h.getLong(32);
            int phentsize = Short.toUnsignedInt(h.getShort(54));
            int phnum = Short.toUnsignedInt(h.getShort(56));
            if (phnum == 0) {
                throw fail("ELF file has no program headers");
            }
            if (phnum == PN_XNUM) {
                throw fail("ELF file has %d or more program headers (PN_XNUM), not supported", PN_XNUM);
            }
            if (phentsize != ELF_PHDR_SIZE) {
                throw fail("ELF program header entry size is %d, expected %d", phentsize, ELF_PHDR_SIZE);
            }
            long tableSize = (long) phnum * phentsize;
            if (phoff < 0 || phoff > size || tableSize > size - phoff) {
                throw fail("truncated ELF program header table (needs %s bytes, file has %d)",
                        Long.toUnsignedString(phoff + tableSize), size);
            }
            ByteBuffer table = read(phoff, (int) tableSize);

            List<Segment> segments = new ArrayList<>();
            for (int i = 0; i < phnum; i++) {
                int at = i * phentsize;
                if (table.getInt(at) != PT_LOAD) {
                    continue;
                }
                Segment s = new Segment(i, table.getLong(at + 8), table.getLong(at + 32),
                        table.getLong(at + 24), table.getLong(at + 40), table.getLong(at + 16));
                check(s);
                if (s.memSize() > 0) {
                    segments.add(s);
                }
            }
            if (segments.isEmpty()) {
                throw fail("ELF file has no loadable (PT_LOAD) segment");
            }
            segments.sort(Comparator.comparingLong(Segment::address));
            for (int i = 1; i < segments.size(); i++) {
                Segment a = segments.get(i - 1);
                Segment b = segments.get(i);
                if (b.address() < a.end()) {
                    throw fail("segments %d [0x%x, 0x%x) and %d [0x%x, 0x%x) overlap",
                            a.index(), a.address(), a.end(), b.index(), b.address(), b.end());
                }
            }
            long physicalEntry = physicalEntry(entry, segments);

            for (Segment s : segments) {
                copy(src, s.fileOffset(), s.fileSize(), s.address(), memory);
                if (s.memSize() > s.fileSize()) {
                    memory.fill(GuestAddress.of(s.address() + s.fileSize()), s.memSize() - s.fileSize(), (byte) 0);
                }
            }
            long start = segments.get(0).address();
            long end = segments.stream().mapToLong(Segment::end).max().orElseThrow();
            return new LoadedKernel(LoadedKernel.Kind.ELF_VMLINUX, physicalEntry, start, end, new byte[0]);
        }

        private void check(Segment s) {
            int i = s.index();
            if (s.fileOffset() < 0 || s.fileSize() < 0 || s.fileOffset() > size || s.fileSize() > size - s.fileOffset()) {
                throw fail("segment %d: file bytes [0x%s, 0x%s) run past the end of the file (%d bytes)", i,
                        Long.toHexString(s.fileOffset()), Long.toHexString(s.fileOffset() + s.fileSize()), size);
            }
            if (Long.compareUnsigned(s.memSize(), s.fileSize()) < 0) {
                throw fail("segment %d: p_memsz %s is smaller than p_filesz %d", i,
                        Long.toUnsignedString(s.memSize()), s.fileSize());
            }
            if (s.memSize() == 0) {
                return;
            }
            if (s.address() < 0 || s.memSize() < 0 || s.address() + s.memSize() < s.address()) {
                throw fail("segment %d: [0x%s + 0x%s) wraps around the address space", i,
                        Long.toHexString(s.address()), Long.toHexString(s.memSize()));
            }
            if (s.address() < Layout.HIGH_MEMORY_START) {
                throw fail("segment %d at 0x%x lies in the boot area below 0x%x", i, s.address(), Layout.HIGH_MEMORY_START);
            }
            if (!memory.isValid(GuestAddress.of(s.address()), s.memSize())) {
                throw fail("segment %d [0x%x, 0x%x) is outside guest RAM (%d bytes): give the VM more memory",
                        i, s.address(), s.end(), memory.size());
            }
        }

        /** e_entry is physical for vmlinux; accept a virtual entry inside a segment and translate it. */
        private long physicalEntry(long entry, List<Segment> segments) {
            for (Segment s : segments) {
                if (entry >= s.address() && entry < s.end()) {
                    return entry;
                }
            }
            for (Segment s : segments) {
                if (Long.compareUnsigned(entry, s.vaddr()) >= 0 && Long.compareUnsigned(entry - s.vaddr(), s.memSize()) < 0) {
                    return s.address() + (entry - s.vaddr());
                }
            }
            throw fail("entry point 0x%s is outside every loadable segment", Long.toHexString(entry));
        }

        private ByteBuffer read(long position, int length) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
            readFully(src, position, b, name);
            return b.flip();
        }

        private KernelLoadException fail(String format, Object... args) {
            return new KernelLoadException("kernel image " + name + ": " + String.format(format, args));
        }
    }

    // ------------------------------------------------------------------------------------------

    private static final class BzImage {
        private final String name;
        private final Source src;
        private final long size;
        private final ByteBuffer h;
        private final GuestMemory memory;

        BzImage(String name, Source src, long size, byte[] probe, GuestMemory memory) {
            this.name = name;
            this.src = src;
            this.size = size;
            this.h = ByteBuffer.wrap(probe).order(ByteOrder.LITTLE_ENDIAN);
            this.memory = memory;
        }

        LoadedKernel load() throws IOException {
            int headerEnd = 0x202 + Byte.toUnsignedInt(byteAt(0x201));
            need(BootParams.VERSION + 2, "the boot protocol version");
            int version = u16(BootParams.VERSION);
            if (version < MIN_BOOT_PROTOCOL) {
                throw fail("boot protocol %s is too old: %s or newer is needed", protocol(version), protocol(MIN_BOOT_PROTOCOL));
            }
            // Fields up to xloadflags/cmdline_size must be present (2.12+ for the 64-bit entry).
            int needed = version >= 0x020a ? BootParams.INIT_SIZE + 4 : BootParams.CMDLINE_SIZE + 4;
            if (headerEnd < needed) {
                throw fail("setup header ends at 0x%x but protocol %s needs fields up to 0x%x", headerEnd, protocol(version), needed);
            }
            need(headerEnd, "the setup header");
            if (u16(BootParams.BOOT_FLAG) != BootParams.BOOT_FLAG_MAGIC) {
                throw fail("boot flag at 0x1fe is 0x%04x, expected 0xaa55", u16(BootParams.BOOT_FLAG));
            }
            if ((byteAt(BootParams.LOADFLAGS) & BootParams.LOADED_HIGH) == 0) {
                throw fail("loadflags lack LOADED_HIGH: a zImage that loads low, not a bzImage");
            }
            if (version < 0x020c || (u16(BootParams.XLOADFLAGS) & BootParams.XLF_KERNEL_64) == 0) {
                throw fail("kernel has no 64-bit entry point (xloadflags XLF_KERNEL_64 is clear, protocol %s)", protocol(version));
            }
            int setupSects = Byte.toUnsignedInt(byteAt(BootParams.SETUP_SECTS));
            if (setupSects == 0) {
                setupSects = 4;
            }
            long setupSize = (setupSects + 1L) * 512;
            if (size <= setupSize) {
                throw fail("truncated bzImage: the real-mode setup takes %d bytes, file has %d, no protected-mode kernel follows",
                        setupSize, size);
            }
            long kernelSize = size - setupSize;
            long load = Layout.KERNEL_LOAD_ADDRESS;
            if (!memory.isValid(GuestAddress.of(load), kernelSize)) {
                throw fail("protected-mode kernel of %d bytes at 0x%x does not fit in guest RAM (%d bytes): give the VM more memory",
                        kernelSize, load, memory.size());
            }
            long end = load + kernelSize;
            if (version >= 0x020a) {
                long initSize = Integer.toUnsignedLong(h.getInt(BootParams.INIT_SIZE));
                long runtimeStart = runtimeStart(load, version);
                if (!memory.isValid(GuestAddress.of(runtimeStart), Math.max(initSize, 1))) {
                    throw fail("kernel needs %d bytes at 0x%x while it boots (init_size), beyond guest RAM (%d bytes): "
                            + "give the VM more memory", initSize, runtimeStart, memory.size());
                }
                end = Math.max(end, runtimeStart + initSize);
            }
            byte[] setupHeader = new byte[Math.min(headerEnd, BootParams.SETUP_HEADER_LIMIT) - BootParams.SETUP_HEADER];
            h.get(BootParams.SETUP_HEADER, setupHeader);

            copy(src, setupSize, kernelSize, load, memory);
            return new LoadedKernel(LoadedKernel.Kind.BZIMAGE, load + BZIMAGE_64BIT_ENTRY_OFFSET, load, end, setupHeader);
        }

        /** boot.rst: relocatable kernels run at align_up(load, kernel_alignment), others at pref_address. */
        private long runtimeStart(long load, int version) {
            boolean relocatable = byteAt(BootParams.RELOCATABLE_KERNEL) != 0;
            if (relocatable) {
                long alignment = Integer.toUnsignedLong(h.getInt(BootParams.KERNEL_ALIGNMENT));
                if (alignment == 0 || Long.bitCount(alignment) != 1) {
                    throw fail("kernel_alignment 0x%x is not a power of two", alignment);
                }
                return Layout.alignUp(load, alignment);
            }
            long pref = h.getLong(BootParams.PREF_ADDRESS);
            if (pref <= 0 || pref >= Layout.MMIO_HOLE_START) {
                throw fail("non-relocatable kernel wants to run at 0x%s (pref_address), outside low RAM", Long.toHexString(pref));
            }
            return pref;
        }

        private void need(int bytes, String what) {
            if (size < bytes || h.capacity() < bytes) {
                throw fail("truncated bzImage: %s needs %d bytes, file has %d", what, bytes, size);
            }
        }

        private byte byteAt(int offset) {
            return h.get(offset);
        }

        private int u16(int offset) {
            return Short.toUnsignedInt(h.getShort(offset));
        }

        private static String protocol(int version) {
            return String.format("%d.%02d", version >>> 8, version & 0xff);
        }

        private KernelLoadException fail(String format, Object... args) {
            return new KernelLoadException("kernel image " + name + ": " + String.format(format, args));
        }
    }

    // ------------------------------------------------------------------------------------------

    private static void copy(Source src, long fileOffset, long length, long address, GuestMemory memory) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(COPY_CHUNK, Math.max(length, 1)));
        long done = 0;
        while (done < length) {
            int n = (int) Math.min(chunk.capacity(), length - done);
            chunk.clear().limit(n);
            readFully(src, fileOffset + done, chunk, null);
            chunk.flip();
            memory.write(GuestAddress.of(address + done), chunk);
            done += n;
        }
    }

    private static void readFully(Source src, long position, ByteBuffer dst, String name) throws IOException {
        src.read(position, dst);
        if (dst.hasRemaining()) {
            throw new EOFException("file ended at " + (position + dst.position()) + " while reading"
                    + (name == null ? "" : " " + name) + " (was it changed while loading?)");
        }
    }

    /** Positional, read-only access to image bytes. */
    private interface Source {
        long size() throws IOException;

        /** Fills {@code dst} from {@code position} as far as the image allows. */
        void read(long position, ByteBuffer dst) throws IOException;
    }

    private record ChannelSource(FileChannel channel) implements Source {
        @Override
        public long size() throws IOException {
            return channel.size();
        }

        @Override
        public void read(long position, ByteBuffer dst) throws IOException {
            long pos = position;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, pos);
                if (n < 0) {
                    return;
                }
                pos += n;
            }
        }
    }

    private record ArraySource(byte[] bytes) implements Source {
        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public void read(long position, ByteBuffer dst) {
            if (position >= bytes.length) {
                return;
            }
            int n = (int) Math.min(dst.remaining(), bytes.length - position);
            dst.put(bytes, (int) position, n);
        }
    }
}
