package dev.arrow.kvm;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * A {@link HostKvm} detection asked once per JVM once it found a usable {@code /dev/kvm}: the device, its
 * permissions and the loaded KVM module are host facts that do not change under a running VMM (the VMM holds
 * {@link Kvm#shared()} open from its first VM on). An unusable answer ({@link HostKvm#NONE},
 * {@link HostKvm#NO_PERMISSION}) is not kept: the next call detects again, so a {@code /dev/kvm} that appears, or
 * a permission that is granted, while the JVM runs is seen at the next start. Thread-safe: concurrent first calls
 * may each detect, and get the same answer.
 */
final class HostKvmMemo {
    private final Supplier<HostKvm> detector;
    private volatile HostKvm usable;

    /** Remembers what {@code detector} says once it says usable. */
    HostKvmMemo(Supplier<HostKvm> detector) {
        this.detector = Objects.requireNonNull(detector, "detector");
    }

    /** The kept usable answer, else what the detector says now. */
    HostKvm get() {
        HostKvm known = usable;
        if (known != null) {
            return known;
        }
        HostKvm now = detector.get();
        if (now.usable()) {
            usable = now;
        }
        return now;
    }
}
