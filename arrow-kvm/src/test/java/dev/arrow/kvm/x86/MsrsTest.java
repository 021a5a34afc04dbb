package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class MsrsTest {

    private static Map<Integer, Long> boot() {
        return Msrs.boot().stream().collect(Collectors.toMap(MsrEntry::index, MsrEntry::value));
    }

    @Test
    void syscallAndSysenterEntryPointsStartCleared() {
        Map<Integer, Long> m = boot();
        for (int index : new int[] {0x174, 0x175, 0x176, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102}) {
            assertThat(m).containsEntry(index, 0L);
        }
    }

    @Test
    void tscFastStringsAndMtrrDefaults() {
        Map<Integer, Long> m = boot();
        assertThat(m).containsEntry(0x10, 0L);
        assertThat(m.get(0x1a0) & 1).as("fast strings").isEqualTo(1);
        assertThat(m.get(0x2ff)).as("MTRRs on, default write-back").isEqualTo((1L << 11) | 6);
    }

    @Test
    void eachMsrAppearsOnce() {
        assertThat(Msrs.boot()).extracting(MsrEntry::index).doesNotHaveDuplicates();
    }
}
