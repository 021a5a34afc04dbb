package dev.arrow.kvm.memory;

import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.sys.NativeMapping;
import dev.arrow.kvm.x86.Layout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

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
 */
public final class MmapGuestMemory extends RegionBackedMemory implements AutoCloseable {
    private static final int WINDOW_SHIFT = NativeMapping.WINDOW_SHIFT;
    private static final long WINDOW_MASK = NativeMapping.WINDOW_SIZE - 1;

    private final NativeMapping[] mappings;
    /** Copy-on-write file ranges; left out of {@link #residentBytes()}. */
    private final List<FileRange> fileBacked = new CopyOnWriteArrayList<>();

    private record FileRange(int region, long offset, long length) {
        long end() {
            return offset + length;
        }
    }

    /** A host view of one region: where KVM finds it in this process. */
    public record HostRegion(MemoryRegion region, long hostAddress) {
    }

    private MmapGuestMemory(GuestRegions regions, NativeMapping[] mappings) {
        super(regions);
        this.mappings = mappings;
    }

    /** Maps the given (non-overlapping, page-aligned) regions. */
    public static MmapGuestMemory create(List<MemoryRegion> regionList) {
        GuestRegions regions = new GuestRegions(regionList);
        NativeMapping[] mappings = new NativeMapping[regions.count()];
        try {
            for (int i = 0; i < mappings.length; i++) {
                MemoryRegion r = regions.region(i);
                if ((r.start().value() & (Layout.PAGE_SIZE - 1)) != 0 || (r.size() & (Layout.PAGE_SIZE - 1)) != 0) {
                    throw new IllegalArgumentException("guest memory region " + r + " is not 4 KiB aligned");
                }
                mappings[i] = NativeMapping.anonymous(r.size(), "guest RAM " + r);
            }
        } catch (RuntimeException e) {
            for (NativeMapping m : mappings) {
                if (m != null) {
                    m.close();
                }
            }
            throw e;
        }
        return new MmapGuestMemory(regions, mappings);
    }

    /**
     * Guest RAM of {@code ramSize} bytes laid out as {@link Layout#ramRegions}: below the MMIO
     * hole at 3 GiB, and the rest from 4 GiB up.
     */
    public static MmapGuestMemory forRam(long ramSize) {
        List<MemoryRegion> list = new ArrayList<>();
        for (Layout.RamRegion r : Layout.ramRegions(ramSize)) {
            list.add(MemoryRegion.of(r.start(), r.size()));
        }
        return create(list);
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
     */
    public synchronized void mapCopyOnWrite(GuestAddress start, long length, int fd, long fileOffset) {
        int r = regions.locate(start, length);
        FileRange range = new FileRange(r, start.value() - regions.start(r), length);
        for (FileRange f : fileBacked) {
            if (f.region() == r && range.offset() < f.end() && f.offset() < range.end()) {
                throw new IllegalArgumentException("guest range " + start + " +0x" + Long.toHexString(length)
                        + " is already backed by a file");
            }
        }
        mappings[r].overlayCopyOnWrite(range.offset(), length, fd, fileOffset);
        fileBacked.add(range);
    }

    /**
     * Bytes of guest RAM resident in host memory now (touched pages, all regions); 0 once closed.
     * Ranges backed by a file through {@link #mapCopyOnWrite} are left out: their pages belong to
     * the file (shared by every VM mapping it) until the guest writes them.
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

    /** Unmaps all regions, after accesses in flight have finished. Idempotent. */
    @Override
    public void close() {
        for (NativeMapping m : mappings) {
            m.close();
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
