package dev.arrow.kvm.net;

import dev.arrow.kvm.KvmException;
import java.util.Objects;

/**
 * The host side of a guest's network could not be set up: passt could not be started or reached,
 * a forwarded port is unusable, the TAP device cannot be attached, or the capture file cannot be
 * written. The message names the problem and the fix; {@link #reason()} says which it was, for
 * callers that map it to their own error types. Whatever the failed set-up had started is already
 * stopped when this is thrown.
 */
public final class NetworkBackendException extends KvmException {

    /** What failed, as far as the backend can tell. */
    public enum Reason {
        /** passt, or util-linux's setpriv that starts it, is not installed or not executable. */
        PASST_MISSING,
        /** passt started but did not come up (it exited, or did not open its socket in time; its log is in the message). */
        PASST_FAILED_TO_START,
        /** A host port to forward is taken by another socket, or this host does not let passt bind it. */
        PORT_IN_USE,
        /** The host address a forward is to listen on is not an address of this host. */
        BIND_ADDRESS,
        /** The host has no interface with a default route, which passt copies its set-up from. */
        NO_HOST_ROUTE,
        /** The TAP device (or /dev/net/tun) does not exist, or the interface is no TAP device. */
        TAP_MISSING,
        /** Not allowed to open /dev/net/tun or to attach to the TAP device. */
        TAP_PERMISSION,
        /** The TAP device is attached to another process. */
        TAP_BUSY,
        /** Any other failure of a system call or of I/O while setting up (the capture file's too). */
        IO
    }

    private final Reason reason;

    public NetworkBackendException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public NetworkBackendException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
