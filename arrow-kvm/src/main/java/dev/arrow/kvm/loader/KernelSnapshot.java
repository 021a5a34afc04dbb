package dev.arrow.kvm.loader;

import dev.arrow.kvm.KvmApiException;
import dev.arrow.kvm.memory.CommonCopies;
import dev.arrow.kvm.memory.FilePages;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.OwnedFd;
import dev.arrow.kvm.sys.SealedMemoryFile;
import dev.arrow.kvm.x86.Layout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * A vmlinux loaded once into a sealed memory file ({@code memfd}), holding the guest-physical
 * bytes {@code [start, end)} exactly as {@link KernelLoader} lays them out (segments, gaps and bss
 * zeroed). Each VM that boots it maps that file copy-on-write over its own RAM
 * ({@link MmapGuestMemory#mapCopyOnWrite}) instead of copying the image: no read of the file and
 * no copy per boot, and the pages a guest only reads (text, rodata) are one set of host pages for
 * every VM in the process. The seals (no write, no resize) make the file immutable, so no VM can
 * change what another one boots. The pages of its read-only segment (text, rodata) that every guest patches alike at
 * boot for the CPU it finds are shared too, once a guest is idle: its {@link CommonCopies}.
 *
 * <p>Only ELF {@code vmlinux} images are snapshotted; a bzImage decompresses itself in guest
 * memory, so sharing its compressed bytes gains little ({@link #load} returns empty for it).
 */
public final class KernelSnapshot implements AutoCloseable {
    /**
     * How each snapshot's memory file is named ({@code memfd_create}): this prefix and the image's
     * file name. The VMs' mappings of it show as {@code /memfd:arrow-kernel:NAME (deleted)} in
     * {@code /proc/<pid>/maps} and {@code smaps}, which is how memory accounting finds them.
     */
    public static final String FILE_NAME_PREFIX = "arrow-kernel:";
    /**
     * How the memory file of the {@link CommonCopies} of the read-only segment is named after the prefix and the
     * image's file name: its mappings sit among the image's, over the spans of text guests patch alike.
     */
    public static final String PATCHED_SUFFIX = ":patched";
    /**
     * The system property that says how a VM's mapping of the image is populated before the guest runs
     * ({@link #mapInto}): {@code write} (the default) maps every page of the read-only segment (text, rodata) as a read
     * would, so that the guest's first access to one finds it mapped on the host, and gives the VM its own copy of
     * every page of the writable segments (data, per-CPU data, init, bss) at once, as the guest's first write would:
     * the guest then takes no read-then-write copy-on-write fault at boot (in the lab 296 fewer nested page faults and
     * 136 fewer TLB flushes per boot, docs/idle.md), and the page drop gives back the copies that stay equal to the
     * image once it is idle; {@code read} maps the writable segments as reads too (no copies); {@code none} leaves every
     * page to the guest's first access. Read at each mapping.
     */
    public static final String PREFAULT_PROPERTY = "arrow.prefaultKernelImage";
    private static final int COPY_CHUNK = 1 << 20;

    private final String name;
    private final LoadedKernel kernel;
    private final long start;
    private final long length;
    private final OwnedFd file;
    /** Bytes at the start of the file that hold the read-only segment (text, rodata), page aligned; 0 for none. */
    private final long readOnly;
    /** The copies guests make alike of the read-only segment's pages; null when the image has no such segment. */
    private final CommonCopies patched;

    private KernelSnapshot(String name, LoadedKernel kernel, long start, long length, OwnedFd file) {
        this.name = name;
        this.kernel = kernel;
        this.start = start;
        this.length = length;
        this.file = file;
        this.readOnly = Math.min(Layout.alignUp(kernel.readOnlyEnd(), Layout.PAGE_SIZE) - start, length);
        this.patched = kernel.readOnlyEnd() > kernel.startAddress()
                ? new CommonCopies(FILE_NAME_PREFIX + Path.of(name).getFileName() + PATCHED_SUFFIX, 0, readOnly) : null;
    }

    /**
     * Loads {@code image} (checked in full by {@link KernelLoader}, with guest RAM of
     * {@code ramBytes} for the placement checks) into a new sealed memory file.
     *
     * @return empty if the image is not an ELF vmlinux
     * @throws KernelLoadException if the image is unusable
     * @throws KvmApiException if the memory file cannot be made (memfd_create, pwrite, fcntl)
     */
    public static Optional<KernelSnapshot> load(Path image, long ramBytes) {
        try (MmapGuestMemory staging = MmapGuestMemory.forRam(ramBytes)) {
            LoadedKernel kernel = KernelLoader.load(image, staging);
            if (kernel.kind() != LoadedKernel.Kind.ELF_VMLINUX) {
                return Optional.empty();
            }
            long start = Layout.alignDown(kernel.startAddress(), Layout.PAGE_SIZE);
            long end = Layout.alignUp(kernel.endAddress(), Layout.PAGE_SIZE);
            OwnedFd file = createSealed(image.getFileName().toString(), staging, start, end - start);
            return Optional.of(new KernelSnapshot(image.toString(), kernel, start, end - start, file));
        }
    }

    private static OwnedFd createSealed(String name, MmapGuestMemory source, long start, long length) {
        return SealedMemoryFile.make(FILE_NAME_PREFIX + name, length, "the kernel snapshot " + name, writer -> {
            byte[] chunk = new byte[COPY_CHUNK];
            for (long at = 0; at < length; at += COPY_CHUNK) {
                int n = (int) Math.min(COPY_CHUNK, length - at);
                source.read(GuestAddress.of(start + at), chunk, 0, n);
                writer.write(chunk, n, at);
            }
        });
    }

    /** The kernel as loaded: entry point and the range it occupies. */
    public LoadedKernel kernel() {
        return kernel;
    }

    /** Bytes of guest RAM the snapshot covers (page aligned). */
    public long length() {
        return length;
    }

    /** The seals on the memory file (F_GET_SEALS), for checks. */
    public int seals() {
        if (!file.enter()) {
            throw new IllegalStateException("kernel snapshot " + name + " is closed");
        }
        try {
            return LibC.fcntl(file.fd(), LibC.F_GET_SEALS, 0);
        } finally {
            file.exit();
        }
    }

    /**
     * Maps the kernel copy-on-write into {@code memory}, as {@link KernelLoader#load} would have
     * copied it.
     *
     * @throws KernelLoadException if the kernel does not lie in that guest's RAM
     * @throws IllegalStateException if this snapshot is closed
     */
    public LoadedKernel mapInto(MmapGuestMemory memory) {
        if (!memory.isValid(GuestAddress.of(start), length)) {
            throw new KernelLoadException(String.format("kernel image %s: [0x%x, 0x%x) is outside guest RAM (%d bytes):"
                    + " give the VM more memory", name, start, start + length, memory.size()));
        }
        if (!file.enter()) {
            throw new IllegalStateException("kernel snapshot " + name + " is closed");
        }
        try {
            memory.mapCopyOnWrite(GuestAddress.of(start), length, file.fd(), 0, this::readPage, patched);
        } finally {
            file.exit();
        }
        prefault(memory, prefaultMode());
        return kernel;
    }

    /** How {@link #mapInto} populates the mapping ({@link #PREFAULT_PROPERTY}). */
    enum Prefault { NONE, READ, WRITE }

    static Prefault prefaultMode() {
        String value = System.getProperty(PREFAULT_PROPERTY, "write").trim();
        for (Prefault p : Prefault.values()) {
            if (p.name().equalsIgnoreCase(value)) {
                return p;
            }
        }
        throw new IllegalArgumentException("-D" + PREFAULT_PROPERTY + "=" + value + " is not one of read, write or"
                + " none: remove it (write is the default) or give one of those");
    }

    /** Populates {@code memory}'s mapping of the image as {@code mode} says; a host that cannot is left as it is. */
    private void prefault(MmapGuestMemory memory, Prefault mode) {
        if (mode == Prefault.NONE) {
            return;
        }
        if (mode == Prefault.READ || readOnly == 0) {
            memory.populate(GuestAddress.of(start), length, false);
            return;
        }
        memory.populate(GuestAddress.of(start), readOnly, false);
        long end = start + length;
        for (MemoryRegion w : kernel.writableSegments()) {
            long from = Math.max(Layout.alignDown(w.start().value(), Layout.PAGE_SIZE), start + readOnly);
            long to = Math.min(Layout.alignUp(w.endValue(), Layout.PAGE_SIZE), end);
            if (from < to) {
                memory.populate(GuestAddress.of(from), to - from, true);
            }
        }
    }

    /**
     * Reads the 4 KiB page at {@code offset} of the memory file into {@code dst} ({@link FilePages}); false once this
     * snapshot is closed (a VM that mapped it keeps its mapping, but its pages can no longer be compared) or the read
     * fails. Past the end of the file reads zero.
     */
    private boolean readPage(long offset, byte[] dst) {
        if (dst.length != Layout.PAGE_SIZE || offset < 0 || (offset & (Layout.PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("not a page: offset 0x" + Long.toHexString(offset) + ", " + dst.length
                    + " bytes");
        }
        if (!file.enter()) {
            return false;
        }
        try {
            Arrays.fill(dst, (byte) 0);
            if (offset >= length) {
                return true;
            }
            long n = LibC.pread(file.fd(), dst, Math.min(dst.length, length - offset), offset);
            return n == Math.min(dst.length, length - offset);
        } finally {
            file.exit();
        }
    }

    /** Closes the memory files; VMs that mapped them keep their mappings. */
    @Override
    public void close() {
        file.close();
        if (patched != null) {
            patched.close();
        }
    }

    @Override
    public String toString() {
        return String.format("KernelSnapshot[%s, [0x%x, +0x%x)]", name, start, length);
    }
}
