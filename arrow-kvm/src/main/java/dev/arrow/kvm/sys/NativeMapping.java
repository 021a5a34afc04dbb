package dev.arrow.kvm.sys;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.arrow.kvm.KvmApiException;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One mmap'd range of host memory with a single owner. Access goes through little-endian
 * {@link ByteBuffer} windows of at most {@link #WINDOW_SIZE} bytes; every access must be made
 * between {@link UseGuard#enter()} and {@link UseGuard#exit()} of {@link #guard()}, because
 * {@link #close()} unmaps the range and touching a window afterwards would crash the JVM.
 * {@link #retire()} is the step before close for memory that something outside the JVM's control
 * may still reach by address (a vCPU inside KVM_RUN): the range becomes inaccessible and its pages
 * are freed, but the addresses stay taken until {@link #close()}.
 * A Cleaner unmaps a forgotten mapping as a safety net.
 */
public final class NativeMapping implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NativeMapping.class);

    /** Largest window; a power of two so that window index and offset are shifts. */
    public static final int WINDOW_SHIFT = 30;
    public static final long WINDOW_SIZE = 1L << WINDOW_SHIFT;

    private final long address;
    private final long length;
    private final String what;
    private final UseGuard guard = new UseGuard();
    private final ByteBuffer[] windows;
    /** True for a read-only mapping: its windows are read-only buffers and it takes no overlay. */
    private final boolean readOnly;
    private final Release release;
    private final Cleaner.Cleanable cleanable;

    private NativeMapping(long address, long length, boolean readOnly, String what) {
        this.address = address;
        this.length = length;
        this.readOnly = readOnly;
        this.what = what;
        int count = (int) ((length + WINDOW_SIZE - 1) >>> WINDOW_SHIFT);
        this.windows = new ByteBuffer[count];
        Pointer base = new Pointer(address);
        for (int i = 0; i < count; i++) {
            long start = (long) i << WINDOW_SHIFT;
            long size = Math.min(WINDOW_SIZE, length - start);
            ByteBuffer window = base.getByteBuffer(start, size);
            // a put through a read-only buffer throws instead of faulting on the PROT_READ page
            windows[i] = (readOnly ? window.asReadOnlyBuffer() : window).order(ByteOrder.LITTLE_ENDIAN);
        }
        this.release = new Release(address, length, what, guard);
        this.cleanable = NativeCleaner.CLEANER.register(this, release);
    }

    /**
     * Private anonymous read-write memory that reserves no swap ({@code MAP_NORESERVE}): pages are
     * allocated on first touch and read as zero.
     */
    public static NativeMapping anonymous(long length, String what) {
        return map(length, LibC.PROT_READ | LibC.PROT_WRITE,
                LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_NORESERVE, -1, 0L, what);
    }

    /** A shared read-write mapping of {@code fd} from offset 0 (e.g. a vCPU's kvm_run). */
    public static NativeMapping shared(int fd, long length, String what) {
        return map(length, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0L, what);
    }

    /**
     * A read-write mapping of {@code length} bytes of the file {@code fd} from the page-aligned
     * {@code offset}. Shared: writes go to the file, and every shared mapping of it sees them.
     * Private: copy-on-write, reserving no swap ({@code MAP_NORESERVE}); reads see the file's
     * pages, the first write to a page gives this mapping its own copy, and the file never changes.
     */
    public static NativeMapping ofFile(int fd, long offset, long length, boolean shared, String what) {
        if ((offset & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("file offset 0x" + Long.toHexString(offset) + " is not 4 KiB aligned");
        }
        return map(length, LibC.PROT_READ | LibC.PROT_WRITE,
                shared ? LibC.MAP_SHARED : LibC.MAP_PRIVATE | LibC.MAP_NORESERVE, fd, offset, what);
    }

    /**
     * A read-only shared mapping of {@code length} bytes of the file {@code fd} from the page-aligned
     * {@code offset} ({@code PROT_READ}, {@code MAP_SHARED}): its pages are the file's page-cache
     * pages, shared with every other mapping of the file in any process, and nothing written through
     * it can exist. Its {@link #window windows} are read-only buffers. The file must stay at least
     * {@code offset + length} bytes long while it is mapped (an access past its end faults).
     */
    public static NativeMapping readOnlyFile(int fd, long offset, long length, String what) {
        if ((offset & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException("file offset 0x" + Long.toHexString(offset) + " is not 4 KiB aligned");
        }
        return map(length, LibC.PROT_READ, LibC.MAP_SHARED, fd, offset, what);
    }

    private static NativeMapping map(long length, int prot, int flags, int fd, long offset, String what) {
        if (length <= 0) {
            throw new IllegalArgumentException("mapping length must be positive: " + length);
        }
        long address = LibC.mmap(0L, length, prot, flags, fd, offset);
        if (address == LibC.MAP_FAILED) {
            int errno = Native.getLastError();
            throw new KvmApiException("mmap of " + length + " bytes for " + what, errno,
                    errno == Errno.ENOMEM ? "not enough address space or memory; lower the guest memory size"
                            : KvmApiException.hintFor(errno));
        }
        return new NativeMapping(address, length, (prot & LibC.PROT_WRITE) == 0, what);
    }

    /**
     * Replaces {@code [offset, offset + length)} of this mapping with a private, copy-on-write
     * mapping of {@code fd} from {@code fileOffset} ({@code MAP_PRIVATE | MAP_FIXED}): reads see the
     * file's pages without copying them, the first write to a page gives this mapping its own copy,
     * and the file never changes. The address range stays part of this mapping, so {@link #close()}
     * unmaps it with the rest. Offsets and length must be page aligned.
     *
     * @throws IllegalArgumentException for a range outside this mapping or not page aligned
     * @throws IllegalStateException for a read-only mapping (the overlay would make the range writable)
     * @throws KvmApiException if mmap fails (this mapping then still covers the range)
     */
    public void overlayCopyOnWrite(long offset, long length, int fd, long fileOffset) {
        if (readOnly) {
            throw new IllegalStateException(what + " is read-only: it takes no writable overlay");
        }
        if (offset < 0 || length <= 0 || offset > this.length || length > this.length - offset) {
            throw new IllegalArgumentException(String.format("range [0x%x, +0x%x) is outside %s", offset, length, this));
        }
        if (((offset | length | fileOffset) & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(String.format(
                    "overlay [0x%x, +0x%x) from file offset 0x%x is not 4 KiB aligned", offset, length, fileOffset));
        }
        if (!guard.enter()) {
            throw new KvmApiException("mmap over " + what + ": the mapping is closed", Errno.EBADF, "");
        }
        try {
            long at = LibC.mmap(address + offset, length, LibC.PROT_READ | LibC.PROT_WRITE,
                    LibC.MAP_PRIVATE | LibC.MAP_FIXED, fd, fileOffset);
            if (at == LibC.MAP_FAILED) {
                int errno = Native.getLastError();
                // the usual failures (bad fd, access mode) are found before the kernel unmaps anything, so
                // the old mapping stays; only an allocation failure after the unmap (Linux 6.1) leaves a hole
                throw new KvmApiException("mmap (MAP_FIXED) of " + length + " bytes over " + what, errno,
                        KvmApiException.hintFor(errno));
            }
            if (at != address + offset) {
                throw new IllegalStateException("mmap with MAP_FIXED returned another address: 0x" + Long.toHexString(at));
            }
        } finally {
            guard.exit();
        }
    }

    /**
     * Drops every page of the range ({@code madvise(MADV_DONTNEED)}): a private mapping of a file reads the file's pages again, anonymous memory reads
     * zero, a shared mapping is unchanged (its pages are the file's).
     *
     * @throws KvmApiException if madvise fails
     * @throws IllegalStateException if the mapping is closed or retired
     */
    public void dropPages() {
        dropPages(0, length);
    }

    /**
     * Like {@link #dropPages()}, for the page-aligned range {@code [offset, offset + count)} only: the pages
     * after it and before it keep their content.
     *
     * @throws IllegalArgumentException if the range is not a page-aligned part of this mapping
     */
    public void dropPages(long offset, long count) {
        requirePageRange(offset, count);
        if (!guard.enter()) {
            throw new IllegalStateException(what + " is closed");
        }
        try {
            if (LibC.madvise(address + offset, count, LibC.MADV_DONTNEED) != 0) {
                int errno = Native.getLastError();
                throw new KvmApiException("madvise(MADV_DONTNEED) of " + what, errno, KvmApiException.hintFor(errno));
            }
        } finally {
            guard.exit();
        }
    }

    /**
     * Copies the page-aligned range {@code [offset, offset + count)} of {@code source} to the same range of
     * this mapping (a native copy; no page is dropped or mapped anew, so pages this mapping already owns stay
     * where they are).
     *
     * @throws IllegalArgumentException if the range is not a page-aligned part of both mappings
     * @throws IllegalStateException if either mapping is closed or retired, or this one is read-only
     */
    public void copyPagesFrom(NativeMapping source, long offset, long count) {
        requirePageRange(offset, count);
        source.requirePageRange(offset, count);
        if (readOnly) {
            throw new IllegalStateException(what + " is read-only: nothing can be copied into it");
        }
        if (!guard.enter()) {
            throw new IllegalStateException(what + " is closed");
        }
        try {
            if (!source.guard.enter()) {
                throw new IllegalStateException(source.what + " is closed");
            }
            try {
                while (count > 0) {
                    int window = (int) (offset >>> WINDOW_SHIFT);
                    int within = (int) (offset & (WINDOW_SIZE - 1));
                    int n = (int) Math.min(count, windows[window].capacity() - within);
                    windows[window].put(within, source.windows[window], within, n);
                    offset += n;
                    count -= n;
                }
            } finally {
                source.guard.exit();
            }
        } finally {
            guard.exit();
        }
    }

    private void requirePageRange(long offset, long count) {
        if (offset < 0 || count <= 0 || offset > length || count > length - offset || ((offset | count) & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(String.format("range [0x%x, +0x%x) is not a page-aligned part of %s",
                    offset, count, this));
        }
    }

    /**
     * Lets the host kernel's same-page merging (KSM) merge the pages of {@code [offset, offset + count)} with equal
     * pages of any mergeable memory ({@code madvise(MADV_MERGEABLE)}); it does so only while the host runs KSM
     * ({@code /sys/kernel/mm/ksm/run}), and only for private pages (a shared mapping keeps the file's). A mapping made
     * later over part of the range (MAP_FIXED) does not inherit the advice.
     *
     * @return false if the host kernel has no KSM (madvise says EINVAL)
     * @throws KvmApiException if madvise fails otherwise
     * @throws IllegalStateException if the mapping is closed or retired
     */
    public boolean adviseMergeable(long offset, long count) {
        return adviseIfKnown(offset, count, LibC.MADV_MERGEABLE, "MADV_MERGEABLE"); // EINVAL: no CONFIG_KSM
    }

    /**
     * {@code madvise(advice)} on the page-aligned range {@code [offset, offset + count)} under the use guard: true when
     * the host took it, false when it says EINVAL (a kernel without the feature, or too old to know the advice).
     *
     * @throws KvmApiException if madvise fails otherwise
     * @throws IllegalStateException if the mapping is closed or retired
     */
    private boolean adviseIfKnown(long offset, long count, int advice, String adviceName) {
        requirePageRange(offset, count);
        if (!guard.enter()) {
            throw new IllegalStateException(what + " is closed");
        }
        try {
            if (LibC.madvise(address + offset, count, advice) == 0) {
                return true;
            }
            int errno = Native.getLastError();
            if (errno == Errno.EINVAL) {
                return false;
            }
            throw new KvmApiException("madvise(" + adviceName + ") of " + what, errno, KvmApiException.hintFor(errno));
        } finally {
            guard.exit();
        }
    }

    /**
     * Maps every page of {@code [offset, offset + count)} into this process now, as reads ({@code write} false:
     * {@code madvise(MADV_POPULATE_READ)}) or writes ({@code MADV_POPULATE_WRITE}: a private mapping of a file gets its
     * own copy of each page) would, so that a later access, KVM's included, finds the page mapped and takes no page
     * fault of the host's. Costs the page tables and, for writes, the copies.
     *
     * @return false if the host kernel cannot (madvise says EINVAL: Linux before 5.14)
     * @throws KvmApiException if madvise fails otherwise (out of memory, for one)
     * @throws IllegalStateException if the mapping is closed or retired
     */
    public boolean populate(long offset, long count, boolean write) {
        return write ? adviseIfKnown(offset, count, LibC.MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE")
                : adviseIfKnown(offset, count, LibC.MADV_POPULATE_READ, "MADV_POPULATE_READ");
    }

    /**
     * Tells the host whether this range may be backed by transparent huge pages
     * ({@code madvise(MADV_HUGEPAGE)} or {@code madvise(MADV_NOHUGEPAGE)}): with them a first touch
     * allocates 2 MiB at once (fewer TLB misses and page faults; more memory for a sparse user).
     * A mapping made later over part of the range (MAP_FIXED) does not inherit the advice.
     *
     * @return false if the host kernel has no transparent huge pages (madvise says EINVAL): then
     *         there is nothing to allow or forbid
     * @throws KvmApiException if madvise fails otherwise
     * @throws IllegalStateException if the mapping is closed or retired
     */
    public boolean adviseHugePages(boolean allowed) {
        return adviseHugePages(0, length, allowed);
    }

    /** Like {@link #adviseHugePages(boolean)}, for the page-aligned range {@code [offset, offset + count)} only. */
    public boolean adviseHugePages(long offset, long count, boolean allowed) {
        // EINVAL: a kernel built without CONFIG_TRANSPARENT_HUGEPAGE knows neither advice
        return allowed ? adviseIfKnown(offset, count, LibC.MADV_HUGEPAGE, "MADV_HUGEPAGE")
                : adviseIfKnown(offset, count, LibC.MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE");
    }

    public long address() {
        return address;
    }

    /** True for a read-only mapping ({@link #readOnlyFile}). */
    public boolean isReadOnly() {
        return readOnly;
    }

    public long length() {
        return length;
    }

    public UseGuard guard() {
        return guard;
    }

    /** Number of windows; window {@code i} covers {@code [i << WINDOW_SHIFT, ...)}. */
    public int windowCount() {
        return windows.length;
    }

    /**
     * The window with index {@code i}. Use it only with absolute get/put methods and only while
     * holding the guard; never keep it past {@link #close()}.
     */
    public ByteBuffer window(int i) {
        return windows[i];
    }

    public boolean isClosed() {
        return guard.isClosed();
    }

    /** Pages of 4 KiB that {@link #residentBytes()} asks mincore about per call (64 MiB). */
    private static final int MINCORE_PAGES = 16 * 1024;
    private static final long PAGE_SIZE = 4096;

    /**
     * How many bytes of this mapping are resident in host RAM now (pages touched and not swapped
     * out), from mincore(2). 0 once closed.
     *
     * @throws KvmApiException if mincore fails
     */
    public long residentBytes() {
        return residentBytes(0, length);
    }

    /**
     * Like {@link #residentBytes()}, for the page-aligned range {@code [from, from + count)} of this
     * mapping only.
     */
    public long residentBytes(long from, long count) {
        if (from < 0 || count < 0 || from > length || count > length - from || (from & (PAGE_SIZE - 1)) != 0) {
            throw new IllegalArgumentException(String.format("range [0x%x, +0x%x) is not a page-aligned part of %s",
                    from, count, this));
        }
        if (count == 0 || !guard.enter()) {
            return 0;
        }
        try {
            byte[] vector = new byte[(int) Math.min(MINCORE_PAGES, (count + PAGE_SIZE - 1) / PAGE_SIZE)];
            long resident = 0;
            for (long offset = from; offset < from + count; offset += (long) MINCORE_PAGES * PAGE_SIZE) {
                long chunk = Math.min((long) MINCORE_PAGES * PAGE_SIZE, from + count - offset);
                int pages = (int) ((chunk + PAGE_SIZE - 1) / PAGE_SIZE);
                if (LibC.mincore(address + offset, chunk, vector) != 0) {
                    int errno = Native.getLastError();
                    throw new KvmApiException("mincore of " + what, errno, KvmApiException.hintFor(errno));
                }
                for (int i = 0; i < pages; i++) {
                    resident += vector[i] & 1;
                }
            }
            return resident * PAGE_SIZE;
        } finally {
            guard.exit();
        }
    }

    /**
     * Makes the range inaccessible and gives its pages back to the host, keeping the addresses
     * taken: new users are refused and current ones are waited for (as by {@link #close()}), then
     * the range becomes {@code PROT_NONE} ({@code mprotect}) and its pages are dropped
     * ({@code madvise(MADV_DONTNEED)}). Any later access faults, including one the kernel makes on
     * behalf of a KVM memory slot that still points here (KVM_RUN then fails with EFAULT), and no
     * other mapping can be placed at these addresses until {@link #close()} unmaps them.
     *
     * <p>Why not {@code mmap(MAP_FIXED, PROT_NONE)} over the range: a MAP_FIXED mmap unmaps the old
     * range before it allocates the new one and, if that allocation fails (Linux 6.1's
     * mmap_region), returns with the range unmapped, open to the very reuse this step exists to
     * prevent; mprotect and madvise never leave a hole.
     * Idempotent; a no-op once closed.
     *
     * @throws KvmApiException if mprotect fails (part of the range may still be accessible then:
     *                         keep it mapped until nothing can reach it)
     */
    public void retire() {
        guard.close();
        release.retire();
    }

    /** True once {@link #retire()} has made the range inaccessible (and until {@link #close()}). */
    public boolean isRetired() {
        return release.isRetired();
    }

    /** Waits for current users, then unmaps (a retired range too). Idempotent. */
    @Override
    public void close() {
        guard.close();
        cleanable.clean();
    }

    @Override
    public String toString() {
        return String.format("%s [0x%x, +0x%x)", what, address, length);
    }

    /**
     * What happens to the address range: retired (inaccessible, still reserved) and finally
     * unmapped, each at most once and never a retire after the unmap (an mprotect there could hit
     * another mapping). Also the Cleaner's action.
     */
    private static final class Release implements Runnable {
        private final long address;
        private final long length;
        private final String what;
        private final UseGuard guard;
        private boolean retired;
        private boolean unmapped;

        Release(long address, long length, String what, UseGuard guard) {
            this.address = address;
            this.length = length;
            this.what = what;
            this.guard = guard;
        }

        synchronized void retire() {
            if (retired || unmapped) {
                return;
            }
            if (LibC.mprotect(address, length, LibC.PROT_NONE) != 0) {
                int errno = Native.getLastError();
                throw new KvmApiException("mprotect(PROT_NONE) of " + what, errno,
                        "the range stays mapped and may still be accessible");
            }
            retired = true;
            if (LibC.madvise(address, length, LibC.MADV_DONTNEED) != 0) {
                LOG.warn("madvise(MADV_DONTNEED) of {} failed: {}; its pages stay allocated until it is unmapped",
                        what, Errno.describe(Native.getLastError()));
            }
        }

        synchronized boolean isRetired() {
            return retired && !unmapped;
        }

        @Override
        public synchronized void run() {
            if (guard.close()) {
                LOG.warn("{} was never closed; unmapping it now", what);
            }
            unmapped = true;
            if (LibC.munmap(address, length) != 0) {
                LOG.warn("munmap of {} failed: {}", what, Errno.describe(Native.getLastError()));
            }
        }
    }
}
