package dev.arrow.kvm.vmm;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread that runs the periodic idle probes of many VMs ({@link RunningVm}: are its vCPUs halted for good?),
 * instead of a thread per VM, and one wake-up of it per period for all of them: a single periodic tick runs every
 * probe in turn, so 100 idle VMs cost 4 wake-ups a second, not 400. {@link #shared()} is the JVM's: the tick is
 * scheduled when the first probe is and cancelled when the last one is; its daemon thread ends after
 * {@link #KEEP_ALIVE} without a tick. Each VM {@linkplain #schedule schedules} its own probe and
 * {@linkplain Probe#cancel cancels} it when it ends or closes; a probe that throws is logged and keeps running, and
 * neither disturbs the others.
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
    private final Set<Probe> probes = ConcurrentHashMap.newKeySet();
    private ScheduledFuture<?> tick; // guarded by this

    /**
     * @param threadName the name of its thread
     * @param period     how often the probes run; a probe first runs at the next tick, at most one period after it is
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
     * Runs {@code probe} at every tick until the returned handle is cancelled.
     *
     * @param owner what the probe is for, in log messages ("VM 3")
     */
    Probe schedule(String owner, Runnable probe) {
        Probe p = new Probe(owner, probe, this);
        synchronized (this) {
            probes.add(p);
            if (tick == null) {
                try {
                    tick = executor.scheduleAtFixedRate(this::runAll, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
                } catch (RuntimeException | Error e) {
                    probes.remove(p);
                    throw e;
                }
            }
        }
        return p;
    }

    /** One tick: every probe scheduled now, in turn, on the prober's thread. */
    private void runAll() {
        for (Probe p : probes) {
            p.run();
        }
    }

    /** {@code p} was cancelled: it leaves the tick, and the tick stops when no probe is left. */
    private void removed(Probe p) {
        synchronized (this) {
            probes.remove(p);
            if (probes.isEmpty() && tick != null) {
                tick.cancel(false);
                tick = null;
            }
        }
    }

    /** How many probes are scheduled and not cancelled (for tests and diagnostics). */
    int scheduledProbes() {
        return probes.size();
    }

    /** Whether the periodic tick is scheduled (tests: it is only while some probe is). */
    synchronized boolean ticking() {
        return tick != null;
    }

    /** One VM's probe on the prober's thread. */
    static final class Probe {
        private final String owner;
        private final Runnable task;
        private final SharedIdleProber prober;
        private boolean cancelled; // guarded by this
        private boolean failureLogged; // guarded by this

        private Probe(String owner, Runnable task, SharedIdleProber prober) {
            this.owner = owner;
            this.task = task;
            this.prober = prober;
        }

        private synchronized void run() {
            if (cancelled) {
                return;
            }
            try {
                task.run();
            } catch (RuntimeException | Error e) { // never out of the tick: that would end every VM's probe
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
            }
            prober.removed(this);
        }
    }
}
