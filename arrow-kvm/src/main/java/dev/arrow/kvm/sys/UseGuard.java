package dev.arrow.kvm.sys;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Keeps a native resource alive while threads use it: {@link #enter()} before each access,
 * {@link #exit()} after; {@link #close()} refuses new users and waits for the current ones to
 * leave, so a mapping is never unmapped under a thread that is reading it.
 */
public final class UseGuard {
    private static final int CLOSED = 1 << 30;
    private final AtomicInteger state = new AtomicInteger();

    /** Registers a user; false when the resource is closed (then do not touch it). */
    public boolean enter() {
        for (;;) {
            int s = state.get();
            if ((s & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s + 1)) {
                return true;
            }
        }
    }

    public void exit() {
        state.decrementAndGet();
    }

    public boolean isClosed() {
        return (state.get() & CLOSED) != 0;
    }

    /**
     * Refuses new users and waits until the current ones have left.
     *
     * @return true for the call that closed the guard, false when it was closed already
     */
    public boolean close() {
        boolean first = markClosed();
        awaitUsers(Long.MAX_VALUE);
        return first;
    }

    /**
     * Refuses new users and waits at most {@code timeoutNanos} for the current ones.
     *
     * @return true when no user is left
     */
    public boolean close(long timeoutNanos) {
        markClosed();
        return awaitUsers(timeoutNanos);
    }

    private boolean markClosed() {
        int s;
        do {
            s = state.get();
            if ((s & CLOSED) != 0) {
                return false;
            }
        } while (!state.compareAndSet(s, s | CLOSED));
        return true;
    }

    private boolean awaitUsers(long timeoutNanos) {
        long start = System.nanoTime();
        int spins = 0;
        while ((state.get() & ~CLOSED) != 0) {
            if (System.nanoTime() - start > timeoutNanos) {
                return false;
            }
            if (++spins < 1000) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(50_000);
            }
        }
        return true;
    }
}
