package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class IdleProbeScheduleTest {
    /** The vCPU may have run since the last kick: every due look kicks. */
    private static final java.util.function.BooleanSupplier KICK = () -> false;
    /** The ticks (from {@code from}) at which a quiet, running vCPU is kicked, looked at every tick. */
    private static List<Integer> kicksOfAQuietVcpu(IdleProbeSchedule s, int from, int ticks) {
        List<Integer> kicks = new ArrayList<>();
        for (int t = from; t < from + ticks; t++) {
            if (s.probeNow(0, t, 7, true, false, KICK)) {
                kicks.add(t);
            }
        }
        return kicks;
    }

    @Test
    void aQuietVcpuIsKickedAtDoublingIntervalsUpToTheLongestWait() {
        IdleProbeSchedule s = new IdleProbeSchedule(1);
        assertThat(s.probeNow(0, 0, 7, true, false, KICK)).as("its first tick had exits of its own").isFalse();
        // kicked, then 1, 2, 4, 8, 16, 32, 64, 128, 128 ... ticks later
        assertThat(kicksOfAQuietVcpu(s, 1, 600)).containsExactly(1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512);
    }

    @Test
    void anExitOfItsOwnIsFollowedByOneProbeThenTheWaitItHadReached() {
        IdleProbeSchedule s = new IdleProbeSchedule(1);
        s.probeNow(0, 0, 7, true, false, KICK);
        kicksOfAQuietVcpu(s, 1, 300); // well into the longest wait
        assertThat(s.probeNow(0, 301, 8, true, false, KICK)).as("a tick with activity is not probed").isFalse();
        assertThat(s.probeNow(0, 302, 8, true, false, KICK)).as("the next quiet tick is").isTrue();
        // then the longest wait before the next kick, not 1, 2, 4 ... again
        List<Integer> kicks = new ArrayList<>();
        for (int t = 303; t < 303 + 256; t++) {
            if (s.probeNow(0, t, 8, true, false, KICK)) {
                kicks.add(t - 302);
            }
        }
        assertThat(kicks).containsExactly(IdleProbeSchedule.MAX_WAIT_PERIODS, 2 * IdleProbeSchedule.MAX_WAIT_PERIODS);
    }

    @Test
    void aGuestThatRunsBrieflyEveryFewSecondsCostsOneKickPerRun() {
        IdleProbeSchedule s = new IdleProbeSchedule(1);
        s.probeNow(0, 0, 0, true, false, KICK);
        kicksOfAQuietVcpu(s, 1, 100);
        long activity = 0;
        int kicks = 0;
        for (int t = 0; t < 160; t++) { // 40 s at 250 ms, a short run of the guest every 4 s
            if (t % 16 == 0) {
                activity++;
            }
            if (s.probeNow(0, 101 + t, activity, true, false, KICK)) {
                kicks++;
            }
        }
        assertThat(kicks).isEqualTo(10);
    }

    @Test
    void aVcpuFoundHaltedForGoodIsProbedEveryTick() {
        IdleProbeSchedule s = new IdleProbeSchedule(1);
        s.probeNow(0, 0, 7, true, false, KICK);
        kicksOfAQuietVcpu(s, 1, 100);
        for (int t = 101; t < 106; t++) {
            assertThat(s.probeNow(0, t, 7, true, true, KICK)).as("tick %d", t).isTrue();
            assertThat(s.nextTick(t)).isEqualTo(t + 1);
        }
    }

    @Test
    void aVcpuThatIsNotRunningIsNeverKickedAndEachVcpuHasItsOwnSchedule() {
        IdleProbeSchedule s = new IdleProbeSchedule(2);
        for (int t = 0; t < 10; t++) {
            assertThat(s.probeNow(0, t, 0, false, false, KICK)).isFalse();
            assertThat(s.nextTick(t)).as("a vCPU not running yet is looked at next tick").isEqualTo(t + 1);
        }
        assertThat(s.probeNow(1, 10, 0, true, false, KICK)).isTrue();
        assertThat(s.probeNow(0, 10, 0, true, false, KICK)).as("vCPU 0's first quiet tick, whatever vCPU 1 did").isTrue();
    }

    @Test
    void nextTickIsTheEarliestKickOfAnyVcpu() {
        IdleProbeSchedule s = new IdleProbeSchedule(2);
        long t = 0;
        for (; t < 40; t++) { // vCPU 0 quiet from the start; vCPU 1 active until tick 30
            s.probeNow(0, t, 0, true, false, KICK);
            s.probeNow(1, t, Math.min(t, 30) + 1, true, false, KICK);
        }
        // vCPU 0: kicks at 0, 1, 3, 7, 15, 31, next at 63; vCPU 1: quiet since tick 31, kicked at 31, 32, 34, 38, next 46
        assertThat(s.nextTick(39)).isEqualTo(46);
    }

    /**
     * The prober runs a VM's probe only at {@link IdleProbeSchedule#nextTick} and at the tick after one of its vCPU's
     * own exits (the VM expedites it). That must kick exactly when looking at every tick would.
     */
    @Test
    void lookingOnlyWhenDueOrAfterActivityKicksAsLookingEveryTickDoes() {
        Random random = new Random(21);
        for (int round = 0; round < 50; round++) {
            int vcpus = 1 + random.nextInt(3);
            int ticks = 2000;
            long[][] activity = new long[vcpus][ticks];
            for (int v = 0; v < vcpus; v++) {
                long a = 0;
                for (int t = 0; t < ticks; t++) {
                    if (random.nextInt(40) == 0) {
                        a += 1 + random.nextInt(3);
                    }
                    activity[v][t] = a;
                }
            }
            IdleProbeSchedule everyTick = new IdleProbeSchedule(vcpus);
            IdleProbeSchedule whenDue = new IdleProbeSchedule(vcpus);
            List<String> kicksEveryTick = new ArrayList<>();
            List<String> kicksWhenDue = new ArrayList<>();
            long due = 0;
            int lastLooked = 0;
            for (int t = 0; t < ticks; t++) {
                for (int v = 0; v < vcpus; v++) {
                    if (everyTick.probeNow(v, t, activity[v][t], true, false, KICK)) {
                        kicksEveryTick.add(t + ":" + v);
                    }
                }
                boolean exitedSinceLastLook = changedSince(activity, t, lastLooked);
                if (t >= due || exitedSinceLastLook) {
                    for (int v = 0; v < vcpus; v++) {
                        if (whenDue.probeNow(v, t, activity[v][t], true, false, KICK)) {
                            kicksWhenDue.add(t + ":" + v);
                        }
                    }
                    due = whenDue.nextTick(t);
                    lastLooked = t;
                }
            }
            assertThat(kicksWhenDue).as("round %d", round).isEqualTo(kicksEveryTick);
        }
    }

    /** Whether any vCPU exited after tick {@code since} and by tick {@code t}. */
    private static boolean changedSince(long[][] activity, int t, int since) {
        for (long[] a : activity) {
            if (a[t] != a[since]) {
                return true;
            }
        }
        return false;
    }

    @Test
    void aVcpuStillInTheHaltItWasFoundAliveInIsLookedAtLessAndLessAndKickedEveryFourMinutes() {
        IdleProbeSchedule s = new IdleProbeSchedule(1);
        List<Integer> asked = new ArrayList<>();
        int[] now = new int[1];
        java.util.function.BooleanSupplier unchanged = () -> {
            asked.add(now[0]);
            return true;
        };
        List<Integer> kicks = new ArrayList<>();
        for (int t = 0; t < 3200; t++) {
            now[0] = t;
            if (s.probeNow(0, t, 0, true, false, unchanged)) {
                kicks.add(t);
            }
        }
        // looks at 0, 1, 3, ... 127, then at doubling waits past the longest wait between kicks (128 ticks) up to 512;
        // a kick 1024 ticks after the first look, then after each kick looks at +128, +384, +896 and a kick at +1024
        assertThat(kicks).containsExactly(1024, 2048, 3072);
        assertThat(asked).as("asked only when a look was due, not for the looks that kick anyway").containsExactly(
                0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 1152, 1280, 1536, 2176, 2304, 2560);
    }

    @Test
    void activityOrADeadVcpuStartsTheSafetyNetsWaitOver() {
        IdleProbeSchedule s = new IdleProbeSchedule(1);
        java.util.function.BooleanSupplier unchanged = () -> true;
        for (int t = 0; t < 1000; t++) {
            assertThat(s.probeNow(0, t, 0, true, false, unchanged)).as("tick %d", t).isFalse();
        }
        assertThat(s.probeNow(0, 1000, 1, true, false, unchanged)).as("activity").isFalse();
        List<Integer> kicks = new ArrayList<>();
        for (int t = 1001; t < 2100; t++) {
            if (s.probeNow(0, t, 1, true, false, unchanged)) {
                kicks.add(t);
            }
        }
        assertThat(kicks).as("1024 ticks after the activity, not after the first look").containsExactly(2024);
        assertThat(s.probeNow(0, 2100, 1, true, true, unchanged)).as("a dead vCPU is always kicked").isTrue();
        assertThat(s.probeNow(0, 2101, 1, true, true, unchanged)).as("and at every tick").isTrue();
    }
}
