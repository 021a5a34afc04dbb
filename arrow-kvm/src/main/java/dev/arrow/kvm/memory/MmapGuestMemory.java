package dev.arrow.kvm.memory;

import com.sun.jna.Native;
import dev.arrow.kvm.KvmApiException;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.NativeMapping;
import dev.arrow.kvm.sys.OwnedFd;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guest RAM in anonymous host mappings ({@code MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE}):
 * one mapping per region, pages allocated on first touch. The VM registers each region as a
 * KVM memory slot ({@code Vm.registerMemory}); this object owns the mappings and unmaps them on
 * {@link #close()}, which waits for accesses in flight and makes later ones fail. Close the VM
 * (or remove its slots) first, and never while a vCPU thread may still be inside KVM_RUN: then
 * {@link #retire()} instead, and close once it has left.
 *
 * <p>A range of guest RAM can be backed by a file instead ({@link #mapCopyOnWrite}): the kernel
 * image shared by every VM that boots it ({@code dev.arrow.kvm.loader.KernelSnapshot}).
 *
 * <p>Guest RAM that clones start from lives in a memory file ({@link #createShared}): one
 * {@code memfd} holding every region, mapped shared, so that what the template guest writes is
 * in the file. Each clone maps the same file privately ({@link #mapPrivateCopy()}): it reads the
 * template's pages without copying them and gets its own copy of a page when it first writes it;
 * {@link #reset()} drops those copies. The template must not change once copies exist: a clone
 * sees the file's current content in every page it has not written yet.
 *
 * <p>A file the guest may only read is mapped by {@link #mapReadOnlyFile}: read-only and shared, so
 * its pages are the host's page-cache pages of the file, one copy for every VM (and process) that
 * maps it. The VM registers such memory as a read-only memory slot; writes through this object
 * fail ({@link #isReadOnly()}), and the file never changes. {@link #mapReadOnlyView()} maps the
 * same open file again, for a clone.
 *
 * <p>Guest RAM is never backed by transparent huge pages unless asked for
 * ({@code madvise(MADV_NOHUGEPAGE)} on every mapping, overlays included): on a host whose THP mode
 * is "always", a guest touching a few bytes of each 2 MiB would otherwise cost 2 MiB of host memory
 * each time (4 to 10 MiB more per small guest). With {@code hugePages} the mappings are advised
 * {@code MADV_HUGEPAGE} instead: fewer page faults and TLB misses for guests that use their memory.
 * A host kernel without THP takes neither advice, and needs none.
 *
 * <p>Guest RAM is not offered to the host kernel's same-page merging (KSM) unless the JVM opts in with
 * {@link #MERGEABLE_PROPERTY}: docs/security.md says what merged pages between guests cost in isolation.
 */
public final class MmapGuestMemory extends RegionBackedMemory implements AutoCloseable {
    private static final int WINDOW_SHIFT = NativeMapping.WINDOW_SHIFT;
    private static final long WINDOW_MASK = NativeMapping.WINDOW_SIZE - 1;
    private static final Logger LOG = LoggerFactory.getLogger(MmapGuestMemory.class);
    /** Whether a request for huge pages on a host without THP was logged (once per JVM). */
    private static final AtomicBoolean NO_THP_LOGGED = new AtomicBoolean();
    /**
     * The system property that offers every guest RAM mapping (overlays included) to the host kernel's same-page
     * merging when {@code true} ({@code madvise(MADV_MERGEABLE)}): equal pages of all guests (and of anything else
     * mergeable on the host) become one copy while nobody writes them. Off by default: a merged page is shared between
     * guests, so a guest that times its own writes can tell whether another guest holds a page with the same bytes
     * (docs/security.md). The host must run KSM ({@code echo 1 > /sys/kernel/mm/ksm/run}, as root), whose scans cost
     * host CPU. Read when a mapping is made.
     */
    public static final String MERGEABLE_PROPERTY = "arrow.mergeableGuestMemory";
    private static final Path KSM_RUN = Path.of("/sys/kernel/mm/ksm/run");
    /** Whether the host's KSM was checked, at the first mapping offered to it (once per JVM). */
    private static final AtomicBoolean KSM_CHECKED = new AtomicBoolean();

    private final NativeMapping[] mappings;
    /** How the regions are backed; the memory file of a shared one. */
    private final Backing backing;
    /** Whether the mappings may be backed by transparent huge pages (else they are advised never to be). */
    private final boolean hugePages;
    /** The shared memory a private copy was made of ({@link #mapPrivateCopy()}); null for any other. */
    private final MmapGuestMemory copiedFrom;
    /** Copy-on-write file ranges; left out of {@link #residentBytes()}. */
    private final List<FileRange> fileBacked = new CopyOnWriteArrayList<>();

    /** A copy-on-write file range of region {@code region}; {@code common} null when guests share no copies of it. */
    private record FileRange(int region, long offset, long length, FilePages file, long fileOffset,
            CommonCopies common) {
        long end() {
            return offset + length;
        }

        /** Where {@code common}'s part starts in the region's mapping. */
        long commonPartOffset() {
            return offset + common.fileStart() - fileOffset;
        }
    }

    /** A host view of one region: where KVM finds it in this process. */
    public record HostRegion(MemoryRegion region, long hostAddress) {
    }

    /**
     * What backs the regions: anonymous memory, a memory file mapped shared (owned here, region
     * {@code i} at file offset {@code offsets[i]}), a private copy of such a file, or a file mapped
     * read-only (its fd owned here by the memory that opened it, null in a view of it).
     */
    private record Backing(Kind kind, OwnedFd file, long[] offsets) {
        enum Kind { ANONYMOUS, SHARED_FILE, PRIVATE_COPY, READ_ONLY_FILE }
    }

    private MmapGuestMemory(GuestRegions regions, NativeMapping[] mappings, Backing backing, boolean hugePages) {
        this(regions, mappings, backing, hugePages, null);
    }

    private MmapGuestMemory(GuestRegions regions, NativeMapping[] mappings, Backing backing, boolean hugePages,
            MmapGuestMemory copiedFrom) {
        super(regions, backing.kind() == Backing.Kind.READ_ONLY_FILE);
        this.mappings = mappings;
        this.backing = backing;
        this.hugePages = hugePages;
        this.copiedFrom = copiedFrom;
    }

    /** Maps the given (non-overlapping, page-aligned) regions, without huge pages. */
    public static MmapGuestMemory create(List<MemoryRegion> regionList) {
        return create(regionList, false);
    }

    /** Maps the given (non-overlapping, page-aligned) regions; {@code hugePages}: see the class comment. */
    public static MmapGuestMemory create(List<MemoryRegion> regionList, boolean hugePages) {
        GuestRegions regions = alignedRegions(regionList);
        NativeMapping[] mappings = mapAll(regions, hugePages, i -> NativeMapping.anonymous(regions.region(i).size(),
                "guest RAM " + regions.region(i)));
        return new MmapGuestMemory(regions, mappings, new Backing(Backing.Kind.ANONYMOUS, null, null), hugePages);
    }

    /**
     * Guest RAM in a new memory file ({@code memfd_create}, named {@code name} in /proc/self/maps
     * and /proc/self/fd) holding the given (non-overlapping, page-aligned) regions one after the
     * other, mapped shared. The file's pages are allocated on first write; {@link #close()}
     * closes the file, and private copies keep it alive until they are closed too.
     *
     * @throws dev.arrow.kvm.KvmApiException if the file cannot be made or mapped
     */
    public static MmapGuestMemory createShared(List<MemoryRegion> regionList, String name) {
        return createShared(regionList, name, false);
    }

    /** Like {@link #createShared(List, String)}; {@code hugePages}: see the class comment (its copies inherit it). */
    public static MmapGuestMemory createShared(List<MemoryRegion> regionList, String name, boolean hugePages) {
        GuestRegions regions = alignedRegions(regionList);
        long[] offsets = new long[regions.count()];
        for (int i = 1; i < offsets.length; i++) {
            offsets[i] = offsets[i - 1] + regions.region(i - 1).size();
        }
        OwnedFd file = memoryFile(name, regions.totalSize());
        try {
            NativeMapping[] mappings = mapAll(regions, hugePages, i -> NativeMapping.ofFile(file.fd(), offsets[i],
                    regions.region(i).size(), true, "guest RAM " + regions.region(i) + " of " + name));
            return new MmapGuestMemory(regions, mappings, new Backing(Backing.Kind.SHARED_FILE, file, offsets), hugePages);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /**
     * A private, copy-on-write mapping of this memory's file (see the class comment): guest RAM
     * for a clone of the guest this memory holds. Independent of this object once made: closing
     * this memory leaves the copy intact.
     *
     * @throws IllegalStateException if this memory was not made by {@link #createShared} or is closed
     */
    public MmapGuestMemory mapPrivateCopy() {
        if (backing.kind() != Backing.Kind.SHARED_FILE) {
            throw new IllegalStateException("only guest RAM made by createShared can be copied, this is "
                    + backing.kind());
        }
        OwnedFd file = backing.file();
        if (!file.enter()) {
            throw new IllegalStateException("guest RAM " + file + " is closed");
        }
        try {
            NativeMapping[] mappings = mapAll(regions, hugePages, i -> NativeMapping.ofFile(file.fd(), backing.offsets()[i],
                    regions.region(i).size(), false, "private copy of guest RAM " + regions.region(i)));
            return new MmapGuestMemory(regions, mappings, new Backing(Backing.Kind.PRIVATE_COPY, null, backing.offsets()),
                    hugePages, this);
        } finally {
            file.exit();
        }
    }

    /**
     * Guest memory of one region, {@code region}, holding the first {@code region.size()} bytes of
     * {@code file}, mapped read-only and shared ({@link NativeMapping#readOnlyFile}). The file is
     * opened read-only here and kept open until {@link #close()}, so {@link #mapReadOnlyView()} maps
     * this very file even if its path is replaced meanwhile. The file must not shrink while mapped.
     *
     * @throws IllegalArgumentException if the region is not 4 KiB aligned, or the file is shorter than it
     * @throws KvmApiException if the file cannot be opened or mapped (naming the errno)
     */
    public static MmapGuestMemory mapReadOnlyFile(Path file, MemoryRegion region) {
        GuestRegions regions = alignedRegions(List.of(region));
        int fd = LibC.open(file.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (fd < 0) {
            int errno = Native.getLastError();
            throw new KvmApiException("open of " + file + " to map it read-only", errno, KvmApiException.hintFor(errno));
        }
        OwnedFd owned = new OwnedFd(fd, "read-only guest memory file " + file);
        try {
            long size = LibC.lseek(fd, 0, LibC.SEEK_END);
            if (size < 0) {
                int errno = Native.getLastError();
                throw new KvmApiException("lseek to the end of " + file, errno, KvmApiException.hintFor(errno));
            }
            if (size < region.size()) {
                throw new IllegalArgumentException(String.format("%s has %d bytes, fewer than the %d of guest memory %s"
                        + " it should back", file, size, region.size(), region));
            }
            NativeMapping[] mappings = {NativeMapping.readOnlyFile(fd, 0, region.size(),
                    "read-only guest memory " + region + " of " + file)};
            return new MmapGuestMemory(regions, mappings, new Backing(Backing.Kind.READ_ONLY_FILE, owned, new long[] {0}),
                    false);
        } catch (RuntimeException e) {
            owned.close();
            throw e;
        }
    }

    /**
     * Another read-only mapping of the file this memory {@link #mapReadOnlyFile mapped}, at the same
     * guest region: the same page-cache pages, for a clone's VM. Independent of this object once
     * made: closing this memory leaves the view mapped (the mapping keeps the file alive).
     *
     * @throws IllegalStateException if this memory was not made by {@link #mapReadOnlyFile} or is closed
     */
    public MmapGuestMemory mapReadOnlyView() {
        OwnedFd file = backing.file();
        if (backing.kind() != Backing.Kind.READ_ONLY_FILE || file == null) {
            throw new IllegalStateException("only memory made by mapReadOnlyFile can be mapped again, this is "
                    + backing.kind() + (file == null ? " (a view)" : ""));
        }
        if (!file.enter()) {
            throw new IllegalStateException("read-only guest memory " + file + " is closed");
        }
        try {
            NativeMapping[] views = new NativeMapping[regions.count()];
            for (int i = 0; i < views.length; i++) {
                views[i] = NativeMapping.readOnlyFile(file.fd(), backing.offsets()[i], regions.region(i).size(),
                        "read-only view of guest memory " + regions.region(i));
            }
            return new MmapGuestMemory(regions, views, new Backing(Backing.Kind.READ_ONLY_FILE, null, backing.offsets()),
                    false);
        } finally {
            file.exit();
        }
    }

    /**
     * True for memory in a memory file, shared ({@link #createShared}) or a private copy: its
     * pages must stay the file's, so it takes no {@link #mapCopyOnWrite} overlay.
     */
    public boolean isInMemoryFile() {
        return backing.kind() != Backing.Kind.ANONYMOUS;
    }

    /** True for a private copy ({@link #mapPrivateCopy()}). */
    public boolean isPrivateCopy() {
        return backing.kind() == Backing.Kind.PRIVATE_COPY;
    }

    /**
     * Gives a private copy the template's content again: every page it has its own copy of (it wrote it,
     * {@link OwnPages}) gets the template's bytes copied over it, in place. The copy keeps its pages, and
     * so do KVM's mappings of them: a VM that runs on this memory again finds mapped every page the last
     * guest touched, instead of faulting each in anew (a nested fault each where KVM is itself a guest).
     * Pages it only read are the memory file's and need nothing. Swapped-out copies are dropped
     * ({@code madvise(MADV_DONTNEED)}) and read the file again; so is every page when
     * {@code /proc/self/pagemap} cannot be read or the memory this was copied from is closed. Call it
     * while no vCPU runs on this memory.
     *
     * @throws IllegalStateException if this is not a private copy, or it is closed
     */
    public void reset() {
        if (!isPrivateCopy()) {
            throw new IllegalStateException("only a private copy can be reset, this is " + backing.kind());
        }
        for (int r = 0; r < mappings.length; r++) {
            NativeMapping m = mappings[r];
            List<OwnPages.Run> own;
            try {
                own = OwnPages.in(m.address(), m.length());
            } catch (IOException e) {
                LOG.debug("{}: {}; every page is dropped instead", m, e.toString());
                m.dropPages();
                continue;
            }
            for (OwnPages.Run run : own) {
                if (run.swapped()) {
                    m.dropPages(run.offset(), run.length());
                    continue;
                }
                try {
                    m.copyPagesFrom(copiedFrom.mappings[r], run.offset(), run.length());
                } catch (IllegalStateException closed) {
                    if (m.isClosed()) {
                        throw closed;
                    }
                    m.dropPages(run.offset(), run.length()); // the template's memory is closed: the file is not
                }
            }
        }
    }

    private static GuestRegions alignedRegions(List<MemoryRegion> regionList) {
        GuestRegions regions = new GuestRegions(regionList);
        for (int i = 0; i < regions.count(); i++) {
            MemoryRegion r = regions.region(i);
            if ((r.start().value() & (Layout.PAGE_SIZE - 1)) != 0 || (r.size() & (Layout.PAGE_SIZE - 1)) != 0) {
                throw new IllegalArgumentException("guest memory region " + r + " is not 4 KiB aligned");
            }
        }
        return regions;
    }

    /**
     * One mapping per region, made by {@code map} and advised on huge pages and merging ({@link #advise});
     * unmaps those made so far if one fails.
     */
    private static NativeMapping[] mapAll(GuestRegions regions, boolean hugePages, IntFunction<NativeMapping> map) {
        NativeMapping[] mappings = new NativeMapping[regions.count()];
        try {
            for (int i = 0; i < mappings.length; i++) {
                mappings[i] = map.apply(i);
                advise(mappings[i], 0, mappings[i].length(), hugePages);
            }
        } catch (RuntimeException e) {
            for (NativeMapping m : mappings) {
                if (m != null) {
                    m.close();
                }
            }
            throw e;
        }
        return mappings;
    }

    /**
     * Advises {@code [offset, +count)} of {@code m} on huge pages, and on merging where {@link #MERGEABLE_PROPERTY}
     * asks for it; on a host without THP, says so once if they were asked for; on one that does not merge, says so once.
     */
    private static void advise(NativeMapping m, long offset, long count, boolean hugePages) {
        if (!m.adviseHugePages(offset, count, hugePages) && hugePages && NO_THP_LOGGED.compareAndSet(false, true)) {
            LOG.warn("guest RAM with huge pages was asked for, but this host's kernel has no transparent huge pages"
                    + " (madvise(MADV_HUGEPAGE) says EINVAL): guest RAM stays in 4 KiB pages");
        }
        if ("true".equalsIgnoreCase(System.getProperty(MERGEABLE_PROPERTY))) {
            boolean offered = m.adviseMergeable(offset, count);
            if (KSM_CHECKED.compareAndSet(false, true) && (!offered || !ksmRuns())) {
                LOG.warn("{}=true, but {}: no guest page is merged", MERGEABLE_PROPERTY, offered
                        ? "this host's KSM is not running (as root: echo 1 > " + KSM_RUN + ")"
                        : "this host's kernel has no KSM (madvise(MADV_MERGEABLE) says EINVAL)");
            }
        }
    }

    /** Whether the host's KSM runs ({@code /sys/kernel/mm/ksm/run} holds 1); false when that cannot be read. */
    private static boolean ksmRuns() {
        try {
            return Files.readString(KSM_RUN).trim().equals("1");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static OwnedFd memoryFile(String name, long size) {
        int fd = LibC.memfd_create(name, LibC.MFD_CLOEXEC);
        if (fd < 0) {
            int errno = Native.getLastError();
            throw new KvmApiException("memfd_create for guest RAM " + name, errno, KvmApiException.hintFor(errno));
        }
        OwnedFd file = new OwnedFd(fd, "guest RAM file " + name);
        if (LibC.ftruncate(fd, size) != 0) {
            int errno = Native.getLastError();
            file.close();
            throw new KvmApiException("ftruncate of guest RAM file " + name + " to " + size + " bytes", errno,
                    KvmApiException.hintFor(errno));
        }
        return file;
    }

    /**
     * Guest RAM of {@code ramSize} bytes laid out as {@link Layout#ramRegions}: below the MMIO
     * hole at 3 GiB, and the rest from 4 GiB up; without huge pages.
     */
    public static MmapGuestMemory forRam(long ramSize) {
        return forRam(ramSize, false);
    }

    /** Like {@link #forRam(long)}; {@code hugePages}: see the class comment. */
    public static MmapGuestMemory forRam(long ramSize, boolean hugePages) {
        return create(ramRegions(ramSize), hugePages);
    }

    /** Like {@link #forRam(long)}, in a new memory file named {@code name} ({@link #createShared}). */
    public static MmapGuestMemory sharedForRam(long ramSize, String name) {
        return sharedForRam(ramSize, name, false);
    }

    /** Like {@link #forRam(long, boolean)}, in a new memory file named {@code name} ({@link #createShared}). */
    public static MmapGuestMemory sharedForRam(long ramSize, String name, boolean hugePages) {
        return createShared(ramRegions(ramSize), name, hugePages);
    }

    /** True if the mappings may be backed by transparent huge pages (see the class comment). */
    public boolean hugePages() {
        return hugePages;
    }

    private static List<MemoryRegion> ramRegions(long ramSize) {
        List<MemoryRegion> list = new ArrayList<>();
        for (Layout.RamRegion r : Layout.ramRegions(ramSize)) {
            list.add(MemoryRegion.of(r.start(), r.size()));
        }
        return list;
    }

    /** The regions with their host addresses, for KVM memory slots. */
    public List<HostRegion> hostRegions() {
        List<HostRegion> list = new ArrayList<>(mappings.length);
        for (int i = 0; i < mappings.length; i++) {
            list.add(new HostRegion(regions.region(i), mappings[i].address()));
        }
        return List.copyOf(list);
    }

    /** True once closed or retired: no access through this object succeeds any more. */
    public boolean isClosed() {
        return mappings[0].isClosed();
    }

    /**
     * Backs {@code [start, start + length)} of guest RAM with a private, copy-on-write mapping of
     * {@code fd} from {@code fileOffset}: the guest reads the file's pages, its first write to a page
     * gives it its own copy, and the file is never written. The range must lie in one region and be
     * page aligned. KVM sees the change at once (a memory slot refers to host addresses, not pages).
     *
     * @throws GuestMemoryException if the range is not guest RAM
     * @throws IllegalArgumentException if it is not page aligned
     * @throws IllegalStateException if this memory is in a memory file ({@link #isInMemoryFile()}):
     *     an overlay would leave those pages out of the file its clones map; or if it is read-only
     */
    public void mapCopyOnWrite(GuestAddress start, long length, int fd, long fileOffset) {
        mapCopyOnWrite(start, length, fd, fileOffset, null, null);
    }

    /**
     * Like {@link #mapCopyOnWrite(GuestAddress, long, int, long)}; {@code file} reads the same file's pages (null
     * when none can be read), so that {@link #dropPagesEqualToBacking()} can tell which of the guest's copies still
     * hold the file's bytes.
     */
    public void mapCopyOnWrite(GuestAddress start, long length, int fd, long fileOffset, FilePages file) {
        mapCopyOnWrite(start, length, fd, fileOffset, file, null);
    }

    /**
     * Like {@link #mapCopyOnWrite(GuestAddress, long, int, long, FilePages)}; {@code common} (null for none) holds the
     * copies every guest makes alike of a part of the file, which {@link #dropPagesEqualToBacking()} shares.
     *
     * @throws IllegalArgumentException also if {@code common}'s part is not inside the mapped part of the file, or
     *     {@code file} is null with a {@code common}
     */
    public synchronized void mapCopyOnWrite(GuestAddress start, long length, int fd, long fileOffset, FilePages file,
            CommonCopies common) {
        if (common != null && (file == null || common.fileStart() < fileOffset
                || common.fileStart() + common.length() > fileOffset + length)) {
            throw new IllegalArgumentException(common + " is not part of the file's range [0x"
                    + Long.toHexString(fileOffset) + ", +0x" + Long.toHexString(length) + ") with its pages readable");
        }
        if (isInMemoryFile()) {
            throw new IllegalStateException("guest RAM in a memory file (" + backing.kind() + ") takes no overlay: "
                    + "its clones would not see the overlaid pages");
        }
        if (isReadOnly()) {
            throw new IllegalStateException("read-only guest memory takes no overlay: it would become writable");
        }
        int r = regions.locate(start, length);
        FileRange range = new FileRange(r, start.value() - regions.start(r), length, file, fileOffset, common);
        for (FileRange f : fileBacked) {
            if (f.region() == r && range.offset() < f.end() && f.offset() < range.end()) {
                throw new IllegalArgumentException("guest range " + start + " +0x" + Long.toHexString(length)
                        + " is already backed by a file");
            }
        }
        mappings[r].overlayCopyOnWrite(range.offset(), length, fd, fileOffset);
        fileBacked.add(range);
        advise(mappings[r], range.offset(), length, hugePages); // a new mapping: the advice is not inherited
    }

    /**
     * Maps the host pages of {@code [start, start + length)} now, as reads ({@code write} false) or writes would
     * ({@link NativeMapping#populate}): a file-backed range maps the file's pages (a write makes private copies), guest
     * RAM gets its pages. A vCPU's first access to the range then finds the host page mapped.
     *
     * @return false if this host's kernel cannot (before Linux 5.14)
     * @throws GuestMemoryException if the range is not guest RAM
     * @throws IllegalArgumentException if it is not page aligned
     */
    public boolean populate(GuestAddress start, long length, boolean write) {
        int r = regions.locate(start, length);
        NativeMapping m = enter(r);
        try {
            return m.populate(start.value() - regions.start(r), length, write);
        } finally {
            m.guard().exit();
        }
    }

    /**
     * Bytes of guest RAM resident in host memory now (touched pages, all regions); 0 once closed.
     * Ranges backed by a file through {@link #mapCopyOnWrite} are left out: their pages belong to
     * the file (shared by every VM mapping it) until the guest writes them. Memory in a memory
     * file ({@link #createShared}, {@link #mapPrivateCopy()}) counts every page of the file that is
     * in host memory, the template's pages included: mincore cannot tell a copy's own pages apart.
     */
    public long residentBytes() {
        long sum = 0;
        for (int r = 0; r < mappings.length; r++) {
            long at = 0;
            for (FileRange f : sortedFileRanges(r)) {
                sum += mappings[r].residentBytes(at, f.offset() - at);
                at = f.end();
            }
            sum += mappings[r].residentBytes(at, mappings[r].length() - at);
        }
        return sum;
    }

    /**
     * What {@link #dropPagesEqualToBacking()} gave back: pages that held only zeros, copies that held their file's
     * bytes, and copies that held the bytes of {@link CommonCopies} (now the common copies' pages).
     */
    public record DroppedPages(long zeroPages, long filePages, long sharedPages) {
        /** Every kind, in bytes. */
        public long bytes() {
            return (zeroPages + filePages + sharedPages) * Layout.PAGE_SIZE;
        }
    }

    /**
     * Gives the host back the pages that hold what the guest would read without them ({@code madvise(MADV_DONTNEED)}
     * on each): pages the guest wrote that hold only zeros (they read zero again), and the guest's copies of pages of
     * a {@link #mapCopyOnWrite} range that hold the file's bytes (they read the file's page again, shared by every VM
     * that maps it). First, where a range has {@link CommonCopies} (taken by {@link #giveCommonCopies()}), the spans of
     * them whose bytes the guest holds are mapped over its copies ({@link CommonCopies#share}). Only the pages in host
     * memory that are the mapping's own are read (pagemap). The caller must keep every writer of this memory still
     * throughout (every vCPU out of KVM_RUN, and the devices): a write between a page's comparison and its drop would
     * be lost. Runs under each mapping's use guard, so a close waits for it, and once closed or retired nothing is
     * read or dropped. A pagemap that cannot be read drops nothing (logged at DEBUG).
     *
     * @return what was dropped
     * @throws IllegalStateException if this memory is in a memory file ({@link #isInMemoryFile()}): its pages are the
     *     file's, or a private copy's comparison would be with its template's pages
     */
    public DroppedPages dropPagesEqualToBacking() {
        if (backing.kind() != Backing.Kind.ANONYMOUS) {
            throw new IllegalStateException("only anonymous guest RAM drops pages equal to their backing, this is "
                    + backing.kind());
        }
        long zeros = 0;
        long files = 0;
        long shared = 0;
        for (int r = 0; r < mappings.length; r++) {
            NativeMapping m = mappings[r];
            if (!m.guard().enter()) {
                break; // closed or retired
            }
            try {
                for (FileRange f : fileBacked) {
                    if (f.region() == r && f.common() != null) {
                        shared += shareCommonCopies(m, f);
                    }
                }
                List<PagesEqualToBacking.Overlay> overlays = new ArrayList<>();
                for (FileRange f : fileBacked) {
                    if (f.region() == r) {
                        overlays.add(new PagesEqualToBacking.Overlay(f.offset(), f.length(), f.file(), f.fileOffset()));
                    }
                }
                PagesEqualToBacking selector = new PagesEqualToBacking(m.length(), i -> page(m, i), overlays);
                OwnPages.read(m.address(), m.length(), selector);
                PagesEqualToBacking.Selection selected = selector.finish();
                for (OwnPages.Run run : selected.runs()) {
                    m.dropPages(run.offset(), run.length());
                }
                zeros += selected.zeroPages();
                files += selected.filePages();
            } catch (IOException e) {
                LOG.debug("{}: {}; no page dropped", m, e.toString());
                break;
            } catch (IllegalStateException closing) {
                break; // a close or retire waits for this guard: the pages go with the mapping
            } finally {
                m.guard().exit();
            }
        }
        return new DroppedPages(zeros, files, shared);
    }

    /**
     * Gives the {@link CommonCopies} of this memory's copy-on-write ranges this guest's copies, where none were taken
     * yet ({@link CommonCopies#take}): call it where the guest's kernel has booted and no program has run, with the
     * guest's pages still. Reads pagemap only for copies not taken yet; under each mapping's use guard (closed or
     * retired memory gives nothing). A pagemap or memory file that fails is logged at DEBUG: nothing is taken then.
     */
    public void giveCommonCopies() {
        for (FileRange f : fileBacked) {
            CommonCopies common = f.common();
            if (common == null || common.isTaken()) {
                continue;
            }
            NativeMapping m = mappings[f.region()];
            if (!m.guard().enter()) {
                return;
            }
            try {
                long partOffset = f.commonPartOffset();
                common.take(pagemapOf(m, partOffset, common.length()), i -> page(m, partOffset / Layout.PAGE_SIZE + i),
                        f.file());
            } catch (IOException | KvmApiException e) {
                LOG.debug("{}: no common copies taken for {}: {}", m, common, e.toString());
            } catch (IllegalStateException closing) {
                return;
            } finally {
                m.guard().exit();
            }
        }
    }

    /** The pagemap entries of {@code [offset, offset + length)} of {@code m}, whose guard the caller holds. */
    private static long[] pagemapOf(NativeMapping m, long offset, long length) throws IOException {
        long[] entries = new long[(int) (length / Layout.PAGE_SIZE)];
        OwnPages.read(m.address() + offset, length, (i, entry) -> entries[(int) i] = entry);
        return entries;
    }

    /** Maps over {@code f}'s part the spans of its common copies that {@code m} holds; the caller holds m's guard. */
    private long shareCommonCopies(NativeMapping m, FileRange f) throws IOException {
        CommonCopies common = f.common();
        long partOffset = f.commonPartOffset();
        long[] entries = pagemapOf(m, partOffset, common.length());
        try {
            return common.share(entries, i -> page(m, partOffset / Layout.PAGE_SIZE + i),
                    (offset, length, fd, fileOffset) -> {
                        m.overlayCopyOnWrite(partOffset + offset, length, fd, fileOffset);
                        advise(m, partOffset + offset, length, hugePages); // a new mapping: not inherited
                    });
        } catch (KvmApiException e) {
            LOG.debug("{}: common copies of {} not shared: {}", m, common, e.toString());
            return 0;
        }
    }

    /** Page {@code index} of {@code m}, whose guard the caller holds. */
    private static ByteBuffer page(NativeMapping m, long index) {
        long offset = index * Layout.PAGE_SIZE;
        return m.window((int) (offset >>> WINDOW_SHIFT)).slice((int) (offset & WINDOW_MASK), (int) Layout.PAGE_SIZE);
    }

    private List<FileRange> sortedFileRanges(int region) {
        List<FileRange> list = new ArrayList<>();
        for (FileRange f : fileBacked) {
            if (f.region() == region) {
                list.add(f);
            }
        }
        list.sort(Comparator.comparingLong(FileRange::offset));
        return list;
    }

    /**
     * Takes guest RAM away while keeping its host addresses taken, for a VM whose vCPU threads may
     * still be inside KVM_RUN: accesses through this object fail from now on (after the ones in
     * flight), and every region becomes an inaccessible ({@code PROT_NONE}) reservation whose pages
     * go back to the host ({@link NativeMapping#retire()}). A memory slot refers to host addresses,
     * so a guest that still runs faults (KVM_RUN fails with EFAULT) instead of reaching a mapping
     * that a later VM could otherwise get at the same addresses. {@link #close()} unmaps the
     * reservations once no vCPU can run. Idempotent.
     *
     * @throws dev.arrow.kvm.KvmApiException if a region could not be made inaccessible (every
     *         region is tried; keep the memory mapped then)
     */
    public void retire() {
        RuntimeException failure = null;
        for (NativeMapping m : mappings) {
            try {
                m.retire();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** True when every region is retired ({@link #retire()}) and not yet unmapped. */
    public boolean isRetired() {
        for (NativeMapping m : mappings) {
            if (!m.isRetired()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Unmaps all regions, after accesses in flight have finished, and closes the memory file of
     * shared memory (its private copies keep their mappings). Idempotent.
     */
    @Override
    public void close() {
        for (NativeMapping m : mappings) {
            m.close();
        }
        if (backing.file() != null) {
            backing.file().close();
        }
    }

    private NativeMapping enter(int region) {
        NativeMapping m = mappings[region];
        if (!m.guard().enter()) {
            throw new KvmException("guest memory is closed");
        }
        return m;
    }

    @Override
    void copyOut(int region, long offset, byte[] dst, int dstOffset, int length) {
        NativeMapping m = enter(region);
        try {
            while (length > 0) {
                ByteBuffer w = m.window((int) (offset >>> WINDOW_SHIFT));
                int within = (int) (offset & WINDOW_MASK);
                int n = Math.min(length, w.capacity() - within);
                w.get(within, dst, dstOffset, n);
                offset += n;
                dstOffset += n;
                length -= n;
            }
        } finally {
            m.guard().exit();
        }
    }

    @Override
    void copyIn(int region, long offset, byte[] src, int srcOffset, int length) {
        NativeMapping m = enter(region);
        try {
            while (length > 0) {
                ByteBuffer w = m.window((int) (offset >>> WINDOW_SHIFT));
                int within = (int) (offset & WINDOW_MASK);
                int n = Math.min(length, w.capacity() - within);
                w.put(within, src, srcOffset, n);
                offset += n;
                srcOffset += n;
                length -= n;
            }
        } finally {
            m.guard().exit();
        }
    }

    @Override
    void copyIn(int region, long offset, ByteBuffer src, int length) {
        NativeMapping m = enter(region);
        try {
            while (length > 0) {
                ByteBuffer w = m.window((int) (offset >>> WINDOW_SHIFT));
                int within = (int) (offset & WINDOW_MASK);
                int n = Math.min(length, w.capacity() - within);
                w.put(within, src, src.position(), n);
                src.position(src.position() + n);
                offset += n;
                length -= n;
            }
        } finally {
            m.guard().exit();
        }
    }

    @Override
    long getLittleEndian(int region, long offset, int size) {
        NativeMapping m = enter(region);
        try {
            ByteBuffer w = m.window((int) (offset >>> WINDOW_SHIFT));
            int i = (int) (offset & WINDOW_MASK);
            if (i + size <= w.capacity()) {
                return switch (size) {
                    case 1 -> w.get(i) & 0xFFL;
                    case 2 -> w.getShort(i) & 0xFFFFL;
                    case 4 -> w.getInt(i) & 0xFFFF_FFFFL;
                    default -> w.getLong(i);
                };
            }
        } finally {
            m.guard().exit();
        }
        // straddles two windows: assemble from bytes
        byte[] b = new byte[size];
        copyOut(region, offset, b, 0, size);
        long v = 0;
        for (int k = size - 1; k >= 0; k--) {
            v = (v << 8) | (b[k] & 0xFF);
        }
        return v;
    }

    @Override
    void putLittleEndian(int region, long offset, int size, long value) {
        NativeMapping m = enter(region);
        try {
            ByteBuffer w = m.window((int) (offset >>> WINDOW_SHIFT));
            int i = (int) (offset & WINDOW_MASK);
            if (i + size <= w.capacity()) {
                switch (size) {
                    case 1 -> w.put(i, (byte) value);
                    case 2 -> w.putShort(i, (short) value);
                    case 4 -> w.putInt(i, (int) value);
                    default -> w.putLong(i, value);
                }
                return;
            }
        } finally {
            m.guard().exit();
        }
        byte[] b = new byte[size];
        for (int k = 0; k < size; k++) {
            b[k] = (byte) (value >>> (8 * k));
        }
        copyIn(region, offset, b, 0, size);
    }

    /**
     * {@code madvise(MADV_DONTNEED)} on the range's host pages (see {@link GuestMemory#discardPages}): anonymous
     * memory gives its pages back and reads zero after; a private copy-on-write mapping of a file (the kernel image
     * overlay of {@link #mapCopyOnWrite}, a clone's {@link #mapPrivateCopy() copy} of its template's RAM) drops the
     * pages it copied and reads the file's again; a shared memory file ({@link #createShared}) keeps its pages,
     * which are the file's (nothing is given back there, and nothing changes). The range may span an overlay's edge:
     * madvise takes any run of mappings.
     */
    @Override
    void discardRange(int region, long offset, long length) {
        mappings[region].dropPages(offset, length);
    }

    @Override
    void fillRange(int region, long offset, long length, byte value) {
        byte[] chunk = new byte[(int) Math.min(length, 64 * 1024)];
        if (value != 0) {
            java.util.Arrays.fill(chunk, value);
        }
        while (length > 0) {
            int n = (int) Math.min(length, chunk.length);
            copyIn(region, offset, chunk, 0, n);
            offset += n;
            length -= n;
        }
    }
}
