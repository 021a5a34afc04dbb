package dev.arrow.kvm.virtio;

/**
 * The guest broke the virtio rules: a malformed descriptor chain, an index or length out of range,
 * a queue placed outside guest RAM, a protocol message a device cannot accept. This is the only
 * exception virtio device code lets escape for anything the guest controls; the transport catches
 * it, puts the device into the failed state (DEVICE_NEEDS_RESET plus a configuration-change
 * interrupt) and reports it to its {@link GuestErrorListener}. The host is never at risk: the
 * access that would have been wrong is not made.
 */
public final class VirtioGuestException extends RuntimeException {

    public VirtioGuestException(String message) {
        super(message);
    }

    public VirtioGuestException(String message, Throwable cause) {
        super(message, cause);
    }
}
