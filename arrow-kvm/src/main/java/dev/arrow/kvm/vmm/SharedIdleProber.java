package dev.arrow.kvm.vmm;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread that runs the idle probes of many VMs ({@link RunningVm}: are its vCPUs halted for good?), instead of a
 * thread per VM. Time is cut into ticks of {@link #PERIOD}; each probe says at which tick it wants to run next, and
 * the thread wakes only at ticks where some probe is due, running all of them in turn. An idle VM's probe asks for a
 * tick up to half a minute ahead ({@link IdleProbeSchedule}), and {@linkplain Probe#expedite() expedites} itself to
 * the next tick when its guest shows activity, so 100 idle VMs wake the thread a few times a second at most, not 4
 * times a second each. (Until 2026-12-07 every probe ran at every tick: 400 runs a second for 100 idle arrows, half a
 * lab core's percent, benchmarks/RESULTS.md.)
 *
 * <p>{@link #shared()} is the JVM's; its daemon thread ends {@link #KEEP_ALIVE} after the last probe is cancelled.
 * Each VM {@linkplain #schedule schedules} its own probe and {@linkplain Probe#cancel cancels} it when it ends or
 * closes; a probe that throws is logged and runs again at the next tick, and neither disturbs the others.
 */
final class SharedIdleProber {
    private static final Logger LOG = LoggerFactory.getLogger(SharedIdleProber.class);
    /** One tick: the finest grain at which vCPUs that have not exited are checked. */
    static final Duration PERIOD = Duration.ofMillis(250);
    /** How long the thread stays without any probe to run before it ends. */
    static final Duration KEEP_ALIVE = Duration.ofSeconds(10);
    /** How often the thread sums up its work at DEBUG. */
    static final Duration SUMMARY_EVERY = Duration.ofSeconds(10);
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final SharedIdleProber SHARED = new SharedIdleProber("arrow-idle-probe", PERIOD);

    /** What a VM's probe does at a tick. */
    @FunctionalInterface
    interface Task {
        /**
         * Runs the probe at {@code tick}.
         *
         * @return the tick at which it wants to run next; a tick not after {@code tick} means the next one
         */
        long run(long tick);
    }

    private final ScheduledThreadPoolExecutor executor;
    private final long periodNanos;
    private final long origin = System.nanoTime();
    /** Probes waiting for their tick, the earliest first; a probe being run is not in it. Guarded by this. */
    private final PriorityQueue<Probe> waiting = new PriorityQueue<>(Comparator.comparingLong(p -> p.dueTick));
    private int scheduled; // probes not cancelled; guarded by this
    private ScheduledFuture<?> wakeUp; // guarded by this
    private long wakeUpTick = Long.MAX_VALUE; // guarded by this
    private long wakeUps; // guarded by this
    /** What the thread did since the last DEBUG summary ({@link #SUMMARY_EVERY}); the prober's thread only. */
    private long summaryStart = System.nanoTime();
    private long summaryWakeUps;
    private long summaryRuns;
    private long summaryCpuNanos;

    /**
     * @param threadName the name of its thread
     * @param period     the length of a tick; a probe first runs at the next tick, at most one period after it is
     *                   scheduled
     */
    SharedIdleProber(String threadName, Duration period) {
        this.periodNanos = period.toNanos();
        this.executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        executor.setKeepAliveTime(KEEP_ALIVE.toNanos(), TimeUnit.NANOSECONDS);
        executor.allowCoreThreadTimeOut(true);
    }

    /** The JVM's prober, which every {@link RunningVm} uses. */
    static SharedIdleProber shared() {
        return SHARED;
    }

    /**
     * Runs {@code task} at the next tick, and then at the ticks it asks for, until the returned handle is cancelled.
     *
     * @param owner what the probe is for, in log messages ("VM 3")
     */
    Probe schedule(String owner, Task task) {
        Probe p = new Probe(owner, task, this);
        synchronized (this) {
            p.dueTick = currentTick() + 1;
            waiting.add(p);
            scheduled++;
            try {
                wakeUpBy(p.dueTick);
            } catch (RuntimeException | Error e) {
                waiting.remove(p);
                scheduled--;
                throw e;
            }
        }
        return p;
    }

    private long currentTick() {
        return (System.nanoTime() - origin) / periodNanos;
    }

    /** Makes sure the thread wakes at {@code tick} or before. Holds this. */
    private void wakeUpBy(long tick) {
        if (wakeUp != null && wakeUpTick <= tick) {
            return;
        }
        if (wakeUp != null) {
            wakeUp.cancel(false);
        }
        long delay = Math.max(0, origin + tick * periodNanos - System.nanoTime());
        wakeUp = executor.schedule(this::runDue, delay, TimeUnit.NANOSECONDS);
        wakeUpTick = tick;
    }

    /** One wake-up: every probe due by now, in turn, on the prober's thread; then the next wake-up. */
    private void runDue() {
        boolean summarize = LOG.isDebugEnabled();
        long cpuBefore = summarize ? THREADS.getCurrentThreadCpuTime() : 0;
        int runs = runDueProbes();
        if (summarize) {
            summarize(runs, THREADS.getCurrentThreadCpuTime() - cpuBefore);
        }
    }

    /**
     * At DEBUG, once every {@link #SUMMARY_EVERY}: how often the thread woke, how many probes it ran and the CPU time
     * it took (what idle arrows cost the JVM's CPU: docs/idle.md).
     */
    private void summarize(int runs, long cpuNanos) {
        summaryWakeUps++;
        summaryRuns += runs;
        summaryCpuNanos += cpuNanos;
        long now = System.nanoTime();
        if (now - summaryStart >= SUMMARY_EVERY.toNanos()) {
            LOG.debug("idle prober: {} probes scheduled; in the last {} s {} wake-ups, {} probe runs, {} us of CPU",
                    scheduledProbes(), TimeUnit.NANOSECONDS.toSeconds(now - summaryStart), summaryWakeUps, summaryRuns,
                    TimeUnit.NANOSECONDS.toMicros(summaryCpuNanos));
            summaryStart = now;
            summaryWakeUps = 0;
            summaryRuns = 0;
            summaryCpuNanos = 0;
        }
    }

    /** Runs every probe due by now; returns how many. */
    private int runDueProbes() {
        long tick;
        List<Probe> due = new ArrayList<>();
        synchronized (this) {
            wakeUp = null;
            wakeUpTick = Long.MAX_VALUE;
            wakeUps++;
            tick = currentTick();
            while (!waiting.isEmpty() && waiting.peek().dueTick <= tick) {
                Probe p = waiting.poll();
                p.expedited = false;
                due.add(p);
            }
        }
        for (Probe p : due) {
            long next = p.run(tick);
            synchronized (this) {
                if (p.cancelled) {
                    continue;
                }
                p.dueTick = p.expedited ? tick + 1 : Math.max(next, tick + 1);
                p.expedited = false;
                waiting.add(p);
            }
        }
        synchronized (this) {
            if (!waiting.isEmpty()) {
                wakeUpBy(waiting.peek().dueTick);
            }
        }
        return due.size();
    }

    /** {@code p} wants to run at the next tick rather than at the one it asked for. */
    private synchronized void expedite(Probe p) {
        if (p.cancelled) {
            return;
        }
        long next = currentTick() + 1;
        if (!waiting.remove(p)) { // being run now: it goes back at the next tick
            p.expedited = true;
            return;
        }
        p.dueTick = Math.min(p.dueTick, next);
        waiting.add(p);
        wakeUpBy(p.dueTick);
    }

    /** {@code p} was cancelled: it leaves the queue, and the wake-ups stop when no probe is left. */
    private synchronized void removed(Probe p) {
        waiting.remove(p);
        scheduled--;
        if (scheduled == 0 && wakeUp != null) {
            wakeUp.cancel(false);
            wakeUp = null;
            wakeUpTick = Long.MAX_VALUE;
        }
    }

    /** How many probes are scheduled and not cancelled (for tests and diagnostics). */
    synchronized int scheduledProbes() {
        return scheduled;
    }

    /** Whether a wake-up of the thread is scheduled (tests: it is only while some probe is). */
    synchronized boolean ticking() {
        return wakeUp != null;
    }

    /** How many times the thread woke to run probes so far (tests and diagnostics). */
    synchronized long wakeUps() {
        return wakeUps;
    }

    /** One VM's probe on the prober's thread. */
    static final class Probe {
        private final String owner;
        private final Task task;
        private final SharedIdleProber prober;
        private long dueTick; // guarded by prober
        private boolean expedited; // guarded by prober
        private volatile boolean cancelled; // written under this and prober
        private boolean failureLogged; // guarded by this

        private Probe(String owner, Task task, SharedIdleProber prober) {
            this.owner = owner;
            this.task = task;
            this.prober = prober;
        }

        /** Runs the task at {@code tick}; returns the tick it wants next (the next tick after a failure). */
        private synchronized long run(long tick) {
            if (cancelled) {
                return tick + 1;
            }
            try {
                return task.run(tick);
            } catch (RuntimeException | Error e) { // never out of the wake-up: that would end every VM's probe
                if (!failureLogged) {
                    failureLogged = true;
                    LOG.warn("{}: the idle probe failed (it keeps running; later failures are logged at DEBUG)",
                            owner, e);
                } else {
                    LOG.debug("{}: the idle probe failed again: {}", owner, e.toString());
                }
                return tick + 1;
            }
        }

        /** Asks for a run at the next tick, if the probe was due later. Any thread; cheap enough for rare calls. */
        void expedite() {
            prober.expedite(this);
        }

        /**
         * Stops the probe: when this returns it is not running and never runs again (a run in progress on the
         * prober's thread is waited for; a probe is short). Idempotent; any thread, the prober's included.
         */
        void cancel() {
            synchronized (this) {
                synchronized (prober) {
                    if (cancelled) {
                        return;
                    }
                    cancelled = true;
                }
            }
            prober.removed(this);
        }
    }
}
