package dev.arrow.kvm;

/**
 * Base of the VMM's exceptions: something about KVM, the host or the guest stopped the VMM.
 * Subclasses say whose fault it is (host setup, the kernel API, or the guest).
 */
public class KvmException extends RuntimeException {

    public KvmException(String message) {
        super(message);
    }

    public KvmException(String message, Throwable cause) {
        super(message, cause);
    }
}
