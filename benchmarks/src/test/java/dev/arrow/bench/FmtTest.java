package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FmtTest {
    @Test
    void significantKeepsThreeDigitsOfSmallRatesAndNoFractionsOfLargeOnes() {
        assertThat(Fmt.significant(4.0123)).isEqualTo("4.01");
        assertThat(Fmt.significant(0.0024951)).isEqualTo("0.00250");
        assertThat(Fmt.significant(63.5)).isEqualTo("63.5");
        assertThat(Fmt.significant(2720.4)).isEqualTo("2720");
        assertThat(Fmt.significant(0)).isEqualTo("0");
        assertThat(Fmt.significant(Double.NaN)).isEqualTo("–");
    }

    @Test
    void bytesInTheLargestWholeUnit() {
        assertThat(Fmt.bytes(8L << 20)).isEqualTo("8 MiB");
        assertThat(Fmt.bytes(64 << 10)).isEqualTo("64 KiB");
        assertThat(Fmt.bytes(1000)).isEqualTo("1000 bytes");
        assertThat(Fmt.bytes((1 << 20) + 1024)).isEqualTo("1025 KiB");
    }
}
