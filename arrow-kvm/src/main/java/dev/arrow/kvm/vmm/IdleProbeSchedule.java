package dev.arrow.kvm.vmm;

import java.util.function.BooleanSupplier;

/**
 * Which of one VM's vCPUs its idle probe kicks, and when the probe needs to look again. Time is counted in ticks of
 * the prober ({@link SharedIdleProber#PERIOD} each). A vCPU that went a whole tick without an exit of its own is
 * kicked, so that its loop can ask KVM whether it is halted with interrupts off (halted for good). A vCPU that stays
 * quiet is kicked less and less often: after each such probe the next waits twice as many ticks, up to
 * {@value #MAX_WAIT_PERIODS} ticks between two kicks (32 s at 250 ms), so an idle arrow costs a kick every half
 * minute instead of two a second. After an exit of its own the vCPU is probed once in its next quiet tick, so a guest
 * that stops for good right after it ran is still found within half a second; the probes after that go on at the
 * wait it had reached, so one that was quiet for long is found within the longest wait. (Until 2026-12-07 any exit
 * started the doubling over at one tick: an idle Linux guest then ran briefly every few seconds, its hw_random
 * thread fetching entropy, so it never got past a 2 s wait, docs/idle.md.) A guest on its way to halting for good
 * almost always exits to the VMM first (init's status lines, the kernel's last console line), so it is found within
 * half a second; the longest wait bounds only a halt that comes without one. A probe that found it halted for good
 * starts it over at one tick.
 *
 * <p>A kick costs a return from {@code KVM_RUN} and a re-entry (tens of microseconds of host CPU in the lab's nested
 * KVM). Most of them would find what the last one found: the vCPU blocked in a halt with interrupts on, waiting for
 * stdin or a socket. When the host's scheduler says the vCPU's thread has not run since that kick found it so
 * ({@link VcpuRunner#stillInAliveHalt()}), the guest has run nothing since, and the look skips the kick; every
 * {@value #MAX_SKIPPED_KICKS} skips in a row are followed by a kick all the same (the count cannot see a guest that
 * ran in the microseconds between the last kick's look and its thread blocking again).
 *
 * <p>The probe need not run every tick: {@link #nextTick} says when a decision can next change if the guest stays
 * quiet, and the VM asks the prober to come earlier when a vCPU exits meanwhile ({@link RunningVm}). Calling
 * {@link #probeNow} only then gives the same kicks as calling it every tick.
 *
 * <p>Runs on the prober's thread only (not thread-safe).
 */
final class IdleProbeSchedule {
    /** The most ticks between two looks at a quiet vCPU. */
    static final int MAX_WAIT_PERIODS = 128;
    private static final int MAX_DOUBLINGS = 7; // 1 << 7 = MAX_WAIT_PERIODS
    /**
     * The most looks in a row that find the vCPU still blocked in the halt a kick found it alive in and so skip the
     * kick ({@link VcpuRunner#stillInAliveHalt()}); the next look kicks all the same. A safety net: with it a guest that
     * halted for good unseen is found within 8 of the longest waits (about 4 minutes) whatever the host's run counts
     * say.
     */
    static final int MAX_SKIPPED_KICKS = 7;

    private final long[] lastActivity;
    private final int[] quietProbes;
    private final int[] skippedKicks;
    /** The tick from which a quiet, running vCPU is kicked; 0 until its first look. */
    private final long[] kickAt;
    /** Whether the vCPU ran the guest at the last look. */
    private final boolean[] running;

    IdleProbeSchedule(int vcpuCount) {
        lastActivity = new long[vcpuCount];
        quietProbes = new int[vcpuCount];
        skippedKicks = new int[vcpuCount];
        kickAt = new long[vcpuCount];
        running = new boolean[vcpuCount];
    }

    /**
     * Looks at one vCPU at {@code tick}: at every tick, or only at {@link #nextTick} and after the vCPU's own exits.
     *
     * @param vcpu      its index
     * @param tick      the prober's tick now (ticks increase)
     * @param activity  its exits so far, not counting those its probes caused ({@link VcpuRunner#activityCount()})
     * @param isRunning its loop runs the guest (not stopped, not ended)
     * @param dead      the last probe found it halted with interrupts off
     * @param unchanged asked only when a look is due: whether the vCPU is still blocked in the halt in which the
     *                  last kick found it alive; then the kick is skipped, at most {@value #MAX_SKIPPED_KICKS} times in
     *                  a row
     * @return whether to kick it for a probe now
     */
    boolean probeNow(int vcpu, long tick, long activity, boolean isRunning, boolean dead, BooleanSupplier unchanged) {
        boolean active = activity != lastActivity[vcpu];
        lastActivity[vcpu] = activity;
        running[vcpu] = isRunning;
        if (dead) {
            quietProbes[vcpu] = 0;
            kickAt[vcpu] = tick; // again now, if it stays quiet
        }
        if (active || dead) {
            skippedKicks[vcpu] = 0;
        }
        if (active) {
            kickAt[vcpu] = tick + 1; // its next quiet tick
        }
        if (active || !isRunning || tick < kickAt[vcpu]) {
            return false;
        }
        kickAt[vcpu] = tick + (1L << quietProbes[vcpu]);
        quietProbes[vcpu] = Math.min(quietProbes[vcpu] + 1, MAX_DOUBLINGS);
        if (!dead && skippedKicks[vcpu] < MAX_SKIPPED_KICKS && unchanged.getAsBoolean()) {
            skippedKicks[vcpu]++;
            return false;
        }
        skippedKicks[vcpu] = 0;
        return true;
    }

    /**
     * The tick at which {@link #probeNow} may next kick some vCPU if none exits before it (after {@code tick}, at
     * which every vCPU was just looked at). A vCPU that did not run the guest is looked at again next tick.
     */
    long nextTick(long tick) {
        long next = Long.MAX_VALUE;
        for (int i = 0; i < kickAt.length; i++) {
            next = Math.min(next, running[i] ? Math.max(kickAt[i], tick + 1) : tick + 1);
        }
        return next == Long.MAX_VALUE ? tick + 1 : next;
    }
}
