package dev.arrow.image.init;

/**
 * A soft and a hard resource limit; {@link #UNLIMITED} (-1) stands for RLIM_INFINITY.
 * The soft limit may not exceed the hard one.
 */
public record ResourceLimit(long soft, long hard) {
    public static final long UNLIMITED = -1;

    public ResourceLimit {
        if (soft < UNLIMITED || hard < UNLIMITED)
            throw new InvalidLaunchSpecException("resource limit " + soft + "/" + hard
                    + " is negative: pass a value >= 0 or ResourceLimit.UNLIMITED");
        if (compare(soft, hard) > 0)
            throw new InvalidLaunchSpecException("soft resource limit " + text(soft) + " is above the hard limit " + text(hard)
                    + ": lower the soft limit or raise the hard one");
    }

    /** Soft and hard limit both {@code value}. */
    public static ResourceLimit of(long value) {
        return new ResourceLimit(value, value);
    }

    public static ResourceLimit of(long soft, long hard) {
        return new ResourceLimit(soft, hard);
    }

    public static ResourceLimit unlimited() {
        return new ResourceLimit(UNLIMITED, UNLIMITED);
    }

    private static int compare(long a, long b) {
        if (a == b) return 0;
        if (a == UNLIMITED) return 1;
        if (b == UNLIMITED) return -1;
        return Long.compare(a, b);
    }

    /** Decimal or {@code unlimited}, as written in the spec file. */
    static String text(long v) {
        return v == UNLIMITED ? "unlimited" : Long.toString(v);
    }
}
