package dev.arrow.internal;

import dev.arrow.BootPhase;
import dev.arrow.BootTimeline;
import dev.arrow.internal.jfr.ArrowRunEvent;
import dev.arrow.internal.jfr.BootPhaseEvent;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.OutputSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Records one arrow's {@link BootTimeline}: phases reported by arrow-core and the backend, first
 * report wins. Each phase is also committed as a JFR {@link BootPhaseEvent}; {@link #finish}
 * commits the {@link ArrowRunEvent} and logs the whole timeline at debug level. Thread-safe.
 */
public final class BootRecorder implements BootEvents {
    private static final Logger LOG = LoggerFactory.getLogger(BootRecorder.class);

    private final long processId;
    private final long startNanos;
    private final Instant startedAt;
    private final Map<BootPhase, BootTimeline.Entry> entries = new ConcurrentHashMap<>();
    private final ArrowRunEvent run = new ArrowRunEvent();
    private volatile boolean outputSeen;

    private BootRecorder(long processId, long startNanos, Instant startedAt) {
        this.processId = processId;
        this.startNanos = startNanos;
        this.startedAt = startedAt;
    }

    /** Starts the timeline of process {@code processId} now: records {@link BootPhase#START}. */
    public static BootRecorder begin(long processId) {
        long now = System.nanoTime();
        BootRecorder r = new BootRecorder(processId, now, Instant.now());
        r.run.begin();
        r.host(BootPhase.START, now);
        return r;
    }

    public long processId() {
        return processId;
    }

    /** Records a host phase reached now. */
    public void host(BootPhase phase) {
        host(phase, System.nanoTime());
    }

    @Override
    public void host(BootPhase phase, long nanoTime) {
        if (phase.isGuestPhase()) {
            LOG.debug("arrow process {}: ignoring host report of guest phase {}", processId, phase.label());
            return;
        }
        record(BootTimeline.Entry.host(phase, Math.max(0, nanoTime - startNanos)));
    }

    @Override
    public void guest(BootPhase phase, long guestUptimeNanos, long nanoTime) {
        if (!phase.isGuestPhase() || guestUptimeNanos < 0) {
            LOG.debug("arrow process {}: ignoring guest report of {} at {}", processId, phase.label(), guestUptimeNanos);
            return;
        }
        record(BootTimeline.Entry.guest(phase, Math.max(0, nanoTime - startNanos), guestUptimeNanos));
    }

    private void record(BootTimeline.Entry entry) {
        if (entries.putIfAbsent(entry.phase(), entry) != null) {
            return;
        }
        BootPhaseEvent event = new BootPhaseEvent();
        if (event.shouldCommit()) {
            event.processId = processId;
            event.phase = entry.phase().label();
            event.sinceStart = entry.sinceStartNanos();
            entry.guestUptimeNanos().ifPresent(u -> event.guestUptime = u);
            event.commit();
        }
    }

    /** The sink {@code sink} with {@link BootPhase#FIRST_OUTPUT} recorded at its first non-empty write. */
    public OutputSink tapFirstOutput(OutputSink sink) {
        return (bytes, offset, length) -> {
            if (!outputSeen && length > 0) {
                outputSeen = true;
                host(BootPhase.FIRST_OUTPUT);
            }
            sink.write(bytes, offset, length);
        };
    }

    public BootTimeline snapshot() {
        return BootTimeline.of(startedAt, entries.values());
    }

    /**
     * The arrow has ended with {@code outcome}: records {@link BootPhase#EXITED} unless the backend
     * did, commits the run's JFR event and logs the timeline at debug level. Call once.
     */
    public void finish(String binary, String outcome) {
        host(BootPhase.EXITED);
        BootTimeline timeline = snapshot();
        run.end();
        if (run.shouldCommit()) {
            run.processId = processId;
            run.binary = binary;
            run.outcome = outcome;
            timeline.entry(BootPhase.APP_EXECUTED).ifPresent(e -> run.startToAppExec = e.sinceStartNanos());
            timeline.entry(BootPhase.FIRST_OUTPUT).ifPresent(e -> run.startToFirstOutput = e.sinceStartNanos());
            run.commit();
        }
        if (LOG.isDebugEnabled()) {
            LOG.debug("arrow process {} ({}) {}", processId, outcome, timeline);
        }
    }
}
