package dev.arrow.kvm;

/** {@code /dev/kvm} exists but this process may not open it. */
public final class KvmAccessDeniedException extends KvmException {

    public KvmAccessDeniedException(String message) {
        super(message);
    }
}
