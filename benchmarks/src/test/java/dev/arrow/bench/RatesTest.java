package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RatesTest {
    @Test
    void mibPerSecond() {
        assertThat(Rates.mibPerSecond(8L << 20, 2_000_000_000L)).isCloseTo(4.0, within(1e-9));
        assertThat(Rates.mibPerSecond(512 << 10, 250_000_000L)).isCloseTo(2.0, within(1e-9));
    }

    @Test
    void perMibAndSecondsPerGib() {
        assertThat(Rates.perMib(300_000, 256 << 10)).isCloseTo(1_200_000, within(1e-6));
        // 3 s of CPU for 512 MiB: 6 s per GiB
        assertThat(Rates.secondsPerGib(3_000_000_000L, 512L << 20)).isCloseTo(6.0, within(1e-9));
    }

    @Test
    void nothingMovedHasNoRate() {
        assertThat(Rates.mibPerSecond(0, 1_000)).isNaN();
        assertThat(Rates.mibPerSecond(1_000, 0)).isNaN();
        assertThat(Rates.perMib(5, 0)).isNaN();
        assertThat(Rates.secondsPerGib(5, 0)).isNaN();
    }

    @Test
    void deltaOfCountersCountsNewOnesFromZero() {
        Map<String, Long> d = Rates.delta(Map.of("io-out", 10L, "hlt", 3L), Map.of("io-out", 25L, "hlt", 3L, "mmio-write", 4L));
        assertThat(d).containsExactlyInAnyOrderEntriesOf(Map.of("io-out", 15L, "hlt", 0L, "mmio-write", 4L));
    }
}
