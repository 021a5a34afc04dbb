package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class IdleProbeScheduleTest {
    /** The periods (from 0) in which a quiet, running vCPU is kicked, over {@code periods} periods. */
    private static List<Integer> kicksOfAQuietVcpu(IdleProbeSchedule s, int from, int periods) {
        List<Integer> kicks = new ArrayList<>();
        for (int p = from; p < from + periods; p++) {
            if (s.probeNow(0, 7, true, false)) {
                kicks.add(p);
            }
        }
        return kicks;
    }

    @Test
    void aQuietVcpuIsKickedAtDoublingIntervalsUpToTheLongestWait() {
        IdleProbeSchedule s = new IdleProbeSchedule(1);
        assertThat(s.probeNow(0, 7, true, false)).as("its first period had exits of its own").isFalse();
        // kicked, then after 0, 1, 3, 7, 15, 31, 63, 127, 127 ... periods in between
        assertThat(kicksOfAQuietVcpu(s, 1, 600)).containsExactly(1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512);
    }

    @Test
    void anExitOfItsOwnIsFollowedByOneProbeThenTheWaitItHadReached() {
        IdleProbeSchedule s = new IdleProbeSchedule(1);
        s.probeNow(0, 7, true, false);
        kicksOfAQuietVcpu(s, 1, 300); // well into the longest wait
        assertThat(s.probeNow(0, 8, true, false)).as("a period with activity is not probed").isFalse();
        assertThat(s.probeNow(0, 8, true, false)).as("the next quiet period is").isTrue();
        // then 127 quiet periods (the longest wait) before the next kick, not 0, 1, 3 ... again
        List<Integer> kicks = new ArrayList<>();
        for (int p = 0; p < 256; p++) {
            if (s.probeNow(0, 8, true, false)) {
                kicks.add(p);
            }
        }
        assertThat(kicks).containsExactly(IdleProbeSchedule.MAX_WAIT_PERIODS, 2 * IdleProbeSchedule.MAX_WAIT_PERIODS + 1);
    }

    @Test
    void aGuestThatRunsBrieflyEveryFewSecondsCostsOneKickPerRun() {
        IdleProbeSchedule s = new IdleProbeSchedule(1);
        s.probeNow(0, 0, true, false);
        kicksOfAQuietVcpu(s, 1, 100);
        long activity = 0;
        int kicks = 0;
        for (int p = 0; p < 160; p++) { // 40 s at 250 ms, a short run of the guest every 4 s
            if (p % 16 == 0) {
                activity++;
            }
            if (s.probeNow(0, activity, true, false)) {
                kicks++;
            }
        }
        assertThat(kicks).isEqualTo(10);
    }

    @Test
    void aVcpuFoundHaltedForGoodIsProbedEveryPeriod() {
        IdleProbeSchedule s = new IdleProbeSchedule(1);
        s.probeNow(0, 7, true, false);
        kicksOfAQuietVcpu(s, 1, 100);
        for (int p = 0; p < 5; p++) {
            assertThat(s.probeNow(0, 7, true, true)).as("period %d", p).isTrue();
        }
    }

    @Test
    void aVcpuThatIsNotRunningIsNeverKickedAndEachVcpuHasItsOwnSchedule() {
        IdleProbeSchedule s = new IdleProbeSchedule(2);
        for (int p = 0; p < 10; p++) {
            assertThat(s.probeNow(0, 0, false, false)).isFalse();
        }
        assertThat(s.probeNow(1, 0, true, false)).isTrue();
        assertThat(s.probeNow(0, 0, true, false)).as("vCPU 0's first quiet period, whatever vCPU 1 did").isTrue();
    }
}
