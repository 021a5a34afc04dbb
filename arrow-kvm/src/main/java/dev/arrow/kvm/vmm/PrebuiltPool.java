package dev.arrow.kvm.vmm;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A few resources made ahead of time on a thread of their own, so that the caller who needs one
 * takes it instead of waiting for it to be made (a {@link VmTemplate}'s {@link PreparedVm}s).
 *
 * <ul>
 *   <li>It keeps up to {@code size} <em>made</em> resources: it makes that many when it is created
 *       and one more each time {@link #take()} finds fewer made or being made than {@code size}.
 *       A resource that fails to be made is logged and not offered; the next take tries again.
 *   <li>It keeps up to {@code size} <em>returned</em> resources besides ({@link #offer}), which
 *       {@link #take()} hands out first.
 *   <li>Size 0 makes nothing, starts no thread and takes nothing back.
 *   <li>{@link #close()} stops its thread, waits for a resource being made, and closes every
 *       resource it holds; a take after that finds nothing, an offer is refused.
 * </ul>
 * Each resource is handed out once. Thread-safe.
 *
 * @param <T> what it holds; it owns each until it hands it out
 */
final class PrebuiltPool<T extends AutoCloseable> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PrebuiltPool.class);
    private static final long CLOSE_TIMEOUT_SECONDS = 10;

    private final int size;
    private final Supplier<T> factory;
    private final String name;
    /** Null for size 0. */
    private final ExecutorService maker;
    private final Deque<T> made = new ArrayDeque<>();
    private final Deque<T> returned = new ArrayDeque<>();
    private int making;
    private boolean closed;

    /**
     * A pool that starts making {@code size} resources with {@code factory} at once, on a daemon
     * thread called {@code name}.
     *
     * @throws IllegalArgumentException if {@code size} is negative
     */
    PrebuiltPool(int size, Supplier<T> factory, String name) {
        this.size = checkedSize(size);
        this.factory = factory;
        this.name = name;
        if (size == 0) {
            this.maker = null;
            return;
        }
        this.maker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        refill();
    }

    /** {@code size}, checked: how many resources a pool keeps ready; 0 disables it. */
    static int checkedSize(int size) {
        if (size < 0) {
            throw new IllegalArgumentException("pool size " + size + " is negative: give 0 to make nothing ahead, "
                    + "or how many VMs to keep ready (" + VmTemplate.DEFAULT_POOL_SIZE + " by default)");
        }
        return size;
    }

    /**
     * A returned resource if there is one, else a made one (then another is made in its place),
     * else null: the caller makes its own. Never blocks on a resource being made.
     */
    T take() {
        T taken;
        synchronized (this) {
            if (closed) {
                return null;
            }
            taken = returned.pollFirst();
            if (taken != null) {
                return taken;
            }
            taken = made.pollFirst();
        }
        refill();
        return taken;
    }

    /**
     * Keeps {@code resource} for a later {@link #take()}. Refused (false; the caller still owns it)
     * when the pool is closed, has size 0 or holds {@code size} returned resources already.
     */
    synchronized boolean offer(T resource) {
        if (closed || returned.size() >= size) {
            return false;
        }
        returned.addLast(resource);
        return true;
    }

    /** How many resources it keeps ready, and how many returned ones besides: 0 when disabled. */
    int capacity() {
        return size;
    }

    /** Resources ready to be taken now, made and returned. */
    synchronized int available() {
        return made.size() + returned.size();
    }

    /** Starts making as many resources as are missing from {@code size}, counting those being made. */
    private void refill() {
        int missing;
        synchronized (this) {
            if (closed || maker == null) {
                return;
            }
            missing = size - made.size() - making;
            making += Math.max(0, missing);
        }
        for (int i = 0; i < missing; i++) {
            try {
                maker.execute(this::makeOne);
            } catch (RejectedExecutionException e) { // closed meanwhile: nothing more is made
                synchronized (this) {
                    making -= missing - i;
                }
                return;
            }
        }
    }

    private void makeOne() {
        synchronized (this) {
            if (closed) {
                making--;
                return;
            }
        }
        T resource;
        try {
            resource = factory.get();
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                making--;
            }
            LOG.warn("{}: making a resource ahead of time failed; none is offered in its place", name, e);
            return;
        }
        boolean keep;
        synchronized (this) {
            making--;
            keep = !closed;
            if (keep) {
                made.addLast(resource);
            }
        }
        if (!keep) {
            closeQuietly(resource);
        }
    }

    /** Stops making resources, waits for one being made, and closes all it holds. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (maker != null) {
            maker.shutdown(); // queued tasks see the pool closed and return; a running one closes what it made
            try {
                if (!maker.awaitTermination(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    LOG.warn("{}: a resource still being made after {} s is closed when it is done", name,
                            CLOSE_TIMEOUT_SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Deque<T> held = new ArrayDeque<>();
        synchronized (this) {
            held.addAll(returned);
            held.addAll(made);
            returned.clear();
            made.clear();
        }
        held.forEach(PrebuiltPool::closeQuietly);
    }

    /** Closes {@code resource}, logging (not throwing) a failure: for pools releasing what nobody took. */
    static void closeQuietly(AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception | Error e) {
            LOG.warn("closing {} failed", resource, e);
        }
    }

    @Override
    public synchronized String toString() {
        return name + ": " + made.size() + " made, " + returned.size() + " returned, " + making + " being made"
                + (closed ? " (closed)" : "");
    }
}
