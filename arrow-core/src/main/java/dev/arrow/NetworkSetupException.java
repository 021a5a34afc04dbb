package dev.arrow;

import java.util.Objects;

/**
 * The arrow's network could not be set up on the host: passt is missing, a forwarded host port
 * is taken, a tap device is missing or not accessible. {@link #reason()} says which, for code that
 * reacts (retry on another port, skip without passt); the message names the problem and the fix.
 * Nothing the failed attempt started is left running.
 */
public class NetworkSetupException extends ArrowException {

    private static final long serialVersionUID = 1L;

    /** What failed. */
    public enum Reason {
        /** passt (or util-linux's {@code setpriv}, which starts it) is not installed or not executable. */
        PASST_MISSING,
        /** passt started but did not come up; its last lines are in the message. */
        PASST_FAILED_TO_START,
        /** A host port to forward is taken, or this host does not let it be bound. */
        PORT_IN_USE,
        /** The host address a forward is to listen on is not an address of this host. */
        BIND_ADDRESS,
        /** The host has no interface with a default route (passt copies its set-up from it). */
        NO_HOST_ROUTE,
        /** The TAP device (or {@code /dev/net/tun}) does not exist, or the interface is not a TAP device. */
        TAP_MISSING,
        /** Not allowed to open {@code /dev/net/tun} or to attach to the TAP device. */
        TAP_PERMISSION,
        /** The TAP device is attached to another process. */
        TAP_BUSY,
        /** Any other failure of a system call or of I/O while setting up (the capture file's too). */
        IO
    }

    private final Reason reason;

    public NetworkSetupException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public NetworkSetupException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** What failed. */
    public Reason reason() {
        return reason;
    }
}
