package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.BootPhase;
import dev.arrow.BootTimeline;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TemplateBenchmarkTest {
    private static BootTimeline timeline(BootTimeline.Entry... entries) {
        return BootTimeline.of(Instant.EPOCH, List.of(entries));
    }

    @Test
    void resetToNextRunsFromOneCyclesEndToTheNextOnesFirstOutput() {
        // the first clone starts at 1000 and ends 300 later (1300); waitFor returns at 1450; the next starts at
        // 1500 and writes 200 later (1700)
        TemplateBenchmark.Cycle first = new TemplateBenchmark.Cycle(1000, 1450,
                timeline(BootTimeline.Entry.host(BootPhase.START, 0), BootTimeline.Entry.host(BootPhase.EXITED, 300)), Map.of());
        TemplateBenchmark.Cycle next = new TemplateBenchmark.Cycle(1500, 2000,
                timeline(BootTimeline.Entry.host(BootPhase.START, 0), BootTimeline.Entry.host(BootPhase.FIRST_OUTPUT, 200)), Map.of());
        TemplateBenchmark.ResetToNext r = first.resetToNext(next);
        assertThat(r.endToWaitedNanos()).isEqualTo(150);
        assertThat(r.waitedToNextStartNanos()).isEqualTo(50);
        assertThat(r.totalNanos()).isEqualTo(400);
        assertThat(next.sinceStart(BootPhase.FIRST_OUTPUT)).isEqualTo(200);
        assertThat(next.sinceStart(BootPhase.EXITED)).isEqualTo(-1);
    }

    @Test
    void aCycleWithoutItsEndOrTheNextsOutputIsRefused() {
        TemplateBenchmark.Cycle silent = new TemplateBenchmark.Cycle(0, 10, timeline(BootTimeline.Entry.host(BootPhase.START, 0)), Map.of());
        assertThatThrownBy(() -> silent.resetToNext(silent)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("without its end");
    }
}
