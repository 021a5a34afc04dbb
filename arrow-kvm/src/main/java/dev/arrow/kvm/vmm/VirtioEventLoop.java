package dev.arrow.kvm.vmm;

import dev.arrow.kvm.EventFd;
import dev.arrow.kvm.KvmException;
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
 * The one thread per VM that serves its virtio devices off the vCPU threads. It waits on one
 * eventfd, the VM's {@linkplain #doorbell() doorbell}: KVM rings it when the guest notifies a queue
 * it is registered for as ioeventfd (every such queue of the VM shares it), and host threads ring it
 * when they hand the loop work ({@link #execute}: a reader freed buffer space, stdin got bytes). At a
 * ring from KVM the loop runs every {@linkplain #onQueueRing poller} (which looks which queue was
 * notified), then the tasks, in submission order. So all device code runs on a VMM thread, devices
 * own no threads, and a VM's event loop holds one fd.
 *
 * <p>The two kinds of ring are told apart by the amount: KVM adds 1 per notification, a host thread
 * {@link #TASK_RING}; the counter, read and reset at each wake-up, says whether KVM rang (its low
 * 32 bits are not zero; fewer than 2^32 notifications come between two reads).
 *
 * <p>Owned by the VM's {@link VirtioDevices}; {@link #stop()} stops and joins the thread,
 * {@link #close()} also closes the doorbell, which must no longer be registered with KVM by then.
 * Work submitted after {@link #stop()} is refused with {@link RejectedExecutionException}.
 */
final class VirtioEventLoop implements Executor, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioEventLoop.class);
    /** What a host thread adds to the doorbell; KVM adds 1. */
    static final long TASK_RING = 1L << 32;
    private static final long QUEUE_RINGS = TASK_RING - 1;
    /** Tasks run per round before the loop runs its pollers again (fairness). */
    private static final int TASKS_PER_ROUND = 256;
    private static final long JOIN_TIMEOUT_MILLIS = 10_000;

    private final EventFd doorbell;
    /** Run at each ring from KVM. */
    private final List<Runnable> pollers = new CopyOnWriteArrayList<>();
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean stopping;
    private volatile boolean closed;
    private final AtomicBoolean released = new AtomicBoolean();

    /** Creates the loop (not yet running) and its doorbell; its thread will be called {@code threadName}. */
    VirtioEventLoop(String threadName) {
        this.doorbell = EventFd.create();
        this.thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
    }

    /**
     * The eventfd to register as ioeventfd for the queues this loop serves; valid until
     * {@link #close()}, before which every registration must be removed.
     */
    EventFd doorbell() {
        return doorbell;
    }

    /**
     * Runs {@code poller} on the loop thread at each ring of the doorbell from KVM (several rings
     * before the loop looks count once). It must find out itself whether its queue was notified.
     */
    void onQueueRing(Runnable poller) {
        pollers.add(Objects.requireNonNull(poller, "poller"));
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
            doorbell.write(TASK_RING);
        } catch (KvmException e) {
            throw new RejectedExecutionException("the VM's virtio event loop is closed", e);
        }
    }

    private void run() {
        try {
            while (!stopping) {
                long rings = doorbell.read();
                if ((rings & QUEUE_RINGS) != 0) {
                    for (Runnable poller : pollers) {
                        if (stopping) {
                            break;
                        }
                        runSafely(poller);
                    }
                }
                runTasks();
            }
        } catch (RuntimeException | Error e) {
            if (!stopping) {
                LOG.error("the virtio event loop failed; virtio devices of this VM stop being served", e);
            }
        } finally {
            if (closed) {
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
            doorbell.write(TASK_RING); // more to do: come straight back after the pollers' turn
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
     * Stops the loop and waits for its thread (unless called on it). Tasks not yet run are
     * dropped; the doorbell stays open. Idempotent.
     */
    void stop() {
        if (!stopping) {
            stopping = true;
            if (thread.isAlive()) {
                try {
                    doorbell.write(TASK_RING);
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
    }

    /**
     * {@link #stop()}, then closes the doorbell once the thread has ended (at its end, when called
     * on it). Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        stop();
        if (!inLoop() && !thread.isAlive()) {
            release();
        }
    }

    private void release() {
        if (released.compareAndSet(false, true)) {
            doorbell.close();
        }
    }
}
