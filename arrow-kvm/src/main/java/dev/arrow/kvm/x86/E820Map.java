package dev.arrow.kvm.x86;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The BIOS-style memory map handed to Linux in the zero page: a validated list of non-empty,
 * sorted, non-overlapping ranges, at most {@link #MAX_ENTRIES}.
 *
 * <p>{@link #forRam(long)} gives Arrow's map: RAM below the EBDA, the reserved ISA hole
 * 0x9fc00..0x100000, RAM from 1 MiB up to the MMIO hole (3 GiB) and RAM above 4 GiB for the
 * rest. Immutable.
 */
public final class E820Map {

    /** E820 entries that fit in struct boot_params (E820_MAX_ENTRIES_ZEROPAGE). */
    public static final int MAX_ENTRIES = 128;

    /** E820 range types (the values Linux's e820 code uses). */
    public enum Type {
        RAM(1), RESERVED(2), ACPI(3), NVS(4), UNUSABLE(5);

        private final int code;

        Type(int code) {
            this.code = code;
        }

        /** The numeric type written into struct boot_e820_entry. */
        public int code() {
            return code;
        }
    }

    /** One range {@code [address, address + size)}. */
    public record Entry(long address, long size, Type type) {
        public Entry {
            if (type == null) {
                throw new IllegalArgumentException("e820 entry type is null");
            }
        }

        /** Exclusive end; only valid for entries that passed validation. */
        public long end() {
            return address + size;
        }

        @Override
        public String toString() {
            return String.format("[0x%x-0x%x) %s", address, address + size, type);
        }
    }

    private final List<Entry> entries;

    private E820Map(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    /** The entries in ascending address order. */
    public List<Entry> entries() {
        return entries;
    }

    /** Total bytes of type RAM. */
    public long ramBytes() {
        return entries.stream().filter(e -> e.type() == Type.RAM).mapToLong(Entry::size).sum();
    }

    /** Arrow's memory map for a VM with {@code ramSize} bytes laid out by {@link Layout#ramRegions}. */
    public static E820Map forRam(long ramSize) {
        Builder b = builder()
                .add(0, Layout.EBDA_START, Type.RAM)
                .add(Layout.EBDA_START, Layout.HIGH_MEMORY_START - Layout.EBDA_START, Type.RESERVED);
        for (Layout.RamRegion r : Layout.ramRegions(ramSize)) {
            long start = Math.max(r.start(), Layout.HIGH_MEMORY_START);
            if (r.end() > start) {
                b.add(start, r.end() - start, Type.RAM);
            }
        }
        return b.build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Collects entries in any order; {@link #build()} sorts and validates them. */
    public static final class Builder {
        private final List<Entry> entries = new ArrayList<>();

        private Builder() {}

        public Builder add(long address, long size, Type type) {
            entries.add(new Entry(address, size, type));
            return this;
        }

        /**
         * @throws IllegalArgumentException on an empty, negative or wrapping range, an overlap
         *     or more than {@link #MAX_ENTRIES} entries, naming the offending entries
         */
        public E820Map build() {
            if (entries.isEmpty()) {
                throw new IllegalArgumentException("e820 map is empty");
            }
            if (entries.size() > MAX_ENTRIES) {
                throw new IllegalArgumentException(
                        "e820 map has " + entries.size() + " entries, the zero page holds " + MAX_ENTRIES);
            }
            List<Entry> sorted = new ArrayList<>(entries);
            sorted.sort(Comparator.comparingLong(Entry::address));
            for (Entry e : sorted) {
                if (e.address() < 0 || e.size() <= 0 || e.address() + e.size() < e.address()) {
                    throw new IllegalArgumentException(String.format(
                            "e820 entry at 0x%x with size %d is empty or out of range", e.address(), e.size()));
                }
            }
            for (int i = 1; i < sorted.size(); i++) {
                Entry prev = sorted.get(i - 1);
                Entry cur = sorted.get(i);
                if (cur.address() < prev.end()) {
                    throw new IllegalArgumentException("e820 entries overlap: " + prev + " and " + cur);
                }
            }
            return new E820Map(sorted);
        }
    }

    @Override
    public String toString() {
        return "E820Map" + entries;
    }
}
