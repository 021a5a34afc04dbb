package dev.arrow.kvm.memory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The region map of a guest memory and the one bounds check all implementations share:
 * {@link #locate} finds the region that wholly contains an access or fails with a
 * {@link GuestMemoryException} naming the address, the length and what is wrong (negative
 * length, wrap-around, outside RAM, crossing a region's end). Immutable.
 */
public final class GuestRegions {
    private final MemoryRegion[] regions;
    private final long[] starts;
    private final long[] sizes;
    private final long totalSize;

    /** Sorts the regions by address and rejects overlapping ones. */
    public GuestRegions(List<MemoryRegion> regions) {
        if (regions == null || regions.isEmpty()) {
            throw new IllegalArgumentException("guest memory needs at least one region");
        }
        List<MemoryRegion> sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.comparing(MemoryRegion::start));
        long total = 0;
        for (int i = 0; i < sorted.size(); i++) {
            if (i > 0 && sorted.get(i - 1).overlaps(sorted.get(i))) {
                throw new IllegalArgumentException("guest memory regions " + sorted.get(i - 1) + " and "
                        + sorted.get(i) + " overlap");
            }
            total = Math.addExact(total, sorted.get(i).size());
        }
        this.regions = sorted.toArray(new MemoryRegion[0]);
        this.starts = new long[this.regions.length];
        this.sizes = new long[this.regions.length];
        for (int i = 0; i < this.regions.length; i++) {
            starts[i] = this.regions[i].start().value();
            sizes[i] = this.regions[i].size();
        }
        this.totalSize = total;
    }

    public int count() {
        return regions.length;
    }

    public MemoryRegion region(int index) {
        return regions[index];
    }

    /** The regions, sorted by address. */
    public List<MemoryRegion> asList() {
        return List.of(regions);
    }

    public long totalSize() {
        return totalSize;
    }

    /** Start address (unsigned value) of region {@code index}. */
    public long start(int index) {
        return starts[index];
    }

    /** True when {@code [address, address + length)} lies wholly inside one region. */
    public boolean contains(GuestAddress address, long length) {
        return find(address.value(), length) >= 0;
    }

    /**
     * The index of the region that wholly contains {@code [address, address + length)}.
     * A zero-length access is valid anywhere inside a region or at its end.
     *
     * @throws GuestMemoryException otherwise, saying why
     */
    public int locate(GuestAddress address, long length) {
        int index = find(address.value(), length);
        if (index >= 0) {
            return index;
        }
        throw new GuestMemoryException(address, length, reason(address.value(), length));
    }

    /** Region index, or -1. Allocation-free: this is the hot path of every guest access. */
    private int find(long address, long length) {
        if (length < 0) {
            return -1;
        }
        int i = floor(address);
        if (i < 0) {
            return -1;
        }
        long offset = address - starts[i];
        if (length == 0) {
            return Long.compareUnsigned(offset, sizes[i]) <= 0 ? i : -1;
        }
        // offset < size and length <= size - offset, all unsigned; this also rules out wrap-around
        if (Long.compareUnsigned(offset, sizes[i]) >= 0 || Long.compareUnsigned(length, sizes[i] - offset) > 0) {
            return -1;
        }
        return i;
    }

    /** Index of the last region starting at or below {@code address} (unsigned), or -1. */
    private int floor(long address) {
        int lo = 0;
        int hi = starts.length - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(starts[mid], address) <= 0) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    private String reason(long address, long length) {
        if (length < 0) {
            return "negative length";
        }
        if (length > 0 && Long.compareUnsigned(address + length - 1, address) < 0) {
            return "the range wraps around the end of the 64-bit address space";
        }
        int i = floor(address);
        if (i < 0 || Long.compareUnsigned(address - starts[i], sizes[i]) >= 0) {
            return "outside guest RAM " + describeRam();
        }
        long end = starts[i] + sizes[i];
        if (i + 1 < starts.length && starts[i + 1] == end) {
            return "crosses from RAM region " + regions[i] + " into region " + regions[i + 1];
        }
        return "runs past the end of RAM region " + regions[i];
    }

    private String describeRam() {
        StringBuilder sb = new StringBuilder();
        for (MemoryRegion r : regions) {
            sb.append(sb.length() == 0 ? "" : " ").append(r);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "GuestRegions" + describeRam();
    }
}
