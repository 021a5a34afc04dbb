package dev.arrow.kvm.vmm;

import dev.arrow.kvm.EventFd;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.sys.Epoll;
import java.util.List;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread per VM that serves its virtio devices off the vCPU threads. It waits (epoll) on
 * the queues' ioeventfds, which KVM signals when the guest writes QueueNotify, and calls the
 * handler registered for each; and it runs host-initiated device work handed to it as an
 * {@link Executor} (a reader freed buffer space, stdin got bytes), in submission order. So all
 * device code runs on a VMM thread, and devices own no threads.
 *
 * <p>Owned by the VM's {@link VirtioDevices}; {@link #close()} stops and joins the thread and
 * closes the epoll instance and the wake-up eventfd (not the watched eventfds). Work submitted
 * after close is refused with {@link RejectedExecutionException}.
 */
final class VirtioEventLoop implements Executor, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioEventLoop.class);
    private static final long WAKE_TOKEN = 0;
    private static final int MAX_EVENTS = 32;
    /** Tasks run per round before the loop looks at its eventfds again (fairness). */
    private static final int TASKS_PER_ROUND = 256;
    private static final long JOIN_TIMEOUT_MILLIS = 10_000;

    private record Watch(EventFd event, Runnable onSignal) {
    }

    private final Epoll epoll;
    private final EventFd wake;
    /** Watched eventfds; token i + 1 is watches.get(i). Append-only. */
    private final List<Watch> watches = new CopyOnWriteArrayList<>();
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean stopping;
    private final AtomicBoolean released = new AtomicBoolean();

    /** Creates the loop (not yet running); its thread will be called {@code threadName}. */
    VirtioEventLoop(String threadName) {
        Epoll created = Epoll.create(MAX_EVENTS);
        EventFd wakeFd = null;
        try {
            wakeFd = EventFd.create(true);
            created.add(wakeFd.fd(), WAKE_TOKEN);
        } catch (RuntimeException e) {
            if (wakeFd != null) {
                wakeFd.close();
            }
            created.close();
            throw e;
        }
        this.epoll = created;
        this.wake = wakeFd;
        this.thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
    }

    /**
     * Calls {@code onSignal} on the loop thread each time {@code event} is signalled (several
     * signals before the loop looks count once). The caller keeps owning {@code event}.
     */
    void watch(EventFd event, Runnable onSignal) {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(onSignal, "onSignal");
        synchronized (watches) {
            watches.add(new Watch(event, onSignal));
            epoll.add(event.fd(), watches.size());
        }
    }

    /** Starts the thread. */
    void start() {
        thread.start();
    }

    /** True when called on the loop's own thread. */
    boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /** Runs {@code task} on the loop thread after the tasks submitted before it. */
    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task, "task");
        if (stopping) {
            throw new RejectedExecutionException("the VM's virtio event loop is closed");
        }
        tasks.add(task);
        try {
            wake.write(1);
        } catch (KvmException e) {
            throw new RejectedExecutionException("the VM's virtio event loop is closed", e);
        }
    }

    private void run() {
        long[] tokens = new long[MAX_EVENTS];
        try {
            while (!stopping) {
                int n = epoll.await(tokens, -1);
                for (int i = 0; i < n && !stopping; i++) {
                    if (tokens[i] == WAKE_TOKEN) {
                        wake.read();
                    } else {
                        Watch w = watches.get((int) tokens[i] - 1);
                        w.event().read();
                        runSafely(w.onSignal());
                    }
                }
                runTasks();
            }
        } catch (RuntimeException | Error e) {
            if (!stopping) {
                LOG.error("the virtio event loop failed; virtio devices of this VM stop being served", e);
            }
        } finally {
            if (stopping) {
                release(); // closed from a task on this thread: nobody else will
            }
        }
    }

    private void runTasks() {
        for (int i = 0; i < TASKS_PER_ROUND && !stopping; i++) {
            Runnable task = tasks.poll();
            if (task == null) {
                return;
            }
            runSafely(task);
        }
        if (!tasks.isEmpty() && !stopping) {
            wake.write(1); // more to do: come straight back after a look at the eventfds
        }
    }

    private static void runSafely(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            LOG.error("a virtio device task failed", e);
        }
    }

    /**
     * Stops the loop, waits for its thread (unless called on it) and releases the epoll
     * instance and the wake-up eventfd. Tasks not yet run are dropped. Idempotent.
     */
    @Override
    public void close() {
        if (!stopping) {
            stopping = true;
            if (thread.isAlive()) {
                try {
                    wake.write(1);
                } catch (KvmException e) {
                    LOG.debug("waking the virtio event loop failed: {}", e.toString());
                }
            }
        }
        if (!inLoop() && thread.getState() != Thread.State.NEW) {
            try {
                thread.join(JOIN_TIMEOUT_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                LOG.warn("{} did not stop within {} ms", thread.getName(), JOIN_TIMEOUT_MILLIS);
            }
        }
        tasks.clear();
        if (!inLoop() && !thread.isAlive()) {
            release();
        }
    }

    private void release() {
        if (released.compareAndSet(false, true)) {
            epoll.close();
            wake.close();
        }
    }
}
