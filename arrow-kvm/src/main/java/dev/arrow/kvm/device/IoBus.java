package dev.arrow.kvm.device;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Maps address ranges to {@link BusDevice}s and dispatches accesses to them: one instance for
 * port I/O, another for MMIO. Addresses and lengths are unsigned 64-bit values.
 *
 * <p>Ranges are registered while the VM is built; a zero-length range, one that wraps past
 * 2^64 or one that overlaps a registered range is rejected. An access is dispatched only if it
 * lies wholly inside one range, with the offset relative to that range's base. Anything else
 * (no device, or an access straddling a range's end) is not an error here: {@link #read} and
 * {@link #write} return {@code false} and the caller decides (ignore, read as all ones, or stop
 * the guest).
 *
 * <p>Thread-safe: lookups read an immutable snapshot and never lock; registration is
 * serialized.
 */
public final class IoBus {

    /** A device's range {@code [base, base + length)}. */
    public record Mapping(String name, long base, long length, BusDevice device) {
        /** Last address of the range (inclusive, unsigned). */
        public long last() {
            return base + length - 1;
        }

        boolean contains(long address) {
            return Long.compareUnsigned(address, base) >= 0 && Long.compareUnsigned(address, last()) <= 0;
        }

        @Override
        public String toString() {
            return String.format("%s [0x%x, 0x%x]", name, base, last());
        }
    }

    private final String busName;
    private volatile Mapping[] mappings = new Mapping[0];

    /** @param busName used in error messages, e.g. "pio" or "mmio" */
    public IoBus(String busName) {
        this.busName = busName;
    }

    /**
     * Registers {@code device} at {@code [base, base + length)}.
     *
     * @throws IllegalArgumentException for a zero-length or wrapping range, or an overlap with
     *     an existing range (both named in the message)
     */
    public synchronized void register(String name, long base, long length, BusDevice device) {
        if (device == null || name == null) {
            throw new IllegalArgumentException(busName + " bus: device and name are required");
        }
        if (length == 0) {
            throw new IllegalArgumentException(String.format(
                    "%s bus: %s at 0x%x has length 0", busName, name, base));
        }
        long last = base + length - 1;
        if (Long.compareUnsigned(last, base) < 0) {
            throw new IllegalArgumentException(String.format(
                    "%s bus: %s at 0x%x with length 0x%s wraps past the end of the address space",
                    busName, name, base, Long.toUnsignedString(length, 16)));
        }
        Mapping added = new Mapping(name, base, length, device);
        Mapping[] current = mappings;
        for (Mapping m : current) {
            boolean disjoint = Long.compareUnsigned(last, m.base()) < 0 || Long.compareUnsigned(base, m.last()) > 0;
            if (!disjoint) {
                throw new IllegalArgumentException(busName + " bus: " + added + " overlaps " + m);
            }
        }
        Mapping[] next = Arrays.copyOf(current, current.length + 1);
        next[current.length] = added;
        Arrays.sort(next, (a, b) -> Long.compareUnsigned(a.base(), b.base()));
        mappings = next;
    }

    /** The mapping whose range contains {@code address}. */
    public Optional<Mapping> find(long address) {
        Mapping[] m = mappings;
        int lo = 0;
        int hi = m.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(m[mid].base(), address) <= 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        // hi is now the last mapping with base <= address
        if (hi >= 0 && m[hi].contains(address)) {
            return Optional.of(m[hi]);
        }
        return Optional.empty();
    }

    /** All mappings in ascending address order. */
    public List<Mapping> mappings() {
        return List.of(mappings);
    }

    /**
     * Reads {@code data.length} bytes at {@code address} from the device there.
     *
     * @return false (and {@code data} untouched) if no single device covers the whole access
     */
    public boolean read(long address, byte[] data) {
        Mapping m = target(address, data);
        if (m == null) {
            return false;
        }
        m.device().read(address - m.base(), data);
        return true;
    }

    /**
     * Writes {@code data} at {@code address} to the device there.
     *
     * @return false (nothing written) if no single device covers the whole access
     */
    public boolean write(long address, byte[] data) {
        Mapping m = target(address, data);
        if (m == null) {
            return false;
        }
        m.device().write(address - m.base(), data);
        return true;
    }

    private Mapping target(long address, byte[] data) {
        if (data.length == 0) {
            return null;
        }
        long lastByte = address + data.length - 1;
        if (Long.compareUnsigned(lastByte, address) < 0) {
            return null;
        }
        Mapping m = find(address).orElse(null);
        if (m == null || Long.compareUnsigned(lastByte, m.last()) > 0) {
            return null;
        }
        return m;
    }

    @Override
    public String toString() {
        return busName + " bus " + Arrays.toString(mappings);
    }
}
