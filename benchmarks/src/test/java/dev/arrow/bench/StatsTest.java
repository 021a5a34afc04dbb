package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class StatsTest {
    @Test
    void medianOfOddAndEvenSamples() {
        assertThat(Stats.median(List.of(5, 1, 3))).isEqualTo(3);
        assertThat(Stats.median(List.of(4, 1, 3, 2))).isEqualTo(2.5);
        assertThat(Stats.median(List.of())).isNaN();
    }

    @Test
    void extremesAndGeometricMean() {
        assertThat(Stats.min(List.of(3L, 1L, 2L))).isEqualTo(1);
        assertThat(Stats.max(List.of(3L, 1L, 2L))).isEqualTo(3);
        assertThat(Stats.geometricMean(List.of(1.0, 4.0))).isCloseTo(2.0, within(1e-12));
    }

    @Test
    void percentilesTakeTheNearestRank() {
        List<Integer> ten = List.of(10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
        assertThat(Stats.percentile(ten, 90)).isEqualTo(9);
        assertThat(Stats.percentile(ten, 50)).isEqualTo(5);
        assertThat(Stats.percentile(ten, 100)).isEqualTo(10);
        assertThat(Stats.percentile(ten, 1)).isEqualTo(1);
        assertThat(Stats.percentile(List.of(7, 3), 90)).isEqualTo(7);
        assertThat(Stats.percentile(List.of(), 90)).isNaN();
        assertThatThrownBy(() -> Stats.percentile(ten, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void chartScalesRoundUpToReadableTicks() {
        assertThat(TimelineChart.niceCeiling(3400)).isEqualTo(5000);
        assertThat(TimelineChart.niceCeiling(1800)).isEqualTo(2000);
        assertThat(TimelineChart.niceCeiling(2100)).isEqualTo(2500);
        assertThat(TimelineChart.niceCeiling(100)).isEqualTo(100);
    }
}
