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
 * ({@link VcpuRunner#stillInAliveHalt()}), the guest has run nothing since, and the look skips the kick; the wait
 * before the next look then doubles on past the longest wait between kicks, up to {@value #MAX_LOOK_WAIT_PERIODS}
 * ticks, and a kick comes all the same once {@value #MAX_PERIODS_WITHOUT_KICK} ticks (about 4 minutes) passed since the
 * last (the count cannot see a guest that ran in the microseconds between the last kick's look and its thread blocking
 * again). A vCPU that sits in one halt for long thus costs 3 looks and a kick per 4 minutes.
 *
 * <p>The probe need not run every tick: {@link #nextTick} says when a decision can next change if the guest stays
 * quiet, and the VM asks the prober to come earlier when a vCPU exits meanwhile ({@link RunningVm}). Calling
 * {@link #probeNow} only then gives the same kicks as calling it every tick.
 *
 * <p>Runs on the prober's thread only (not thread-safe).
 */
final class IdleProbeSchedule {
    /** The most ticks between two kicks of a quiet vCPU whose guest may have run since the last. */
    static final int MAX_WAIT_PERIODS = 128;
    private static final int MAX_DOUBLINGS = 7; // 1 << 7 = MAX_WAIT_PERIODS
    /** The most ticks between two looks at a vCPU that stays in the halt a kick found it alive in. */
    static final int MAX_LOOK_WAIT_PERIODS = 512;
    private static final int MAX_LOOK_DOUBLINGS = 9; // 1 << 9 = MAX_LOOK_WAIT_PERIODS
    /**
     * The most ticks from a kick (or from the vCPU's last activity) to the next kick: a safety net, with which a guest
     * that halted for good unseen is found within about 4 minutes whatever the host's run counts say.
     */
    static final int MAX_PERIODS_WITHOUT_KICK = 1024;

    private final long[] lastActivity;
    /** The next wait is {@code 1 << quietProbes[vcpu]} ticks (at most {@link #MAX_DOUBLINGS} before a kick). */
    private final int[] quietProbes;
    /** The tick of the vCPU's last kick, activity or first look: a kick is due {@link #MAX_PERIODS_WITHOUT_KICK} after. */
    private final long[] lastKick;
    /** The tick from which a quiet, running vCPU is kicked; 0 until its first look. */
    private final long[] kickAt;
    /** Whether the vCPU was looked at before. */
    private final boolean[] seen;
    /** Whether the vCPU ran the guest at the last look. */
    private final boolean[] running;

    IdleProbeSchedule(int vcpuCount) {
        lastActivity = new long[vcpuCount];
        quietProbes = new int[vcpuCount];
        lastKick = new long[vcpuCount];
        kickAt = new long[vcpuCount];
        seen = new boolean[vcpuCount];
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
     *                  last kick found it alive; then the kick is skipped (but {@value #MAX_PERIODS_WITHOUT_KICK}
     *                  ticks after the last)
     * @return whether to kick it for a probe now
     */
    boolean probeNow(int vcpu, long tick, long activity, boolean isRunning, boolean dead, BooleanSupplier unchanged) {
        boolean active = activity != lastActivity[vcpu];
        lastActivity[vcpu] = activity;
        running[vcpu] = isRunning;
        if (!seen[vcpu]) {
            seen[vcpu] = true;
            lastKick[vcpu] = tick;
        }
        if (dead) {
            quietProbes[vcpu] = 0;
            kickAt[vcpu] = tick; // again now, if it stays quiet
        }
        if (active || dead) {
            lastKick[vcpu] = tick; // the safety net counts from here
        }
        if (active) {
            kickAt[vcpu] = tick + 1; // its next quiet tick
        }
        if (active || !isRunning || tick < kickAt[vcpu]) {
            return false;
        }
        long kickDue = lastKick[vcpu] + MAX_PERIODS_WITHOUT_KICK;
        if (!dead && tick < kickDue && unchanged.getAsBoolean()) {
            kickAt[vcpu] = Math.min(tick + (1L << quietProbes[vcpu]), kickDue);
            quietProbes[vcpu] = Math.min(quietProbes[vcpu] + 1, MAX_LOOK_DOUBLINGS);
            return false;
        }
        int doublings = Math.min(quietProbes[vcpu], MAX_DOUBLINGS);
        kickAt[vcpu] = tick + (1L << doublings);
        quietProbes[vcpu] = Math.min(doublings + 1, MAX_DOUBLINGS);
        lastKick[vcpu] = tick;
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
