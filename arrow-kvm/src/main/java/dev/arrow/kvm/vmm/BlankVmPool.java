package dev.arrow.kvm.vmm;

import dev.arrow.kvm.Kvm;
import dev.arrow.kvm.KvmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JVM's {@link BlankVm}s made ahead for cold builds, by vCPU count: a cold build {@link #take takes} one
 * with its number of vCPUs if one is held, then {@link #replenish asks} for the next, which a daemon thread
 * ({@value #THREAD_NAME}) makes off the builder's path. It holds up to {@link #sizeFromSystemProperty() the
 * property's} number per vCPU count (1 by default; 0 turns the pool off). A VM not taken within
 * {@link #KEEP_ALIVE} of being made is closed, and the thread ends when it holds and makes nothing, so an idle JVM
 * holds no VM and no thread of the pool's. A VM that fails to be made is logged and not offered: the next cold build
 * makes its own, as without the pool. Each VM is handed out once, and never touched by the pool after.
 *
 * <p>Public only for tests of other modules, which wait for the pool to be empty ({@link #awaitSharedIdle})
 * before they compare what the JVM holds, or count the VMs it handed out ({@link #sharedHandedOut}).
 *
 * @param <T> what it holds: {@link BlankVm}, or a test's stand-in
 */
public final class BlankVmPool<T extends AutoCloseable> {
    /**
     * System property: how many blank VMs to keep ready per vCPU count, 0 to {@value #MAX_SIZE}; 0 turns the pool
     * off. Default {@link #defaultSize(int)}.
     */
    public static final String SIZE_PROPERTY = "arrow.blankVmPool";
    static final int MAX_SIZE = 8;
    /** How long a blank VM waits to be taken before it is closed. */
    static final Duration KEEP_ALIVE = Duration.ofSeconds(3);
    static final String THREAD_NAME = "arrow-blank-vms";
    private static final Logger LOG = LoggerFactory.getLogger(BlankVmPool.class);
    private static final BlankVmPool<BlankVm> SHARED = new BlankVmPool<>(
            vcpus -> BlankVm.create(Kvm.shared(), vcpus), BlankVmPool::sizeFromSystemProperty, KEEP_ALIVE);

    private final IntFunction<T> factory;
    private final IntSupplier size;
    private final long keepAliveNanos;
    /** Held VMs by vCPU count, oldest first. */
    private final Map<Integer, Deque<Held<T>>> held = new TreeMap<>();
    /** How many more VMs to make, by vCPU count. */
    private final Map<Integer, Integer> wanted = new TreeMap<>();
    /** The vCPU count of the VM being made, or null. */
    private Integer making;
    /** The thread that makes and expires VMs; null when there is nothing to do. */
    private Thread worker;
    /** The last thread started, for {@link #awaitIdle} to join. */
    private Thread lastWorker;
    private long handedOut;

    private record Held<T>(T resource, long madeAtNanos) {
    }

    /**
     * A pool that makes a VM with {@code factory} (given the vCPU count), keeps up to {@code size} (read at each
     * {@link #replenish}) per vCPU count and closes each after {@code keepAlive} unused.
     */
    BlankVmPool(IntFunction<T> factory, IntSupplier size, Duration keepAlive) {
        this.factory = factory;
        this.size = size;
        this.keepAliveNanos = keepAlive.toNanos();
    }

    /** The JVM's pool of {@link BlankVm}s. */
    static BlankVmPool<BlankVm> shared() {
        return SHARED;
    }

    /**
     * Waits until the JVM's pool holds no VM, makes none and its thread has ended: at most {@link #KEEP_ALIVE} after
     * the last cold build. For tests that compare the fds, mappings and threads the JVM holds.
     *
     * @return false if that did not happen within {@code timeout}
     */
    public static boolean awaitSharedIdle(Duration timeout) throws InterruptedException {
        return SHARED.awaitIdle(timeout);
    }

    /** How many VMs the JVM's pool has handed out to cold builds so far: for tests that check starts took one. */
    public static long sharedHandedOut() {
        return SHARED.handedOut();
    }

    /**
     * How many blank VMs to keep per vCPU count, from the system property {@value #SIZE_PROPERTY}: unset or blank
     * gives {@link #defaultSize(int)} for this host's CPUs.
     *
     * @throws KvmException if the property is not a whole number from 0 to {@value #MAX_SIZE}, naming the fix
     */
    static int sizeFromSystemProperty() {
        String value = System.getProperty(SIZE_PROPERTY);
        if (value == null || value.isBlank()) {
            return defaultSize(Runtime.getRuntime().availableProcessors());
        }
        try {
            int n = Integer.parseInt(value.strip());
            if (n >= 0 && n <= MAX_SIZE) {
                return n;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new KvmException("system property " + SIZE_PROPERTY + "=" + value + " is not a number of VMs from 0 to "
                + MAX_SIZE + ": give -D" + SIZE_PROPERTY + "=0 to make no VMs ahead for cold starts, a number up to "
                + MAX_SIZE + " to keep that many ready per vCPU count, or leave it unset (1 with two CPUs or more, else 0)");
    }

    /**
     * The pool's size when none is asked for: 1 with two CPUs or more, 0 (off) with one. The pool makes the next VM
     * right after a cold start, while that start's guest boots: with one CPU the two compete for it, and the guest's
     * boot loses what the next start would gain (lab, docs/idle.md).
     */
    static int defaultSize(int cpus) {
        return cpus >= 2 ? 1 : 0;
    }

    /**
     * A held VM with {@code vcpuCount} vCPUs, which the caller owns from here on, or null: the caller makes its own.
     * Never waits for one being made.
     *
     * @throws KvmException if {@value #SIZE_PROPERTY} is invalid (checked here, before a build makes anything)
     */
    T take(int vcpuCount) {
        size.getAsInt();
        Held<T> h;
        synchronized (this) {
            Deque<Held<T>> q = held.get(vcpuCount);
            h = q == null ? null : q.pollFirst();
            if (q != null && q.isEmpty()) {
                held.remove(vcpuCount);
            }
            if (h != null) {
                handedOut++;
                notifyAll(); // the thread, waiting for this VM's expiry, ends if it holds nothing more
            }
        }
        return h == null ? null : h.resource();
    }

    /**
     * Has the pool's thread make VMs with {@code vcpuCount} vCPUs until it holds the configured number of them
     * (none when the pool is off). Returns at once; never fails (an invalid {@value #SIZE_PROPERTY} is logged: the
     * next {@link #take} refuses it).
     */
    void replenish(int vcpuCount) {
        int target;
        try {
            target = size.getAsInt();
        } catch (RuntimeException e) {
            LOG.warn("no blank VM is made ahead: {}", e.getMessage());
            return;
        }
        synchronized (this) {
            Deque<Held<T>> q = held.get(vcpuCount);
            int missing = target - (q == null ? 0 : q.size()) - (Integer.valueOf(vcpuCount).equals(making) ? 1 : 0);
            if (missing <= 0) {
                return;
            }
            wanted.put(vcpuCount, missing);
            if (worker == null) {
                Thread t = new Thread(this::work, THREAD_NAME);
                t.setDaemon(true);
                try {
                    t.start();
                } catch (OutOfMemoryError e) { // no native thread to be had: the next start makes its own VM
                    wanted.clear();
                    LOG.warn("no blank VM is made ahead: its thread did not start", e);
                    return;
                }
                worker = t;
                lastWorker = t;
            } else {
                notifyAll();
            }
        }
    }

    /** How many VMs {@link #take} has handed out so far. */
    synchronized long handedOut() {
        return handedOut;
    }

    /** How many VMs with {@code vcpuCount} vCPUs it holds now. */
    synchronized int held(int vcpuCount) {
        Deque<Held<T>> q = held.get(vcpuCount);
        return q == null ? 0 : q.size();
    }

    /** How many VMs it holds now, of any vCPU count. */
    synchronized int held() {
        return held.values().stream().mapToInt(Deque::size).sum();
    }

    /**
     * Waits until it holds no VM, makes none and its thread has ended.
     *
     * @return false if that did not happen within {@code timeout}
     */
    boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Thread last;
        synchronized (this) {
            while (worker != null) {
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

    /** The thread's loop: closes expired VMs, makes wanted ones, and ends when it holds and wants nothing. */
    private void work() {
        try {
            while (true) {
                List<T> expired = new ArrayList<>();
                Integer vcpus = nextTask(expired);
                if (vcpus == null) {
                    return; // no longer the pool's worker: a replenish from now on starts another
                }
                expired.forEach(PrebuiltPool::closeQuietly);
                if (vcpus >= 0) {
                    make(vcpus);
                }
            }
        } finally {
            List<T> left = new ArrayList<>();
            synchronized (this) {
                if (worker == Thread.currentThread()) { // the loop failed: give up what it holds
                    held.values().forEach(q -> q.forEach(h -> left.add(h.resource())));
                    held.clear();
                    wanted.clear();
                    making = null;
                    worker = null;
                    notifyAll();
                }
            }
            left.forEach(PrebuiltPool::closeQuietly);
        }
    }

    /**
     * Waits for something to do: takes the expired VMs out into {@code expired}, and returns -1 if there were any,
     * else the vCPU count of the VM to make now (marked as being made), else null when it holds and wants nothing
     * (the thread then ends).
     */
    private synchronized Integer nextTask(List<T> expired) {
        while (true) {
            long now = System.nanoTime();
            long nextExpiry = Long.MAX_VALUE;
            for (Iterator<Deque<Held<T>>> qs = held.values().iterator(); qs.hasNext(); ) {
                Deque<Held<T>> q = qs.next();
                while (!q.isEmpty() && now - q.peekFirst().madeAtNanos() >= keepAliveNanos) {
                    expired.add(q.pollFirst().resource());
                }
                if (q.isEmpty()) {
                    qs.remove();
                } else {
                    nextExpiry = Math.min(nextExpiry, q.peekFirst().madeAtNanos() + keepAliveNanos - now);
                }
            }
            if (!expired.isEmpty()) {
                return -1;
            }
            Iterator<Map.Entry<Integer, Integer>> w = wanted.entrySet().iterator();
            if (w.hasNext()) {
                Map.Entry<Integer, Integer> e = w.next();
                if (e.getValue() <= 1) {
                    w.remove();
                } else {
                    e.setValue(e.getValue() - 1);
                }
                making = e.getKey();
                return making;
            }
            if (held.isEmpty()) {
                worker = null;
                notifyAll();
                return null;
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, nextExpiry);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // nobody interrupts it: end, closing what it holds
                throw new IllegalStateException("the blank VM pool's thread was interrupted", e);
            }
        }
    }

    /** Makes one VM with {@code vcpus} vCPUs and holds it; a failure is logged and wants no more of that count. */
    private void make(int vcpus) {
        T made;
        try {
            made = factory.apply(vcpus);
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                making = null;
                wanted.remove(vcpus);
            }
            LOG.warn("making a blank VM with {} vCPUs ahead failed; the next cold start makes its own", vcpus, e);
            return;
        }
        synchronized (this) {
            making = null;
            held.computeIfAbsent(vcpus, k -> new ArrayDeque<>()).addLast(new Held<>(made, System.nanoTime()));
        }
    }

    @Override
    public synchronized String toString() {
        return "blank VM pool: " + held() + " held" + (making != null ? ", one with " + making + " vCPUs being made" : "");
    }
}
