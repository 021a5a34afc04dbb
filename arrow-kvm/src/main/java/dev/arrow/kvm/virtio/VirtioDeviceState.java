package dev.arrow.kvm.virtio;

/**
 * The guest-visible state of one {@link VirtioDevice}, captured by {@link VirtioDevice#state()}:
 * an immutable record nested in the device's class (e.g. {@code VirtioRng.State}) that holds
 * no host objects, and from which the device's own factory builds an identical device.
 */
public interface VirtioDeviceState {
}
