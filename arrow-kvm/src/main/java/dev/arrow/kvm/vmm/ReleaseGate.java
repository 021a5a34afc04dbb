package dev.arrow.kvm.vmm;

/**
 * Decides when a VM's resources may be released: once its close has been asked for <em>and</em>
 * every vCPU loop has ended for good (no vCPU thread is inside KVM_RUN or can enter it again).
 * Whichever of the two comes last is told to release, exactly once. So a close that cannot wait
 * for a stuck vCPU thread still returns, and that thread releases everything as it leaves.
 *
 * <p>Thread-safe. Used by {@link RunningVm}: a vCPU loop calls {@link #loopEnded()} as the very
 * last thing it does with the VM; the closing thread calls {@link #closeRequested()} after it has
 * waited ({@link #awaitLoopsAtMost}) as long as it will.
 */
final class ReleaseGate {
    private int loops;
    private boolean closeRequested;
    private boolean claimed;

    /** A gate for {@code loops} vCPU loops, none ended yet. */
    ReleaseGate(int loops) {
        if (loops < 0) {
            throw new IllegalArgumentException("negative loop count " + loops);
        }
        this.loops = loops;
    }

    /**
     * One vCPU loop has ended for good.
     *
     * @return true when the caller must release the VM's resources now (close was asked for and
     *         this was the last loop)
     * @throws IllegalStateException if more loops end than the gate was made for
     */
    synchronized boolean loopEnded() {
        if (loops == 0) {
            throw new IllegalStateException("more vCPU loops ended than were started");
        }
        loops--;
        notifyAll();
        return claim();
    }

    /**
     * The VM's close has been asked for (once is enough; later calls only ask again).
     *
     * @return true when the caller must release the VM's resources now (no loop is left)
     */
    synchronized boolean closeRequested() {
        closeRequested = true;
        return claim();
    }

    private boolean claim() {
        if (closeRequested && loops == 0 && !claimed) {
            claimed = true;
            return true;
        }
        return false;
    }

    /** vCPU loops that have not ended yet. */
    synchronized int activeLoops() {
        return loops;
    }

    /** True once some caller has been told to release. */
    synchronized boolean isReleaseClaimed() {
        return claimed;
    }

    /**
     * Waits until at most {@code allowed} loops are active, for at most {@code timeoutNanos}. Not
     * interruptible (the wait is bounded); an interrupt that arrives meanwhile is kept for the
     * caller.
     *
     * @return true when at most {@code allowed} loops are active
     */
    synchronized boolean awaitLoopsAtMost(int allowed, long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        boolean interrupted = false;
        try {
            while (loops > allowed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    wait(left / 1_000_000, (int) (left % 1_000_000));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public synchronized String toString() {
        return "release gate: " + loops + " vCPU loop(s) active, close " + (closeRequested ? "asked" : "not asked")
                + (claimed ? ", released" : "");
    }
}
