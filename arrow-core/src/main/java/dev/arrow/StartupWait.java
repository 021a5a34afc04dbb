package dev.arrow;

import dev.arrow.config.PortForward;
import dev.arrow.internal.NetworkProbes;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Carries out one {@link WaitStrategy} for one {@link Arrow#start()}: made before the arrow boots, so that
 * its log counters ({@link #watchers()}) see every line, then {@link #await} blocks until the arrow is
 * ready or closes it and throws {@link NotReadyException}.
 */
final class StartupWait {

    /** Pause between two attempts of a network check. */
    static final Duration POLL_INTERVAL = Duration.ofMillis(100);
    /** Longest single attempt of a network check. */
    static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(2);

    /** Why the arrow is not ready (yet): what was awaited, for the message. */
    private static final class NotReady extends Exception {
        private static final long serialVersionUID = 1L;

        NotReady(String what) {
            super(what, null, false, false);
        }
    }

    /** Lines matching a {@link Wait.LogMessage} so far. */
    private static final class LogCount {
        final AtomicInteger seen = new AtomicInteger();
        final CompletableFuture<Void> reached = new CompletableFuture<>();
    }

    private final WaitStrategy strategy;
    private final Map<Wait.LogMessage, LogCount> counts = new IdentityHashMap<>();
    private final List<Consumer<OutputFrame>> watchers = new ArrayList<>();

    StartupWait(WaitStrategy strategy) {
        this.strategy = strategy;
        register(strategy);
    }

    private void register(WaitStrategy s) {
        if (s instanceof Wait.LogMessage m && !counts.containsKey(m)) {
            LogCount count = new LogCount();
            counts.put(m, count);
            watchers.add(frame -> {
                if (m.matches(frame.line()) && count.seen.incrementAndGet() >= m.times()) {
                    count.reached.complete(null);
                }
            });
        } else if (s instanceof Wait.All all) {
            all.strategies().forEach(this::register);
        }
    }

    /** The log counters, to be shown every line of output from the first one on. */
    List<Consumer<OutputFrame>> watchers() {
        return List.copyOf(watchers);
    }

    /**
     * Returns once {@code process} is ready; otherwise closes it and throws.
     *
     * @throws NotReadyException if the startup timeout elapsed, the arrow ended first, or this thread was
     *                           interrupted (its interrupt flag is set again)
     */
    void await(ArrowProcess process) {
        long begin = System.nanoTime();
        try {
            await(strategy, process, Long.MAX_VALUE);
        } catch (NotReady e) {
            throw fail(process, e.getMessage(), begin, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw fail(process, "interrupted while waiting for " + strategy, begin, e);
        } catch (RuntimeException e) {
            process.closeReleased();
            throw e;
        }
    }

    private static NotReadyException fail(ArrowProcess process, String what, long begin, Throwable cause) {
        Duration waited = Duration.ofNanos(System.nanoTime() - begin);
        Optional<ArrowOutcome> endedBefore = Optional.ofNullable(process.outcome().getNow(null));
        process.closeReleased(); // start() fails: nothing of the arrow is left when it does
        String message = endedBefore
                .map(o -> process.describe() + " ended (" + o + ", exit value " + o.exitValue()
                        + ") before it was ready: " + what)
                .orElseGet(() -> process.describe() + " was not ready after " + waited.toMillis() + " ms: " + what);
        return new NotReadyException(message, process.logs(), endedBefore.orElse(null), waited, cause);
    }

    private void await(WaitStrategy s, ArrowProcess p, long parentDeadline) throws NotReady, InterruptedException {
        long deadline = Math.min(parentDeadline, saturatedAdd(System.nanoTime(), s.startupTimeout().toNanos()));
        if (s instanceof Wait.All all) {
            for (WaitStrategy part : all.strategies()) {
                await(part, p, deadline);
            }
        } else if (s instanceof Wait.LogMessage m) {
            LogCount count = counts.get(m);
            awaitEither(count.reached, p, deadline);
            if (!count.reached.isDone()) {
                throw new NotReady("waiting for " + m + " (seen " + count.seen.get() + " of " + m.times() + ")");
            }
        } else if (s instanceof Wait.Exit) {
            awaitEither(new CompletableFuture<>(), p, deadline);
            if (p.isAlive()) {
                throw new NotReady("waiting for " + s);
            }
        } else if (s instanceof Wait.Port port) {
            InetSocketAddress address = p.forwardAddress(PortForward.Protocol.TCP, port.guestPort());
            poll(p, deadline, "waiting for " + port + " (host " + address.getHostString() + ":" + address.getPort()
                    + ") to accept connections", remaining -> NetworkProbes.accepts(address, remaining));
        } else {
            Wait.Http http = (Wait.Http) s;
            int guestPort = http.guestPort().isPresent() ? http.guestPort().getAsInt() : p.onlyTcpForward(http);
            InetSocketAddress address = p.forwardAddress(PortForward.Protocol.TCP, guestPort);
            poll(p, deadline, "waiting for " + http + " (host " + address.getHostString() + ":" + address.getPort()
                    + ")", new HttpProbe(http, address));
        }
    }

    /** One kind of attempt at a network check. */
    private interface Probe {
        /** Whether the arrow is ready, found within {@code timeout}. */
        boolean ready(Duration timeout);

        /** What the last attempt found, for the message; empty if nothing worth saying. */
        default String lastResult() {
            return "";
        }
    }

    /** A GET that must answer with a status and body the check accepts. */
    private static final class HttpProbe implements Probe {
        private final Wait.Http check;
        private final InetSocketAddress address;
        private String last = " (no answer yet)";

        HttpProbe(Wait.Http check, InetSocketAddress address) {
            this.check = check;
            this.address = address;
        }

        @Override
        public boolean ready(Duration timeout) {
            Optional<NetworkProbes.HttpAnswer> answer = NetworkProbes.get(address, check.path(), timeout,
                    Wait.Http.MAX_BODY_BYTES);
            if (answer.isEmpty()) {
                return false;
            }
            int status = answer.get().status();
            boolean statusOk = check.status().test(status);
            last = " (last answer: status " + status + (statusOk ? ", a body the check refused" : "") + ")";
            return statusOk && check.body().test(answer.get().body());
        }

        @Override
        public String lastResult() {
            return last;
        }
    }

    private static void poll(ArrowProcess p, long deadline, String what, Probe probe) throws NotReady, InterruptedException {
        awaitProgramStarted(p, deadline);
        while (true) {
            if (!p.isAlive()) {
                throw new NotReady(what);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new NotReady(what + probe.lastResult());
            }
            if (probe.ready(Duration.ofNanos(Math.min(left, ATTEMPT_TIMEOUT.toNanos())))) {
                return;
            }
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            awaitEither(new CompletableFuture<>(), p, Math.min(deadline, System.nanoTime() + POLL_INTERVAL.toNanos()));
        }
    }

    /**
     * When this VM booted a kernel (the backend reported {@link BootPhase#KERNEL_LOADED}), waits until the
     * guest reports {@link BootPhase#APP_EXECUTED}: the guest's network is up then, and a connection is
     * answered (or refused) at once instead of being held while it comes up. A VM that booted no kernel
     * (a backend reporting no phases, a clone resumed from a template) is probed at once.
     */
    private static void awaitProgramStarted(ArrowProcess p, long deadline) throws InterruptedException {
        while (p.isAlive() && p.timeline().reached(BootPhase.KERNEL_LOADED) && !p.timeline().reached(BootPhase.APP_EXECUTED)
                && System.nanoTime() < deadline) {
            awaitEither(new CompletableFuture<>(), p, Math.min(deadline, System.nanoTime() + 20_000_000L));
        }
    }

    /** Waits until {@code event} completes, the process exits or {@code deadline} passes. */
    private static void awaitEither(CompletableFuture<?> event, ArrowProcess p, long deadline) throws InterruptedException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            return;
        }
        try {
            CompletableFuture.anyOf(event, p.onExit()).get(left, TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // the caller looks at what happened
        }
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
    }
}
