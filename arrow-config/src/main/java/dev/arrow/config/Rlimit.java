package dev.arrow.config;

import java.util.Objects;

/**
 * A resource limit applied to the guest program before it starts. Values are checked when the spec
 * is built (non-negative, soft not above hard).
 *
 * @param resource the limited resource
 * @param soft     the soft limit, or {@link #UNLIMITED}
 * @param hard     the hard limit, or {@link #UNLIMITED}
 */
public record Rlimit(RlimitResource resource, long soft, long hard) {

    /** No limit ({@code RLIM_INFINITY}). */
    public static final long UNLIMITED = Long.MAX_VALUE;

    public Rlimit {
        Objects.requireNonNull(resource, "resource");
    }
}
