package dev.arrow.kvm;

/** {@code /dev/kvm} exists but this process may not open it. */
public final class KvmPermissionException extends KvmException {

    public KvmPermissionException(String message) {
        super(message);
    }
}
