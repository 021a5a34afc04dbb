package dev.arrow.kvm.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KvmTraceSampleTest {
    private static final String HEADER = "# tracer: nop\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n";

    private static String exit(String reason, String rip) {
        return "       vcpu-0-4711    [000] d..1.   812.100200: kvm_exit: vcpu 0 reason " + reason + " rip " + rip
                + " info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000";
    }

    private static String entry(String rip) {
        return "       vcpu-0-4711    [000] .....   812.100300: kvm_entry: vcpu 0, rip " + rip;
    }

    @Test
    void countsEventsAndExitReasonsWithTheirMostFrequentRips() {
        List<String> lines = new ArrayList<>(HEADER.lines().toList());
        for (int i = 0; i < 5; i++) {
            lines.add(entry("0xffffffff81001000"));
            lines.add(exit("npf", "0xffffffff81001000"));
        }
        lines.add(entry("0xffffffff81002000"));
        lines.add(exit("npf", "0xffffffff81002000"));
        lines.add(entry("0xffffffff81003000"));
        lines.add(exit("intr", "0xffffffff81003000"));

        String summary = KvmTraceSample.summarise(lines, Duration.ofMillis(200));

        assertThat(summary).startsWith("kvm trace 200 ms: kvm_entry 7, kvm_exit 7; exits: ")
                .contains("intr 1 (0xffffffff81003000 x1)")
                .contains("npf 6 (0xffffffff81001000 x5 0xffffffff81002000 x1)")
                .contains("last events:").endsWith(exit("intr", "0xffffffff81003000").strip());
        assertThat(summary.lines().filter(l -> l.contains("kvm_"))).hasSize(1 + 8);
    }

    @Test
    void aThreadWithoutEventsIsSaidToNeitherEnterNorLeaveTheGuest() {
        assertThat(KvmTraceSample.summarise(HEADER.lines().toList(), Duration.ofMillis(200)))
                .isEqualTo("kvm trace 200 ms: no KVM events at all (the thread neither entered nor left the guest)");
    }

    @Test
    void withoutThePropertyNothingIsTracedAndTheReasonIsGiven() throws Exception {
        System.clearProperty(KvmTraceSample.PROPERTY);
        assertThat(KvmTraceSample.enabled()).isFalse();
        assertThat(KvmTraceSample.sample(1, Duration.ofMillis(1))).startsWith("kvm trace not taken (set -D"
                + KvmTraceSample.PROPERTY + "=true");
    }
}
