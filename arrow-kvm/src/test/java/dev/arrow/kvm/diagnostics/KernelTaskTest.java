package dev.arrow.kvm.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.sys.LibC;
import org.junit.jupiter.api.Test;

class KernelTaskTest {

    @Test
    void aStatLineGivesStateAndCpuTimesEvenWithParenthesesInTheName() {
        String stat = "4711 (arrow-vm1 (vcpu1)) S 1 4700 4700 0 -1 4194368 10 0 0 0 12 340 0 0 20 0 30 0 100 0 0";
        assertThat(KernelTask.describeStat(stat)).isEqualTo(" state S, 120 ms user, 3400 ms system");
        assertThat(KernelTask.describeStat("garbage")).isEqualTo(" unreadable stat");
        assertThat(KernelTask.describeStat("1 (x) R 1 2")).isEqualTo(" unreadable stat");
    }

    @Test
    void aSchedstatLineGivesTimeOnACpuTimeWaitingForOneAndSlices() {
        assertThat(KernelTask.describeSchedstat("2100000000 300000000 812\n"))
                .isEqualTo(", scheduler: 2.100 s on a CPU, 0.300 s waiting for one, 812 slices");
        assertThat(KernelTask.describeSchedstat("12 x 3")).isEqualTo(", unreadable schedstat");
        assertThat(KernelTask.describeSchedstat("12")).isEqualTo(", unreadable schedstat");
    }

    @Test
    void theCallingThreadIsSeenRunningAndAGoneOneIsSaidToBeGone() {
        assertThat(KernelTask.describe(LibC.gettid())).startsWith("kernel task " + LibC.gettid() + ": state R, ")
                .contains(" ms user, ").contains(", scheduler: ");
        assertThat(KernelTask.describe(Integer.MAX_VALUE)).startsWith("kernel task " + Integer.MAX_VALUE + ": gone (");
    }
}
