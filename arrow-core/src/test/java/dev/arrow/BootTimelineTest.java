package dev.arrow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class BootTimelineTest {
    static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    static BootTimeline sample() {
        return BootTimeline.of(T0, List.of(
                BootTimeline.Entry.host(BootPhase.EXITED, 90_000_000),
                BootTimeline.Entry.host(BootPhase.START, 0),
                BootTimeline.Entry.guest(BootPhase.INIT_STARTED, 40_000_000, 30_000_000),
                BootTimeline.Entry.host(BootPhase.FIRST_KVM_RUN, 10_000_000),
                BootTimeline.Entry.host(BootPhase.FIRST_OUTPUT, 50_000_000),
                BootTimeline.Entry.guest(BootPhase.APP_EXECUTED, 52_000_000, 41_000_000)));
    }

    @Test
    void entriesAreOrderedByHostOffsetWhateverTheOrderGiven() {
        assertThat(sample().entries()).extracting(BootTimeline.Entry::phase).containsExactly(BootPhase.START,
                BootPhase.FIRST_KVM_RUN, BootPhase.INIT_STARTED, BootPhase.FIRST_OUTPUT, BootPhase.APP_EXECUTED,
                BootPhase.EXITED);
    }

    @Test
    void offsetsAndIntervalsAreOnTheHostClock() {
        BootTimeline t = sample();
        assertThat(t.sinceStart(BootPhase.FIRST_KVM_RUN)).contains(Duration.ofMillis(10));
        assertThat(t.between(BootPhase.FIRST_KVM_RUN, BootPhase.EXITED)).contains(Duration.ofMillis(80));
        assertThat(t.between(BootPhase.APP_EXECUTED, BootPhase.FIRST_OUTPUT)).contains(Duration.ofMillis(-2));
        assertThat(t.between(BootPhase.START, BootPhase.VM_CREATED)).isEmpty();
        assertThat(t.reached(BootPhase.VM_CREATED)).isFalse();
        assertThat(t.startedAt()).isEqualTo(T0);
    }

    @Test
    void guestUptimeOnlyForGuestPhases() {
        BootTimeline t = sample();
        assertThat(t.guestUptime(BootPhase.INIT_STARTED)).contains(Duration.ofMillis(30));
        assertThat(t.guestUptime(BootPhase.FIRST_KVM_RUN)).isEmpty();
        assertThat(t.guestUptime(BootPhase.APP_EXITED)).isEmpty();
    }

    @Test
    void aPhaseTwiceIsRejected() {
        assertThatThrownBy(() -> BootTimeline.of(T0, List.of(BootTimeline.Entry.host(BootPhase.START, 0),
                BootTimeline.Entry.host(BootPhase.START, 5)))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("start");
    }

    @Test
    void negativeOffsetsAndUptimesAreRejected() {
        assertThatThrownBy(() -> BootTimeline.Entry.host(BootPhase.EXITED, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exited");
        assertThatThrownBy(() -> BootTimeline.Entry.guest(BootPhase.INIT_STARTED, 1, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("guest uptime");
    }

    @Test
    void toStringListsEveryPhaseWithOffsetStepAndGuestUptime() {
        String s = sample().toString();
        assertThat(s).contains("first-kvm-run", "init-started", "exited");
        assertThat(s.lines().filter(l -> l.contains("init-started")).findFirst().orElseThrow())
                .contains("40.000", "+30.000", "guest 30.000");
    }

    @Test
    void snapshotsWithTheSameContentAreEqual() {
        assertThat(sample()).isEqualTo(sample()).hasSameHashCodeAs(sample());
    }
}
