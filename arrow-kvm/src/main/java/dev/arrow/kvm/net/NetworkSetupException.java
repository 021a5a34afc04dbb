package dev.arrow.kvm.net;

import dev.arrow.kvm.KvmException;
import java.util.Objects;

/**
 * A network backend could not be set up: the message names the problem and the fix (a missing
 * program, a port in use, a missing TAP device, missing permissions). Whatever the failed setup
 * had started is already stopped when this is thrown.
 */
public final class NetworkSetupException extends KvmException {

    /** What went wrong, for callers that map it to their own error types. */
    public enum Problem {
        /** The user-mode network program (passt) is not installed or not executable. */
        BACKEND_MISSING,
        /** A host port to forward is taken by another socket. */
        PORT_IN_USE,
        /** The host address a forward is to listen on is not an address of this host. */
        BIND_ADDRESS,
        /** The host has no interface with a default route, which passt copies its set-up from. */
        NO_HOST_ROUTE,
        /** The backend program started but did not come up (its log is in the message). */
        BACKEND_FAILED,
        /** The TAP device does not exist (or is not a TAP device). */
        TAP_MISSING,
        /** Not allowed to open /dev/net/tun or to attach to the TAP device. */
        TAP_PERMISSION,
        /** The TAP device is attached to another process. */
        TAP_BUSY,
        /** Any other failure of a system call or I/O while setting up. */
        IO
    }

    private final Problem problem;

    public NetworkSetupException(Problem problem, String message) {
        super(message);
        this.problem = Objects.requireNonNull(problem, "problem");
    }

    public NetworkSetupException(Problem problem, String message, Throwable cause) {
        super(message, cause);
        this.problem = Objects.requireNonNull(problem, "problem");
    }

    public Problem problem() {
        return problem;
    }
}
