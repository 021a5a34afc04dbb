package dev.arrow.kvm.device;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.MemoryRegion;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MMIO face of guest memory that KVM maps read-only (a memory slot with KVM_MEM_READONLY): the
 * guest reads such memory directly, without exits, but each write exits to the VMM as an MMIO write
 * and arrives here, relative to the range's start. Writes are dropped (the memory, and the file
 * behind it, never change) and counted; the first {@link #LOGGED_WRITES} are logged at WARN, then
 * one line says the rest are only counted. A read arrives only in a case KVM does not serve itself,
 * and is answered from the memory. Thread-safe.
 */
public final class ReadOnlyMemory implements BusDevice {
    private static final Logger LOG = LoggerFactory.getLogger(ReadOnlyMemory.class);
    /** Refused writes logged per device; the rest are counted only. */
    public static final int LOGGED_WRITES = 8;

    private final String name;
    private final GuestMemory memory;
    private final MemoryRegion region;
    private final AtomicLong refusedWrites = new AtomicLong();

    /**
     * @param name   names the range in log lines (e.g. "pmem image 0 (/var/cache/app.erofs)")
     * @param memory the read-only memory behind the range
     * @param region the range as registered on the bus
     * @throws IllegalArgumentException if {@code memory} does not hold all of {@code region}
     */
    public ReadOnlyMemory(String name, GuestMemory memory, MemoryRegion region) {
        if (!memory.isValid(region.start(), region.size())) {
            throw new IllegalArgumentException(name + ": the memory given does not hold " + region);
        }
        this.name = name;
        this.memory = memory;
        this.region = region;
    }

    @Override
    public void read(long offset, byte[] data) {
        memory.read(region.start().plus(offset), data, 0, data.length);
    }

    @Override
    public void write(long offset, byte[] data) {
        long count = refusedWrites.incrementAndGet();
        if (count <= LOGGED_WRITES) {
            GuestAddress at = region.start().plus(offset);
            LOG.warn("{}: the guest wrote {} bytes at {} in read-only memory {}; the write is dropped{}", name,
                    data.length, at, region, count == LOGGED_WRITES ? " (further writes are counted, not logged)" : "");
        }
    }

    /** Guest writes refused so far. */
    public long refusedWrites() {
        return refusedWrites.get();
    }

    @Override
    public String toString() {
        return name + " " + region + " (read-only)";
    }
}
