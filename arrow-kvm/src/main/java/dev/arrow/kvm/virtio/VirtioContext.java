package dev.arrow.kvm.virtio;

import dev.arrow.kvm.memory.GuestMemory;

/**
 * What an activated {@link VirtioDevice} gets from its transport: the negotiated features, its
 * queues, its interrupt, and a way to run host-initiated work serialized with guest accesses.
 * A context belongs to one activation: after a reset, a guest error or close it goes stale,
 * {@link #queue} returns null, signals are dropped and submitted tasks do not run.
 */
public interface VirtioContext {

    GuestMemory memory();

    /** The feature bits the driver accepted (FEATURES_OK). */
    long features();

    /** Queue {@code index} if the driver enabled it (QueueReady = 1) and the context is live, else null. */
    SplitQueue queue(int index);

    /** Raises a used-buffer notification (InterruptStatus bit 0 and the device's interrupt). */
    void signalUsed();

    /** Raises a configuration-change notification (InterruptStatus bit 1) and bumps ConfigGeneration. */
    void signalConfigChange();

    /**
     * Runs {@code task} on the transport's host-task executor with the transport's lock held,
     * unless this context went stale first (or the executor refuses it while the VMM shuts down).
     * A {@link VirtioGuestException} from the task fails the device like one from
     * {@link VirtioDevice#queueNotify}.
     */
    void submit(Runnable task);

    /** True until the transport resets, fails or closes the device. */
    boolean isLive();
}
