package dev.arrow.kvm.virtio;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;

/**
 * A {@link GuestMemory} decorator for tests that need a device stopped at one exact point: {@link #beforeReading}
 * arms an action that runs, once, on the thread of the first read covering a guest address, before that read. The
 * device runs the action while it is inside its work (holding whatever locks it holds there), so a test can let
 * another thread act in that very interleaving. Everything else goes straight to the memory it decorates.
 */
public final class ReadTrapMemory extends ForwardingGuestMemory {
    private GuestAddress trapped;
    private Runnable action;

    public ReadTrapMemory(GuestMemory delegate) {
        super(delegate);
    }

    /** Runs {@code action} before the first read that covers {@code address}; replaces an armed trap. */
    public synchronized void beforeReading(GuestAddress address, Runnable action) {
        this.trapped = address;
        this.action = action;
    }

    @Override
    void beforeRead(GuestAddress address, long length) {
        Runnable run;
        synchronized (this) {
            if (action == null || Long.compareUnsigned(trapped.value() - address.value(), length) >= 0) {
                return;
            }
            run = action;
            action = null;
        }
        run.run();
    }
}
