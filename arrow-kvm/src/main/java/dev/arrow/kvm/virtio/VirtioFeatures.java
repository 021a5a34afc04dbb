package dev.arrow.kvm.virtio;

/**
 * Feature bits shared by all virtio devices (virtio 1.x section 6, "Reserved Feature Bits"), as
 * bit masks of the 64-bit feature word. Device-specific bits (0..23) are defined by each device.
 */
public final class VirtioFeatures {

    private VirtioFeatures() {}

    /** The driver may use indirect descriptor tables (VIRTIO_F_INDIRECT_DESC, bit 28). */
    public static final long INDIRECT_DESC = 1L << 28;
    /** used_event / avail_event notification suppression (VIRTIO_F_EVENT_IDX, bit 29). */
    public static final long EVENT_IDX = 1L << 29;
    /** A modern (virtio 1.x) device; required by the virtio-mmio version 2 transport (bit 32). */
    public static final long VERSION_1 = 1L << 32;

    /** True when every bit of {@code feature} is set in {@code features}. */
    public static boolean has(long features, long feature) {
        return (features & feature) == feature;
    }
}
