package dev.arrow.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DurationsTest {

    @Test
    void parsesSingleAndCompoundUnits() {
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Durations.parse("1m30s250ms")).isEqualTo(Duration.ofMillis(90_250));
        assertThat(Durations.parse("15us")).isEqualTo(Duration.ofNanos(15_000));
        assertThat(Durations.parse("7ns")).isEqualTo(Duration.ofNanos(7));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "30", "s", "1.5s", "30 s", "-1s", "30sec", "PT30S"})
    void rejectsTextThatIsNoDuration(String text) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("\"" + text + "\" is not a duration; write a whole number with a unit h, m, s, ms, us or ns,"
                        + " e.g. \"30s\", \"500ms\", \"1h30m\"");
    }

    @Test
    void rejectsDurationsTooLongForJava() {
        assertThatThrownBy(() -> Durations.parse("9223372036854775807h"))
                .hasMessage("\"9223372036854775807h\" is too long a duration");
    }

    @Test
    void formatsWithTheLargestExactUnitAndReadsBack() {
        for (Duration d : new Duration[]{Duration.ofSeconds(30), Duration.ofMillis(500), Duration.ofMinutes(90),
                Duration.ofHours(2), Duration.ofMillis(1500), Duration.ofNanos(1_000_001), Duration.ZERO,
                Duration.ofNanos(3_000)}) {
            assertThat(Durations.parse(Durations.format(d))).isEqualTo(d);
        }
        assertThat(Durations.format(Duration.ofSeconds(30))).isEqualTo("30s");
        assertThat(Durations.format(Duration.ofMinutes(90))).isEqualTo("90m");
        assertThat(Durations.format(Duration.ofHours(2))).isEqualTo("2h");
        assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1s500ms");
        assertThat(Durations.format(Duration.ofMillis(500))).isEqualTo("500ms");
    }
}
