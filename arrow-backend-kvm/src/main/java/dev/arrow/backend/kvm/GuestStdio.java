package dev.arrow.backend.kvm;

import dev.arrow.kvm.vmm.RunningVm;

import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;

/**
 * How one {@link KvmSession} carries the app's stdin, stdout and stderr, and what the guest's
 * serial port carries: {@link VirtioStdio} (the virtio console ports; the serial port is the
 * kernel's log) or {@link SerialStdio} (everything over the serial console).
 */
interface GuestStdio {

    /** Where the VMM writes what the guest sends to its serial port. */
    OutputStream serialOutput();

    /** The VM is running: start moving data. Called once. */
    void start(RunningVm vm);

    /** Init reported that it executes the app now. */
    default void appStarted() {
    }

    /** The app's stdin; see {@link dev.arrow.spi.MicroVmSession#stdin()}. */
    OutputStream stdin();

    /**
     * Completes once every byte of the app's output has been written to the sinks (or dropped
     * because the session was closed); the session reports its outcome only after this.
     */
    CompletableFuture<Void> outputDone();

    /** Whether {@link #requestStop()} can make init deliver SIGTERM to the app. */
    boolean supportsGracefulStop();

    /** Asks init to send SIGTERM to the app; returns at once. */
    void requestStop();

    /**
     * Asks init to send {@code signal} (1..64) to the app; returns at once.
     *
     * @throws UnsupportedOperationException if this stdio has no way to reach init ({@link #supportsGracefulStop()})
     */
    void signal(int signal);

    /** Stops all data movement: no sink is written after this returns. Idempotent. */
    void close();
}
