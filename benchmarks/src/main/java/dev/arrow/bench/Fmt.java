package dev.arrow.bench;

import java.util.Locale;

/** How the report writes numbers and sizes: fixed decimals, "–" for a figure that does not exist. */
final class Fmt {
    private Fmt() {
    }

    /** {@code v} with {@code decimals} decimals; "–" for NaN or infinity. */
    static String number(double v, int decimals) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "–" : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /**
     * {@code v} to three significant digits, but no more than two decimals from 1 up and none from
     * 100 up: "123", "4.01", "0.00250"; "–" for NaN, infinity or a negative value.
     */
    static String significant(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v) || v < 0) {
            return "–";
        }
        if (v == 0) {
            return "0";
        }
        int magnitude = (int) Math.floor(Math.log10(v));
        return number(v, Math.max(0, 2 - magnitude));
    }

    /** A byte count in whole MiB or KiB where it is one, else in bytes: "8 MiB", "256 KiB", "1000 bytes". */
    static String bytes(long bytes) {
        if (bytes >= (1 << 20) && bytes % (1 << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        if (bytes >= (1 << 10) && bytes % (1 << 10) == 0) {
            return (bytes >> 10) + " KiB";
        }
        return bytes + " bytes";
    }
}
