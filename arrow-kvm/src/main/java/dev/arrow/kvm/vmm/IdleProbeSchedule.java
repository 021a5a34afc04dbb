package dev.arrow.kvm.vmm;

/**
 * Which of one VM's vCPUs its idle probe kicks in a period ({@link SharedIdleProber#PERIOD}): a vCPU that went a whole
 * period without an exit of its own is kicked, so that its loop can ask KVM whether it is halted with interrupts off
 * (halted for good). A vCPU that stays quiet is kicked less and less often: after each such probe the next waits twice
 * as many periods, up to {@value #MAX_WAIT_PERIODS} (32 s at 250 ms), so an idle arrow costs a kick every half minute
 * instead of two a second. After an exit of its own the vCPU is probed once in its next quiet period, so a guest that
 * stops for good right after it ran is still found within half a second; the probes after that go on at the wait it
 * had reached, so one that was quiet for long is found within the longest wait. (Until 2026-12-07 any exit started
 * the doubling over at one period. An idle Linux guest runs briefly every few seconds, its hw_random thread
 * fetching entropy, so it never got past a 2 s wait: in the lab, 26 kicks in 20 s of one idle arrow against 9
 * wake-ups of its own, docs/idle.md; the longest wait was 8 s until the guest kernel's hw_random thread stopped
 * waking, after which the kicks were all an idle arrow cost.) A guest on its way to halting for good almost always
 * exits to the VMM first (init's status lines, its devices' reset by the kernel's halt), so it is found within half a
 * second; the longest wait bounds only a halt that comes without one. A probe that found it halted for good starts
 * it over at one period.
 *
 * <p>Runs on the prober's thread only (not thread-safe).
 */
final class IdleProbeSchedule {
    /** The most periods a quiet vCPU waits between two kicks. */
    static final int MAX_WAIT_PERIODS = 127;
    private static final int MAX_DOUBLINGS = 7; // 2^7 - 1 = MAX_WAIT_PERIODS

    private final long[] lastActivity;
    private final int[] quietProbes;
    private final int[] periodsToWait;

    IdleProbeSchedule(int vcpuCount) {
        lastActivity = new long[vcpuCount];
        quietProbes = new int[vcpuCount];
        periodsToWait = new int[vcpuCount];
    }

    /**
     * Called once a period per vCPU.
     *
     * @param vcpu     its index
     * @param activity its exits so far, not counting those its probes caused ({@link VcpuRunner#activityCount()})
     * @param running  its loop runs the guest (not stopped, not ended)
     * @param dead     the last probe found it halted with interrupts off
     * @return whether to kick it for a probe now
     */
    boolean probeNow(int vcpu, long activity, boolean running, boolean dead) {
        boolean active = activity != lastActivity[vcpu];
        lastActivity[vcpu] = activity;
        if (dead) {
            quietProbes[vcpu] = 0;
        }
        if (active || dead) {
            periodsToWait[vcpu] = 0;
        }
        if (active || !running) {
            return false;
        }
        if (periodsToWait[vcpu] > 0) {
            periodsToWait[vcpu]--;
            return false;
        }
        periodsToWait[vcpu] = (1 << quietProbes[vcpu]) - 1;
        quietProbes[vcpu] = Math.min(quietProbes[vcpu] + 1, MAX_DOUBLINGS);
        return true;
    }
}
