package dev.arrow.kvm;

/**
 * The guest misbehaved (touched memory outside RAM and devices, sent a bad request, faulted the
 * CPU) and is stopped. The message says what the guest did, with addresses where known.
 */
public final class GuestFaultException extends KvmException {

    public GuestFaultException(String message) {
        super(message);
    }

    public GuestFaultException(String message, Throwable cause) {
        super(message, cause);
    }
}
