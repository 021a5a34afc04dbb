package dev.arrow.spi;

import dev.arrow.BootPhase;

/**
 * Where a backend reports the boot phases of one arrow, for its {@link dev.arrow.BootTimeline}.
 * Provided by arrow-core to {@link ArrowLauncher#launch(dev.arrow.config.ArrowSpec, OutputSink, OutputSink, BootEvents)}.
 * The first report of a phase wins; later ones are ignored. Thread-safe, quick and non-blocking:
 * backends may call it on their vCPU threads.
 */
public interface BootEvents {
    /** Ignores every report. */
    BootEvents NONE = new BootEvents() {
        @Override
        public void host(BootPhase phase, long nanoTime) {
        }

        @Override
        public void guest(BootPhase phase, long guestUptimeNanos, long nanoTime) {
        }
    };

    /** The host reached {@code phase} at {@code nanoTime} ({@link System#nanoTime()}). */
    void host(BootPhase phase, long nanoTime);

    /**
     * The guest reported reaching {@code phase} at {@code guestUptimeNanos} of its own clock, received at
     * {@code nanoTime}. Phases that are not {@link BootPhase#isGuestPhase() guest phases} and negative
     * uptimes are ignored.
     */
    void guest(BootPhase phase, long guestUptimeNanos, long nanoTime);
}
