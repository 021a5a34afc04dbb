package dev.arrow.config;

/**
 * Binary units of memory and file sizes (1 KiB = 1024 B). Meant for static import:
 * {@code memory(64, MiB)}.
 */
public enum SizeUnit {
    B(1L),
    KiB(1L << 10),
    MiB(1L << 20),
    GiB(1L << 30),
    TiB(1L << 40);

    private final long bytes;

    SizeUnit(long bytes) {
        this.bytes = bytes;
    }

    /** Bytes in one unit. */
    public long bytes() {
        return bytes;
    }

    /** The unit as written in sizes, e.g. {@code "MiB"}. */
    public String symbol() {
        return name();
    }

    /**
     * {@code amount} of this unit in bytes.
     *
     * @throws IllegalArgumentException if the result does not fit in a {@code long}
     */
    public long toBytes(long amount) {
        try {
            return Math.multiplyExact(amount, bytes);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(
                    amount + symbol() + " does not fit in a 64-bit byte count; use a smaller size", e);
        }
    }
}
