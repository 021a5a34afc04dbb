package dev.arrow.kvm.vmm;

import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread that runs the periodic idle probes of many VMs ({@link RunningVm}: are its vCPUs halted for good?),
 * instead of a thread per VM. {@link #shared()} is the JVM's: its daemon thread is made when the first probe is
 * scheduled and ends after {@link #KEEP_ALIVE} without any. Each VM {@linkplain #schedule schedules} its own probe and
 * {@linkplain Probe#cancel cancels} it when it ends or closes; a probe that throws is logged and keeps its schedule,
 * and neither disturbs the others.
 */
final class SharedIdleProber {
    private static final Logger LOG = LoggerFactory.getLogger(SharedIdleProber.class);
    /** How often vCPUs that have not exited are checked for being halted with interrupts off. */
    static final Duration PERIOD = Duration.ofMillis(250);
    /** How long the thread stays without any probe to run before it ends. */
    static final Duration KEEP_ALIVE = Duration.ofSeconds(10);
    private static final SharedIdleProber SHARED = new SharedIdleProber("arrow-idle-probe", PERIOD);

    private final ScheduledThreadPoolExecutor executor;
    private final long periodNanos;
    private final AtomicInteger scheduled = new AtomicInteger();

    /**
     * @param threadName the name of its thread
     * @param period     how often each probe runs, the first time one period after it is scheduled
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
     * Runs {@code probe} every period until the returned handle is cancelled.
     *
     * @param owner what the probe is for, in log messages ("VM 3")
     */
    Probe schedule(String owner, Runnable probe) {
        Probe p = new Probe(owner, probe, scheduled);
        scheduled.incrementAndGet();
        try {
            p.future = executor.scheduleAtFixedRate(p, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
        } catch (RuntimeException | Error e) {
            p.cancel(); // the executor may have queued it before it failed to make its thread: let it end at once
            throw e;
        }
        return p;
    }

    /** How many probes are scheduled and not cancelled (for tests and diagnostics). */
    int scheduledProbes() {
        return scheduled.get();
    }

    /** One VM's probe on the prober's thread. */
    static final class Probe implements Runnable {
        private final String owner;
        private final Runnable task;
        private final AtomicInteger scheduled;
        private volatile ScheduledFuture<?> future;
        private boolean cancelled; // guarded by this
        private boolean failureLogged; // prober thread only

        private Probe(String owner, Runnable task, AtomicInteger scheduled) {
            this.owner = owner;
            this.task = task;
            this.scheduled = scheduled;
        }

        @Override
        public synchronized void run() {
            if (cancelled) {
                // only a probe whose scheduling failed gets here: throwing ends a periodic task's schedule
                throw new CancellationException(owner + ": idle probe cancelled");
            }
            try {
                task.run();
            } catch (RuntimeException e) {
                if (!failureLogged) {
                    failureLogged = true;
                    LOG.warn("{}: the idle probe failed (it keeps running; later failures are logged at DEBUG)",
                            owner, e);
                } else {
                    LOG.debug("{}: the idle probe failed again: {}", owner, e.toString());
                }
            }
        }

        /**
         * Stops the probe: when this returns it is not running and never runs again (a run in progress on the
         * prober's thread is waited for; a probe is short). Idempotent; any thread, the prober's included.
         */
        void cancel() {
            synchronized (this) {
                if (cancelled) {
                    return;
                }
                cancelled = true;
                scheduled.decrementAndGet();
            }
            ScheduledFuture<?> f = future;
            if (f != null) {
                f.cancel(false);
            }
        }
    }
}
