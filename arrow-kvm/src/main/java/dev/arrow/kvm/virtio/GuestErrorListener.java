package dev.arrow.kvm.virtio;

/**
 * Told when a virtio device stops because its guest broke the rules. The VMM decides what follows
 * (log it, stop the VM with the reason). Called on the thread that found the error, with the
 * transport's lock held: record the error and return, do not call back into the transport.
 */
@FunctionalInterface
public interface GuestErrorListener {

    void guestError(String deviceName, VirtioGuestException error);

    /** A listener that ignores reports (the transport still logs them). */
    GuestErrorListener NONE = (name, error) -> { };
}
