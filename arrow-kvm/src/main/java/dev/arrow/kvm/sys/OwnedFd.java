package dev.arrow.kvm.sys;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A file descriptor with one owner, closed exactly once by {@link #close()}. Calls on it are
 * made between {@link #enter()} and {@link #exit()}, and {@link #close()} waits for calls in
 * flight, so the number is never closed (and reused by another open) under a running ioctl.
 * If the owner is collected without closing it, a Cleaner closes it and logs the leak.
 */
public final class OwnedFd implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OwnedFd.class);

    private final int fd;
    private final String what;
    private final AtomicBoolean closed;
    private final UseGuard guard = new UseGuard();
    private final Cleaner.Cleanable cleanable;

    public OwnedFd(int fd, String what) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        this.fd = fd;
        this.what = what;
        this.closed = new AtomicBoolean();
        this.cleanable = NativeCleaner.CLEANER.register(this, new Leak(fd, what, closed));
    }

    /** The raw descriptor; valid until {@link #close()}. */
    public int fd() {
        return fd;
    }

    public boolean isClosed() {
        return guard.isClosed();
    }

    /** Registers a call on the fd; false when it is closed or closing. */
    public boolean enter() {
        return guard.enter();
    }

    public void exit() {
        guard.exit();
    }

    /** Refuses new calls, waits for calls in flight, closes the fd. Idempotent. */
    @Override
    public void close() {
        guard.close();
        closeNow();
    }

    /**
     * Refuses new calls and waits up to {@code timeoutNanos} for calls in flight; closes the fd
     * either way (a call still in the kernel keeps its own reference to the file).
     *
     * @return false when calls were still in flight
     */
    public boolean close(long timeoutNanos) {
        boolean drained = guard.close(timeoutNanos);
        closeNow();
        return drained;
    }

    private void closeNow() {
        if (closed.compareAndSet(false, true)) {
            cleanable.clean();
            if (LibC.close(fd) != 0) {
                LOG.warn("close({}) of {} failed: {}", fd, what, Errno.describe(com.sun.jna.Native.getLastError()));
            }
        }
    }

    @Override
    public String toString() {
        return what + " (fd " + fd + (closed.get() ? ", closed)" : ")");
    }

    private record Leak(int fd, String what, AtomicBoolean closed) implements Runnable {
        @Override
        public void run() {
            if (closed.compareAndSet(false, true)) {
                LOG.warn("{} (fd {}) was never closed; closing it now", what, fd);
                LibC.close(fd);
            }
        }
    }
}
