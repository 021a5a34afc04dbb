package dev.arrow.kvm.memory;

import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.sys.NativeMapping;
import dev.arrow.kvm.x86.Layout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Guest RAM in anonymous host mappings ({@code MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE}):
 * one mapping per region, pages allocated on first touch. The VM registers each region as a
 * KVM memory slot ({@code Vm.registerMemory}); this object owns the mappings and unmaps them on
 * {@link #close()}, which waits for accesses in flight and makes later ones fail. Close the VM
 * (or remove its slots) first.
 */
public final class MmapGuestMemory extends RegionBackedMemory implements AutoCloseable {
    private static final int WINDOW_SHIFT = NativeMapping.WINDOW_SHIFT;
    private static final long WINDOW_MASK = NativeMapping.WINDOW_SIZE - 1;

    private final NativeMapping[] mappings;

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

    public boolean isClosed() {
        return mappings[0].isClosed();
    }

    /** Bytes of guest RAM resident in host memory now (touched pages, all regions); 0 once closed. */
    public long residentBytes() {
        long sum = 0;
        for (NativeMapping m : mappings) {
            sum += m.residentBytes();
        }
        return sum;
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
