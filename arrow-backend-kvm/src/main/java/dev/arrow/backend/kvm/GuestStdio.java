package dev.arrow.backend.kvm;

import dev.arrow.GuestOutputStatistics;
import dev.arrow.OutputFrame;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.spi.GuestFileReceiver;

import java.io.OutputStream;
import java.util.Map;
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

    /**
     * What the VMM did with the app's stdout and stderr so far, by stream, for {@link KvmSession#statistics()}; empty
     * when not counted (the default: the serial console carries both as one stream).
     */
    default Map<OutputFrame.Stream, GuestOutputStatistics> outputStatistics() {
        return Map.of();
    }

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

    /**
     * Asks init for a copy of a guest file or tree; see {@link dev.arrow.spi.MicroVmSession#copyFromGuest}.
     *
     * @throws UnsupportedOperationException if this stdio has no way to reach init and receive files (the default)
     */
    default CompletableFuture<Void> copyFromGuest(String guestPath, long maxBytes, GuestFileReceiver receiver) {
        throw new UnsupportedOperationException("the serial console cannot copy files out of the guest");
    }

    /** Stops all data movement: no sink is written after this returns. Idempotent. */
    void close();
}
