package dev.arrow.backend.kvm;

import dev.arrow.VmmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Releases closed arrows off the closing thread: {@link KvmSession#close()} stops the VM, closes the streams and
 * returns, and hands the slow part (joining the vCPU threads, unmapping guest RAM, closing the VM, vCPU and device
 * fds, ending passt, resetting a template's clone for the next one) to {@link #release}, which runs it on one JVM-wide
 * daemon thread ({@value #THREAD_NAME}), in the order the closes came. The thread starts with the first release and
 * ends after {@link #KEEP_ALIVE} without one, so an idle JVM has no thread of the reaper's.
 *
 * <p><b>Bounded.</b> A release holds what the guest touched of its RAM, a few fds and, for a template's clone, a VM
 * that the next clone could reuse. When {@link #MAX_PENDING} releases are already waiting (closes in a loop that
 * outpace the thread), the next one runs inline on the closing thread instead: that caller pays what a close cost
 * before the reaper existed, the memory held by pending releases stays bounded, and no caller ever waits for others'
 * releases (which a back-pressure wait would make it do, from any thread, a vCPU thread's callback included).
 *
 * <p>A release that fails is logged at WARN and counts as done; it never reaches the closing thread, which has
 * returned. {@link #awaitReleased} waits until every release handed over so far has run (tests that count fds,
 * mappings or threads, careful users before they measure). At JVM shutdown a hook waits up to
 * {@link #SHUTDOWN_WAIT} for the pending ones, so the passt children and the temporary files of arrows closed just
 * before the exit are still cleaned up.
 *
 * <p>{@code -D}{@value #PROPERTY}{@code =false} turns it off: every close then releases inline, as before.
 */
final class ReleaseReaper {
    /** System property: {@code false} releases every closed arrow on the closing thread. Default {@code true}. */
    static final String PROPERTY = "arrow.asyncRelease";
    static final String THREAD_NAME = "arrow-reaper";
    /** How many releases may wait for the thread before a close releases inline. */
    static final int MAX_PENDING = 16;
    /** How long the thread waits for another release before it ends. */
    static final Duration KEEP_ALIVE = Duration.ofSeconds(2);
    /** How long the shutdown hook waits for pending releases. */
    static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(15);
    private static final Logger LOG = LoggerFactory.getLogger(ReleaseReaper.class);
    private static final ReleaseReaper SHARED = new ReleaseReaper(THREAD_NAME, MAX_PENDING, KEEP_ALIVE, true);

    private final String threadName;
    private final int maxPending;
    private final long keepAliveNanos;
    private final boolean hookAtShutdown;
    /** Releases waiting for the thread, oldest first. */
    private final Deque<Release> queue = new ArrayDeque<>();
    /** Releases handed over and not yet finished: queued, running on the thread, or running inline. */
    private int unfinished;
    /** The thread that runs the queue; null when there is nothing to run. */
    private Thread worker;
    /** The last thread started, for {@link #awaitIdle} to join. */
    private Thread lastWorker;
    private boolean hookAdded;

    /** One closed arrow's release. */
    private record Release(String what, Runnable action, CompletableFuture<Void> done, long handedOverNanos) {
    }

    /**
     * @param maxPending     how many releases may wait before one runs inline
     * @param keepAlive      how long the thread stays without a release to run
     * @param hookAtShutdown whether a JVM shutdown hook waits for pending releases (the JVM's reaper only)
     */
    ReleaseReaper(String threadName, int maxPending, Duration keepAlive, boolean hookAtShutdown) {
        if (maxPending < 0) {
            throw new IllegalArgumentException("negative maxPending " + maxPending);
        }
        this.threadName = threadName;
        this.maxPending = maxPending;
        this.keepAliveNanos = keepAlive.toNanos();
        this.hookAtShutdown = hookAtShutdown;
    }

    /** The JVM's reaper, which every closed arrow of the KVM backend uses. */
    static ReleaseReaper shared() {
        return SHARED;
    }

    /**
     * Whether closes release on the reaper, from the system property {@value #PROPERTY}: unset or blank is
     * {@code true}.
     *
     * @throws VmmException if the property is neither {@code true} nor {@code false}, naming the fix
     */
    static boolean asyncFromSystemProperty() {
        return BooleanProperty.read(PROPERTY, "to release closed arrows on the thread that closes them",
                " to release them on the " + THREAD_NAME + " thread");
    }

    /** The reaper closes hand their release to: the JVM's, or null (release inline) when {@value #PROPERTY} is false. */
    static ReleaseReaper atCloseFromSystemProperty() {
        return asyncFromSystemProperty() ? SHARED : null;
    }

    /**
     * Runs {@code action} on the reaper's thread after the releases handed over before it, or now on this thread when
     * {@link #MAX_PENDING} are waiting already, when this is the reaper's thread, or when no thread can be started.
     * Never throws what {@code action} throws: that is logged.
     *
     * @param what what is released, for logs ("VM 3")
     * @return completes once {@code action} has run (also when it failed)
     */
    CompletableFuture<Void> release(String what, Runnable action) {
        Release r = new Release(what, action, new CompletableFuture<>(), System.nanoTime());
        boolean inline;
        synchronized (this) {
            unfinished++;
            inline = Thread.currentThread() == worker || queue.size() >= maxPending || !ensureWorker();
            if (!inline) {
                queue.addLast(r);
                notifyAll();
            }
        }
        if (inline) {
            run(r, false);
        }
        return r.done();
    }

    /** Starts the thread unless it runs; false when it cannot be started (no native thread to be had). */
    private boolean ensureWorker() {
        if (worker != null) {
            return true;
        }
        Thread t = new Thread(this::work, threadName);
        t.setDaemon(true);
        try {
            t.start();
        } catch (OutOfMemoryError e) {
            LOG.warn("the {} thread did not start; this arrow is released on the closing thread", threadName, e);
            return false;
        }
        worker = t;
        lastWorker = t;
        if (hookAtShutdown && !hookAdded) {
            hookAdded = true;
            addShutdownHook();
        }
        return true;
    }

    private void addShutdownHook() {
        Thread hook = new Thread(() -> {
            try {
                if (!awaitReleased(SHUTDOWN_WAIT)) {
                    LOG.warn("the JVM exits with closed arrows still being released after {} s: {}",
                            SHUTDOWN_WAIT.toSeconds(), this);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, threadName + "-shutdown");
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down already: the hooks that run now wait for nothing more of ours
        }
    }

    /** The thread's loop: runs the queue in order, and ends after {@link #keepAliveNanos} without a release. */
    private void work() {
        while (true) {
            Release next = nextRelease();
            if (next == null) {
                return;
            }
            run(next, true);
            Thread.interrupted(); // a release that kept an interrupt for its caller: not the next one's
        }
    }

    /** The oldest queued release, waiting for one at most the keep-alive; null when the thread is to end. */
    private synchronized Release nextRelease() {
        long idleSince = System.nanoTime();
        while (queue.isEmpty()) {
            long left = keepAliveNanos - (System.nanoTime() - idleSince);
            if (left <= 0) {
                worker = null;
                notifyAll();
                return null;
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                // nobody interrupts it; it keeps to its queue
            }
        }
        return queue.pollFirst();
    }

    private void run(Release r, boolean onReaper) {
        long started = System.nanoTime();
        try {
            r.action().run();
            if (LOG.isDebugEnabled()) {
                LOG.debug("{} released {} in {} ms ({} ms after its close)", onReaper ? "the reaper" : "a close",
                        r.what(), (System.nanoTime() - started) / 1_000_000,
                        (System.nanoTime() - r.handedOverNanos()) / 1_000_000);
            }
        } catch (RuntimeException | Error e) { // never to the closer, who has returned, nor out of the loop
            LOG.warn("releasing {} failed", r.what(), e);
        } finally {
            r.done().complete(null); // first: once awaitReleased returns, every release's future has completed
            synchronized (this) {
                unfinished--;
                notifyAll();
            }
        }
    }

    /**
     * Waits until every release handed over so far has run, at most {@code timeout}.
     *
     * @return false if some had not within {@code timeout}
     */
    synchronized boolean awaitReleased(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (unfinished > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    /**
     * Waits until every release has run and the thread has ended (tests: an idle JVM has no reaper thread).
     *
     * @return false if that did not happen within {@code timeout}
     */
    boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Thread last;
        synchronized (this) {
            while (unfinished > 0 || worker != null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            last = lastWorker;
        }
        if (last != null) {
            last.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            return !last.isAlive();
        }
        return true;
    }

    /** Releases handed over and not finished yet. */
    synchronized int unfinished() {
        return unfinished;
    }

    /** Whether the thread runs now. */
    synchronized boolean threadRunning() {
        return worker != null;
    }

    @Override
    public synchronized String toString() {
        return "release reaper: " + unfinished + " unfinished, " + queue.size() + " queued"
                + (worker != null ? ", thread running" : "");
    }
}
