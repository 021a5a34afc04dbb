package dev.arrow.spi;

import dev.arrow.ArrowOutcome;

import dev.arrow.VmStatistics;
import dev.arrow.config.PortForward;

import java.io.OutputStream;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * One running microVM, as seen by {@link dev.arrow.ArrowProcess}, which owns it. Created by
 * {@link ArrowLauncher#launch}; implemented by a backend. All methods are thread-safe.
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link #outcome()} completes exactly once, normally, when the guest has ended: with what the
 *       guest's init reported ({@link ArrowOutcome.Exited}, {@link ArrowOutcome.Signaled},
 *       {@link ArrowOutcome.StartFailed}), with {@link ArrowOutcome.GuestCrashed} if the guest ended
 *       otherwise, or with {@link ArrowOutcome.Destroyed} after {@link #kill()} / {@link #close()}.
 *       Backends never report {@link ArrowOutcome.TimedOut}: timeouts are enforced by arrow-core.
 *       An exceptional completion is treated as {@code GuestCrashed}.</li>
 *   <li>All guest output is written to the sinks, and every copy of {@link dev.arrow.config.ArrowSpec#copyOutOnExit()}
 *       delivered to its {@link ExitCopySink}, before {@link #outcome()} completes.</li>
 *   <li>arrow-core runs none of its own work on the thread that completes the outcome.</li>
 * </ul>
 */
public interface MicroVmSession extends AutoCloseable {

    /**
     * The guest program's stdin. {@code write} may block while the guest has not consumed earlier input;
     * it throws an {@link java.io.IOException} once the guest has ended or the session is closed.
     * {@code close()} ends the input. Always returns the same stream.
     */
    OutputStream stdin();

    /** Completes when the guest has ended; see the class contract. Always returns the same future. */
    CompletableFuture<ArrowOutcome> outcome();

    /**
     * The VM's counters now (exits by kind, resident guest memory), or empty if the backend keeps
     * none. Still answers after the guest ended and after {@link #close()} (exit counts are final then).
     */
    default Optional<VmStatistics> statistics() {
        return Optional.empty();
    }

    /**
     * The host port each of the spec's forwards listens on, once the guest's network is up: for a forward
     * with host port {@link PortForward#ANY_FREE_PORT} the port the backend chose. The default reports none;
     * arrow-core then takes the spec's own ports (and cannot answer for a forward asking for a free port).
     */
    default Map<PortForward, Integer> hostPorts() {
        return Map.of();
    }

    /**
     * Sends {@code signal} (1..64, already checked) to the guest program through the guest's init and returns at
     * once; no effect after the guest ended. The default cannot.
     *
     * @throws UnsupportedOperationException if this backend cannot deliver signals to the program
     */
    default void signal(int signal) {
        throw new UnsupportedOperationException(getClass().getName() + " cannot send signals to the guest program");
    }

    /**
     * Copies {@code guestPath} (a file, or a directory with everything below it) out of the running guest into
     * {@code receiver}, allowing at most {@code maxBytes} bytes of file content (arrow-core's receiver enforces the
     * bound too); returns at once. Several copies may be asked for at once, from any thread.
     *
     * @return completes when the receiver has had the whole copy; exceptionally with a
     *         {@link java.nio.file.NoSuchFileException} naming {@code guestPath} if the guest has no such path, a
     *         {@link dev.arrow.GuestFileTooLargeException} past the bound, another {@link java.io.IOException} for what
     *         else failed in the guest or the receiver, or an {@link java.io.EOFException} if the guest stopped serving
     *         copies (the program ended) before the copy was whole
     * @throws UnsupportedOperationException if this backend cannot copy files out of the guest (the default)
     */
    default CompletableFuture<Void> copyFromGuest(String guestPath, long maxBytes,
            GuestFileReceiver receiver) {
        throw new UnsupportedOperationException(getClass().getName() + " cannot copy files out of the guest");
    }

    /** Whether {@link #stop()} can ask the program to terminate (e.g. init is able to deliver SIGTERM). */
    boolean supportsGracefulStop();

    /**
     * Asks the guest program to terminate (SIGTERM through the guest's init) and returns at once. The
     * outcome is whatever the program then does. No effect after the guest ended or if unsupported.
     */
    void stop();

    /**
     * Stops the VM at once: the vCPUs stop running guest code. Returns without waiting for the VM to be
     * torn down. {@link #outcome()} completes with {@link ArrowOutcome.Destroyed} unless it had completed
     * already. No effect after the guest ended.
     */
    void kill();

    /**
     * Releases everything the session holds (file descriptors, guest memory, threads), killing the VM
     * first if it is still running. When it returns, {@link #outcome()} is complete, the VM no longer runs
     * guest code and the sinks receive no more writes. A backend may leave the rest of the release (joining
     * threads, unmapping memory, closing fds) to a thread of its own, so that close returns quickly:
     * {@link #released()} completes when it is done. Idempotent.
     */
    @Override
    void close();

    /**
     * Completes once everything {@link #close()} releases has been released: when close returns for a backend
     * that releases on the closing thread (the default), later for one that leaves the release to a thread of
     * its own. Never completes before close was called; never completes exceptionally (a failed release is the
     * backend's to log).
     */
    default CompletableFuture<Void> released() {
        return CompletableFuture.completedFuture(null);
    }
}
