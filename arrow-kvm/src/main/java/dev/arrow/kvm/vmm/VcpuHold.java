package dev.arrow.kvm.vmm;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Keeps every vCPU of a VM out of the guest while an action runs on the VMM's side of guest RAM: each vCPU's thread,
 * asked between two exits (the last one handled), waits in {@link #await()} until the action has run. A vCPU whose loop
 * has ended counts as held (it never enters the guest again). A vCPU that does not arrive in time (its thread blocked
 * in a device, say) makes the hold give up: the action does not run and the vCPUs that had arrived go on.
 *
 * <p>A held vCPU does not leave the hold for a stop either: its thread waits for the action, which is bounded, so a
 * close waits at most that long longer, and nothing of the guest runs while the action does.
 */
final class VcpuHold {
    /** A vCPU that can be held: implemented by {@link VcpuRunner}. */
    interface Holdable {
        /** Asks its thread to call {@link #await()} on {@code hold} between two exits; kicks it out of the guest. */
        void requestHold(VcpuHold hold);

        /** True once its loop has ended for good: it enters the guest no more. */
        boolean hasEnded();
    }

    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final Set<Thread> arrived = ConcurrentHashMap.newKeySet();
    private final CountDownLatch released = new CountDownLatch(1);

    private VcpuHold() {
    }

    /**
     * Holds every one of {@code vcpus}, runs {@code action}, then lets them go.
     *
     * @param arrivals how long the vCPUs may take to be held
     * @return true if the action ran; false if some vCPU was not held within {@code arrivals} (the action did not run)
     */
    static boolean runHeld(List<? extends Holdable> vcpus, Duration arrivals, Runnable action) {
        VcpuHold hold = new VcpuHold();
        try {
            for (Holdable v : vcpus) {
                v.requestHold(hold);
            }
            long deadline = System.nanoTime() + arrivals.toNanos();
            while (hold.arrived.size() + ended(vcpus) < vcpus.size()) {
                if (System.nanoTime() - deadline > 0) {
                    return false;
                }
                LockSupport.parkNanos(POLL_NANOS);
            }
            action.run();
            return true;
        } finally {
            hold.released.countDown();
        }
    }

    /** How many of {@code vcpus} have ended without arriving. */
    private static int ended(List<? extends Holdable> vcpus) {
        int n = 0;
        for (Holdable v : vcpus) {
            if (v.hasEnded()) {
                n++;
            }
        }
        return n;
    }

    /**
     * Called by a vCPU's thread between two exits: says it is held and waits until the action has run or the hold
     * gave up. Returns at once when that happened before.
     */
    void await() {
        if (released.getCount() == 0) {
            return;
        }
        arrived.add(Thread.currentThread());
        boolean interrupted = false;
        while (true) {
            try {
                released.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the hold is bounded: interrupt after it
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
