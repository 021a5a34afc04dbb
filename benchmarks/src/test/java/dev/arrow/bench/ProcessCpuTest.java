package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProcessCpuTest {
    /** A stat line with utime 250, stime 75 and guest_time 120 ticks; every other field as Linux 6.1 writes it. */
    private static String statLine(String comm) {
        StringBuilder fields = new StringBuilder();
        // fields 3..52: state, ppid, ..., with utime (14), stime (15), guest_time (43) set
        for (int field = 3; field <= 52; field++) {
            String v = switch (field) {
                case 3 -> "S";
                case 14 -> "250";
                case 15 -> "75";
                case 43 -> "120";
                case 44 -> "9";
                default -> Integer.toString(field * 7);
            };
            fields.append(' ').append(v);
        }
        return "4242 (" + comm + ")" + fields + "\n";
    }

    @Test
    void readsUserSystemAndGuestTimeInNanoseconds() {
        ProcessCpu cpu = ProcessCpu.parse(statLine("java"), 100);
        assertThat(cpu.userNanos()).isEqualTo(2_500_000_000L);
        assertThat(cpu.systemNanos()).isEqualTo(750_000_000L);
        assertThat(cpu.guestNanos()).isEqualTo(1_200_000_000L);
        assertThat(cpu.totalNanos()).isEqualTo(3_250_000_000L);
        assertThat(cpu.hostNanos()).isEqualTo(2_050_000_000L);
    }

    @Test
    void countsFieldsFromTheLastParenthesisSoACommandNameWithSpacesAndParenthesesIsHarmless() {
        String line = statLine("a) b (c");
        assertThat(ProcessCpu.parse(line, 100)).isEqualTo(ProcessCpu.parse(statLine("java"), 100));
        assertThat(ProcessCpu.commandName(line)).isEqualTo("a) b (c");
    }

    @Test
    void honoursTheClockTickRate() {
        assertThat(ProcessCpu.parse(statLine("passt"), 250).userNanos()).isEqualTo(1_000_000_000L);
    }

    @Test
    void subtractsAnEarlierReading() {
        ProcessCpu later = new ProcessCpu(900, 300, 500);
        ProcessCpu earlier = new ProcessCpu(400, 100, 200);
        assertThat(later.minus(earlier)).isEqualTo(new ProcessCpu(500, 200, 300));
    }

    @Test
    void rejectsLinesThatAreNotStatLines() {
        assertThatThrownBy(() -> ProcessCpu.parse("Name: java", 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no '(comm)'");
        assertThatThrownBy(() -> ProcessCpu.parse("1 (init) S 0 1 1", 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected at least 43");
        assertThatThrownBy(() -> ProcessCpu.parse(statLine("x").replace(" 250 ", " 2x0 "), 100))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-numeric");
    }

    @Test
    void readsThisProcess() throws Exception {
        ProcessCpu self = ProcessCpu.read(ProcessHandle.current().pid(), ProcessCpu.ticksPerSecond());
        assertThat(self.totalNanos()).isPositive();
        assertThat(self.guestNanos()).isBetween(0L, self.userNanos());
        assertThat(ProcessCpu.commandName(java.nio.file.Files.readString(ProcessCpu.statFile(ProcessHandle.current().pid()))))
                .isNotEmpty();
    }
}
