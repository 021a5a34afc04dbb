package dev.arrow.kvm.net;

import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A backend's own thread (its reader, or its {@link FrameSender}): a daemon thread with a name,
 * and the way it is awaited on close. A reader hands frames to the device through the transport,
 * and a sender tells the device about free room the same way, so while a backend closes such a
 * thread may be blocked on the transport's lock, which the closing thread may hold itself (the
 * transport closes the device, the device closes the backend). Waiting for it then would only
 * time out; such a thread has nothing left to do with the backend's resources and ends by itself
 * once it gets the lock, so {@link #awaitEnd} does not wait for it.
 */
final class BackendThread {
    private static final Logger LOG = LoggerFactory.getLogger(BackendThread.class);

    private final Thread thread;

    BackendThread(String name, Runnable loop) {
        this.thread = new Thread(Objects.requireNonNull(loop, "loop"), name);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /**
     * Waits up to {@code timeoutMillis} for the thread to end, unless it is the caller or is
     * blocked on a monitor.
     *
     * @return true when the thread has ended
     */
    boolean awaitEnd(long timeoutMillis) {
        if (thread == Thread.currentThread()) {
            return false;
        }
        if (thread.getState() == Thread.State.BLOCKED) {
            LOG.debug("{} is waiting for a lock (the device's transport); it ends by itself", thread.getName());
            return false;
        }
        try {
            thread.join(timeoutMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive() && thread.getState() != Thread.State.BLOCKED) {
            LOG.warn("{} did not stop within {} ms", thread.getName(), timeoutMillis);
        }
        return !thread.isAlive();
    }

    boolean isAlive() {
        return thread.isAlive();
    }

    String name() {
        return thread.getName();
    }
}
