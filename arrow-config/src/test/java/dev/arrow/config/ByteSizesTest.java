package dev.arrow.config;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ByteSizesTest {

    @ParameterizedTest
    @CsvSource({
            "64MiB, 67108864",
            "1GiB, 1073741824",
            "512KiB, 524288",
            "4096, 4096",
            "4096B, 4096",
            "2TiB, 2199023255552",
            "'64 MiB', 67108864",
            "0, 0",
    })
    void parsesBinaryUnitsAndPlainBytes(String text, long bytes) {
        assertThat(ByteSizes.parse(text)).isEqualTo(bytes);
    }

    @Test
    void rejectsDecimalUnitsWithAHint() {
        assertThatThrownBy(() -> ByteSizes.parse("64MB"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("\"64MB\" has an unknown unit \"MB\" (sizes are binary: write \"MiB\"); use B, KiB, MiB, GiB or TiB");
    }

    @Test
    void rejectsUnitsInTheWrongCase() {
        assertThatThrownBy(() -> ByteSizes.parse("64mib"))
                .hasMessage("\"64mib\" has an unknown unit \"mib\"; use B, KiB, MiB, GiB or TiB");
    }

    @Test
    void rejectsTextThatIsNoSize() {
        assertThatThrownBy(() -> ByteSizes.parse("-1MiB"))
                .hasMessage("\"-1MiB\" is not a size; write a whole number of bytes or a number with a unit,"
                        + " e.g. \"64MiB\", \"512KiB\", \"1GiB\"");
        assertThatThrownBy(() -> ByteSizes.parse("1.5GiB")).hasMessageStartingWith("\"1.5GiB\" is not a size");
        assertThatThrownBy(() -> ByteSizes.parse("")).hasMessageStartingWith("\"\" is not a size");
    }

    @Test
    void rejectsSizesBeyond64Bits() {
        assertThatThrownBy(() -> ByteSizes.parse("9999999TiB"))
                .hasMessage("\"9999999TiB\" does not fit in a 64-bit byte count");
        assertThatThrownBy(() -> ByteSizes.parse("99999999999999999999"))
                .hasMessage("\"99999999999999999999\" does not fit in a 64-bit byte count");
    }

    @ParameterizedTest
    @CsvSource({"67108864, 64MiB", "1000, 1000B", "1024, 1KiB", "1536, 1536B", "3221225472, 3GiB", "0, 0B"})
    void formatsWithTheLargestExactUnit(long bytes, String text) {
        assertThat(ByteSizes.format(bytes)).isEqualTo(text);
        assertThat(ByteSizes.parse(text)).isEqualTo(bytes);
    }

    @Test
    void sizeUnitRefusesOverflow() {
        assertThat(SizeUnit.MiB.toBytes(64)).isEqualTo(64L << 20);
        assertThatThrownBy(() -> SizeUnit.TiB.toBytes(1L << 30))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("1073741824TiB does not fit in a 64-bit byte count; use a smaller size");
    }
}
