package dev.arrow;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Where an arrow's start-up time went: the {@link BootPhase}s reached so far, each with its offset
 * from {@link BootPhase#START} on the host's monotonic clock and, for guest phases, the guest's
 * own uptime when init reported it. An immutable snapshot ({@link ArrowProcess#timeline()} returns
 * a fresh one each time); at most one entry per phase. Host offsets and guest uptimes are on
 * different clocks: the guest's starts near {@link BootPhase#FIRST_KVM_RUN}, not at START.
 */
public final class BootTimeline {

    /**
     * One phase reached.
     *
     * @param phase            which
     * @param sinceStartNanos  host monotonic nanoseconds since {@link BootPhase#START} (0 for START)
     * @param guestUptimeNanos the guest's uptime the guest reported, for guest phases
     */
    public record Entry(BootPhase phase, long sinceStartNanos, OptionalLong guestUptimeNanos) {
        public Entry {
            Objects.requireNonNull(phase, "phase");
            Objects.requireNonNull(guestUptimeNanos, "guest uptime (OptionalLong.empty() for host phases)");
            if (sinceStartNanos < 0) {
                throw new IllegalArgumentException(phase.label() + " at " + sinceStartNanos + " ns, before the start");
            }
            if (guestUptimeNanos.isPresent() && guestUptimeNanos.getAsLong() < 0) {
                throw new IllegalArgumentException(phase.label() + " has a negative guest uptime");
            }
        }

        /** A host phase. */
        public static Entry host(BootPhase phase, long sinceStartNanos) {
            return new Entry(phase, sinceStartNanos, OptionalLong.empty());
        }

        /** A guest phase, reported at {@code guestUptimeNanos} and received at {@code sinceStartNanos}. */
        public static Entry guest(BootPhase phase, long sinceStartNanos, long guestUptimeNanos) {
            return new Entry(phase, sinceStartNanos, OptionalLong.of(guestUptimeNanos));
        }

        public Duration sinceStart() {
            return Duration.ofNanos(sinceStartNanos);
        }
    }

    private final Instant startedAt;
    private final Map<BootPhase, Entry> byPhase;
    private final List<Entry> ordered;

    private BootTimeline(Instant startedAt, Map<BootPhase, Entry> byPhase) {
        this.startedAt = startedAt;
        this.byPhase = byPhase;
        List<Entry> list = new ArrayList<>(byPhase.values());
        list.sort(Comparator.comparingLong(Entry::sinceStartNanos).thenComparing(Entry::phase));
        this.ordered = List.copyOf(list);
    }

    /**
     * A timeline of {@code entries}, started at wall-clock {@code startedAt}.
     *
     * @throws IllegalArgumentException if a phase appears twice
     */
    public static BootTimeline of(Instant startedAt, Collection<Entry> entries) {
        Objects.requireNonNull(startedAt, "startedAt");
        Map<BootPhase, Entry> map = new EnumMap<>(BootPhase.class);
        for (Entry e : entries) {
            if (map.put(e.phase(), e) != null) {
                throw new IllegalArgumentException("phase " + e.phase().label() + " appears twice");
            }
        }
        return new BootTimeline(startedAt, map);
    }

    /** Wall-clock time of {@link BootPhase#START} (for correlating with logs; offsets use the monotonic clock). */
    public Instant startedAt() {
        return startedAt;
    }

    /** The phases reached, ordered by their host offset. */
    public List<Entry> entries() {
        return ordered;
    }

    public Optional<Entry> entry(BootPhase phase) {
        return Optional.ofNullable(byPhase.get(phase));
    }

    public boolean reached(BootPhase phase) {
        return byPhase.containsKey(phase);
    }

    /** Host time from START to {@code phase}; empty if not reached. */
    public Optional<Duration> sinceStart(BootPhase phase) {
        return entry(phase).map(Entry::sinceStart);
    }

    /** Host time from {@code from} to {@code to} (negative if {@code to} came first); empty unless both were reached. */
    public Optional<Duration> between(BootPhase from, BootPhase to) {
        Entry a = byPhase.get(from);
        Entry b = byPhase.get(to);
        return a == null || b == null ? Optional.empty() : Optional.of(Duration.ofNanos(b.sinceStartNanos() - a.sinceStartNanos()));
    }

    /** The guest's uptime at a guest phase; empty for host phases and phases not reached. */
    public Optional<Duration> guestUptime(BootPhase phase) {
        Entry e = byPhase.get(phase);
        return e == null || e.guestUptimeNanos().isEmpty() ? Optional.empty()
                : Optional.of(Duration.ofNanos(e.guestUptimeNanos().getAsLong()));
    }

    /** One line per phase: host offset in milliseconds, the step since the previous phase, the guest uptime. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("boot timeline (host ms since start; step; guest uptime ms)");
        long previous = 0;
        for (Entry e : ordered) {
            sb.append(String.format(java.util.Locale.ROOT, "%n  %10.3f  %+10.3f  %-16s", e.sinceStartNanos() / 1e6,
                    (e.sinceStartNanos() - previous) / 1e6, e.phase().label()));
            e.guestUptimeNanos().ifPresent(u -> sb.append(String.format(java.util.Locale.ROOT, "  guest %.3f", u / 1e6)));
            previous = e.sinceStartNanos();
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BootTimeline t && t.startedAt.equals(startedAt) && t.byPhase.equals(byPhase);
    }

    @Override
    public int hashCode() {
        return Objects.hash(startedAt, byPhase);
    }
}
