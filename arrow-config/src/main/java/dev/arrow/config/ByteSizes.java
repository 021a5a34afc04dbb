package dev.arrow.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and formats byte sizes written as {@code "64MiB"}, {@code "1GiB"}, {@code "512KiB"},
 * {@code "4096B"} or a plain byte count {@code "4096"}. Units are binary (1 KiB = 1024 B);
 * decimal units such as {@code "MB"} are rejected so that nobody gets 4.6% less than they meant.
 */
public final class ByteSizes {

    private static final Pattern SIZE = Pattern.compile("([0-9]+) ?([A-Za-z]*)");

    private ByteSizes() {
    }

    /**
     * Parses a size.
     *
     * @throws IllegalArgumentException with a message naming the problem and the accepted forms
     */
    public static long parse(String text) {
        Matcher m = SIZE.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("\"" + text + "\" is not a size; write a whole number"
                    + " of bytes or a number with a unit, e.g. \"64MiB\", \"512KiB\", \"1GiB\"");
        }
        String digits = m.group(1);
        String symbol = m.group(2);
        SizeUnit unit = symbol.isEmpty() ? SizeUnit.B : unitOf(text, symbol);
        long amount;
        try {
            amount = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + text + "\" does not fit in a 64-bit byte count");
        }
        try {
            return Math.multiplyExact(amount, unit.bytes());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("\"" + text + "\" does not fit in a 64-bit byte count");
        }
    }

    private static SizeUnit unitOf(String text, String symbol) {
        for (SizeUnit unit : SizeUnit.values()) {
            if (unit.symbol().equals(symbol)) {
                return unit;
            }
        }
        String hint = "";
        String upper = symbol.toUpperCase(Locale.ROOT);
        if (upper.length() <= 2 && !upper.isEmpty() && "KMGT".indexOf(upper.charAt(0)) >= 0) {
            hint = " (sizes are binary: write \"" + upper.charAt(0) + "iB\")";
        }
        throw new IllegalArgumentException("\"" + text + "\" has an unknown unit \"" + symbol + "\"" + hint
                + "; use B, KiB, MiB, GiB or TiB");
    }

    /**
     * Formats a size with the largest unit that represents it exactly, e.g. {@code 67108864 -> "64MiB"},
     * {@code 1000 -> "1000B"}. {@link #parse(String)} reads the result back to the same value.
     */
    public static String format(long bytes) {
        SizeUnit[] units = SizeUnit.values();
        for (int i = units.length - 1; i > 0; i--) {
            long unit = units[i].bytes();
            if (bytes != 0 && bytes % unit == 0) {
                return (bytes / unit) + units[i].symbol();
            }
        }
        return bytes + SizeUnit.B.symbol();
    }
}
