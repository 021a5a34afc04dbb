package dev.arrow.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and formats durations written as {@code "30s"}, {@code "500ms"}, {@code "2m"},
 * {@code "1h30m"}: one or more whole numbers, each followed by a unit out of
 * {@code h, m, s, ms, us, ns}.
 */
public final class Durations {

    private static final Pattern PART = Pattern.compile("([0-9]+)(h|ms|m|s|us|ns)");
    private static final String FORMS = "write a whole number with a unit h, m, s, ms, us or ns,"
            + " e.g. \"30s\", \"500ms\", \"1h30m\"";

    private Durations() {
    }

    /**
     * Parses a duration.
     *
     * @throws IllegalArgumentException with a message naming the problem and the accepted forms
     */
    public static Duration parse(String text) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException("\"\" is not a duration; " + FORMS);
        }
        Matcher m = PART.matcher(text);
        Duration total = Duration.ZERO;
        int at = 0;
        try {
            while (at < text.length()) {
                if (!m.find(at) || m.start() != at) {
                    throw new IllegalArgumentException("\"" + text + "\" is not a duration; " + FORMS);
                }
                long amount = Long.parseLong(m.group(1));
                total = total.plus(of(amount, m.group(2)));
                at = m.end();
            }
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("\"" + text + "\" is too long a duration");
        }
        return total;
    }

    private static Duration of(long amount, String unit) {
        switch (unit) {
            case "h": return Duration.ofHours(amount);
            case "m": return Duration.ofMinutes(amount);
            case "s": return Duration.ofSeconds(amount);
            case "ms": return Duration.ofMillis(amount);
            case "us": return Duration.ofNanos(Math.multiplyExact(amount, 1000L));
            case "ns": return Duration.ofNanos(amount);
            default: throw new IllegalStateException("unit " + unit);
        }
    }

    /**
     * Formats a non-negative duration with the largest unit that represents it exactly, e.g.
     * {@code "30s"}, {@code "500ms"}, {@code "90m"}; {@link #parse(String)} reads it back to the same value.
     *
     * @throws IllegalArgumentException if the duration is negative
     */
    public static String format(Duration duration) {
        if (duration.isNegative()) {
            throw new IllegalArgumentException("negative duration " + duration + " has no text form");
        }
        if (duration.getNano() == 0) {
            long s = duration.getSeconds();
            if (s != 0 && s % 3600 == 0) {
                return s / 3600 + "h";
            }
            if (s != 0 && s % 60 == 0) {
                return s / 60 + "m";
            }
            return s + "s";
        }
        int nanos = duration.getNano();
        long s = duration.getSeconds();
        String head = s == 0 ? "" : s + "s";
        if (nanos % 1_000_000 == 0) {
            return head + nanos / 1_000_000 + "ms";
        }
        if (nanos % 1_000 == 0) {
            return head + nanos / 1_000 + "us";
        }
        return head + nanos + "ns";
    }
}
