package dev.arrow.internal;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One-shot delayed actions on the JDK's shared {@link CompletableFuture} delay scheduler, cancellable
 * without leaving the task queued. The action runs on an async thread, never on the scheduler's own.
 */
public final class Timers {

    private Timers() {
    }

    /** A scheduled action; {@link #cancel()} stops it if it has not run yet. */
    public static final class Scheduled {
        private final CompletableFuture<Boolean> fired = new CompletableFuture<>();

        /** Cancels the action if it has not started; idempotent. */
        public void cancel() {
            fired.complete(Boolean.FALSE);
        }
    }

    /** Runs {@code action} after {@code delay} unless cancelled first. */
    public static Scheduled after(Duration delay, Runnable action) {
        Scheduled s = new Scheduled();
        s.fired.thenAcceptAsync(fire -> {
            if (fire) {
                action.run();
            }
        });
        // completeOnTimeout removes its queued task when the future completes earlier (cancel()).
        s.fired.completeOnTimeout(Boolean.TRUE, TimeUnit.NANOSECONDS.convert(delay), TimeUnit.NANOSECONDS);
        return s;
    }
}
