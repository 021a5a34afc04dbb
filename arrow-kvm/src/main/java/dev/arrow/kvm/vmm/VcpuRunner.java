package dev.arrow.kvm.vmm;

import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.MpState;
import dev.arrow.kvm.Regs;
import dev.arrow.kvm.Sregs;
import dev.arrow.kvm.Vcpu;
import dev.arrow.kvm.VcpuExit;
import dev.arrow.kvm.VcpuState;
import dev.arrow.kvm.memory.GuestMemoryException;
import dev.arrow.kvm.sys.ThreadStack;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loop of one vCPU thread: run, dispatch the exit, repeat until the VM decides an outcome or
 * is stopped. An explicit state machine: {@link State#CREATED} until its thread starts,
 * {@link State#RUNNING} while it loops, {@link State#FINISHED} after. It is stopped by
 * {@link #requestStop()} (a flag and a kick), never by interrupting or killing the thread, or
 * frozen by {@link #requestFreeze()}, which also ends the loop.
 */
final class VcpuRunner implements Runnable, VcpuHold.Holdable {
    private static final Logger LOG = LoggerFactory.getLogger(VcpuRunner.class);
    private static final long RFLAGS_IF = 1L << 9;

    enum State { CREATED, RUNNING, FINISHED }

    /** Where the runner reports; implemented by {@link RunningVm}. */
    interface Owner {
        /** Decides the VM's outcome (the first call wins) and stops every vCPU. */
        void finish(VmOutcome outcome);

        /** Called after this vCPU was found dead (halted with interrupts off) or alive again. */
        void idleChanged();

        /** Called on the vCPU's thread after each of its exits that the idle probe did not cause; must be cheap. */
        void vcpuActive();

        /**
         * Called on the vCPU's thread when a probe found it halted with interrupts on (idle, waiting for an interrupt),
         * before it waits in that halt; the thread has given back its idle stack pages already.
         */
        void vcpuIdle();

        /** Called once, when the runner's loop has ended. */
        void runnerFinished(VcpuRunner runner);
    }

    private final Vcpu vcpu;
    private final ExitDispatcher dispatcher;
    private final Owner owner;
    private final AtomicReference<State> state = new AtomicReference<>(State.CREATED);
    private final AtomicLong exits = new AtomicLong();
    /** Probes answered ({@link #probe()}), each at an exit a kick caused. */
    private final AtomicLong probes = new AtomicLong();
    /** Exits by {@link ExitKind#ordinal()}; written by this runner's thread only. */
    private final AtomicLongArray exitsByKind = new AtomicLongArray(ExitKind.count());
    private final BootMilestones milestones;
    private volatile boolean stopRequested;
    private volatile boolean probeRequested;
    private volatile boolean dead;
    /** A hold asked for ({@link #requestHold}) and not yet taken by the loop. */
    private final AtomicReference<VcpuHold> holdRequest = new AtomicReference<>();
    /**
     * What the last probe found when it found the vCPU halted with interrupts on; null when it found anything else, or
     * when the guest has exited on its own since.
     */
    private volatile AliveHalt aliveHalt;
    /**
     * Whether this thread gives back its stack pages right before it next enters the guest ({@link #giveBackIdleStacks});
     * this runner's thread only.
     */
    private boolean releaseStackBeforeRun;
    /** Where {@link #stillInAliveHalt()} reads the vCPU thread's status; null until its first look. */
    private StatusFile statusFile; // the prober's thread only
    /** What the last look that read the status found; null when it found no first blocking. */
    private AsleepSince asleepSince; // the prober's thread only
    /** The pending request for a snapshot (one at a time: a second asker shares the first's). */
    private final AtomicReference<CompletableFuture<String>> snapshotRequest = new AtomicReference<>();
    /** The request to freeze, once made (a runner freezes once). */
    private final AtomicReference<CompletableFuture<VcpuState>> freezeRequest = new AtomicReference<>();

    /**
     * @param milestones where the boot vCPU reports its first entry into the guest; null for the
     *                   other vCPUs
     */
    VcpuRunner(Vcpu vcpu, ExitDispatcher dispatcher, Owner owner, BootMilestones milestones) {
        this.vcpu = vcpu;
        this.dispatcher = dispatcher;
        this.owner = owner;
        this.milestones = milestones;
    }

    Vcpu vcpu() {
        return vcpu;
    }

    State state() {
        return state.get();
    }

    long exitCount() {
        return exits.get();
    }

    /** Exits so far, less the ones the idle probe caused ({@link #requestProbe()}): what the guest did itself. */
    long activityCount() {
        return exits.get() - probes.get();
    }

    /** Exits of {@code kind} so far. */
    long exitCount(ExitKind kind) {
        return exitsByKind.get(kind.ordinal());
    }

    /** True when the last probe found this vCPU halted with interrupts off, or never started. */
    boolean isDead() {
        return dead;
    }

    /**
     * True when the vCPU is still blocked in the halt (interrupts on) in which the last probe found it: its thread has
     * blocked once since and not woken, so the guest has run nothing since that blocking and cannot have halted for
     * good. A kick would only find the same; the idle probe skips it. False when unsure. The idle prober's thread only.
     *
     * <p>The first look after a probe reads the thread's status ({@link ThreadBlocks}: asleep, blocked exactly once
     * since) and, just before it, the thread's CPU time; later looks read only the CPU time (one {@code clock_gettime},
     * no text): unchanged, the thread has not run since that look found it in its first blocking, so it still is.
     */
    boolean stillInAliveHalt() {
        AliveHalt halt = aliveHalt;
        if (halt == null || halt.switches == ThreadBlocks.UNKNOWN || dead) {
            return false;
        }
        int tid = vcpu.runningThreadId();
        if (tid == 0) {
            return false;
        }
        long cpu = ThreadBlocks.cpuTimeNanos(tid);
        AsleepSince asleep = asleepSince;
        if (asleep != null && asleep.halt == halt && asleep.tid == tid && cpu != ThreadBlocks.UNKNOWN
                && cpu == asleep.cpuNanos) { // the same probe's finding (identity), the same thread, no CPU time since
            return true; // not run since a look found it in its first blocking since the probe
        }
        StatusFile file = statusFile;
        if (file == null || file.tid != tid) {
            file = new StatusFile(tid, ThreadBlocks.statusPath(tid));
            statusFile = file;
        }
        // the CPU time read before the status: if the thread still ran then, it ran on to its blocking, and the next
        // look sees a later CPU time and reads the status again (a kick too many at worst, never one too few)
        boolean firstBlock = ThreadBlocks.asleepInFirstBlockSince(file.path, halt.switches);
        asleepSince = firstBlock && cpu != ThreadBlocks.UNKNOWN ? new AsleepSince(halt, tid, cpu) : null;
        return firstBlock;
    }

    /** The status file of the thread that runs this vCPU, its path made once ({@link #stillInAliveHalt()}). */
    private record StatusFile(int tid, byte[] path) {
    }

    /**
     * A probe found the vCPU halted with interrupts on, having counted its thread's voluntary context switches
     * ({@link ThreadBlocks}) just before: {@code switches}, {@link ThreadBlocks#UNKNOWN} when they cannot be read.
     */
    private record AliveHalt(long switches) {
    }

    /**
     * A look found thread {@code tid} asleep in its first blocking since the probe that found {@code halt}, and read its
     * CPU time {@code cpuNanos} just before.
     */
    private record AsleepSince(AliveHalt halt, int tid, long cpuNanos) {
    }

    /**
     * True when the last probe found this vCPU halted with interrupts on (waiting for an interrupt: idle, not ended)
     * and the guest has not exited on it since, other than for the VMM's kicks. Any thread.
     */
    boolean inAliveHalt() {
        return aliveHalt != null;
    }

    @Override
    public void requestHold(VcpuHold hold) {
        holdRequest.set(hold);
        vcpu.kick();
    }

    @Override
    public boolean hasEnded() {
        return state.get() == State.FINISHED;
    }

    /** Asks the loop to end; wakes the vCPU if it is inside the guest. Any thread. */
    void requestStop() {
        stopRequested = true;
        vcpu.kick();
    }

    /** Asks the loop to check whether the vCPU is halted for good (at its next exit, forced by a kick). */
    void requestProbe() {
        probeRequested = true;
        vcpu.kick();
    }

    /**
     * Asks for this vCPU's registers and exit counts, read on its own thread at its next exit
     * (forced by a kick). The future stays incomplete while the thread is neither in the guest
     * nor in its loop (blocked in a device handler, say); a runner that has ended answers at once.
     */
    CompletableFuture<String> requestSnapshot() {
        CompletableFuture<String> request = new CompletableFuture<>();
        if (state.get() != State.RUNNING) {
            request.complete(withoutRegisters());
            return request;
        }
        CompletableFuture<String> pending = snapshotRequest.compareAndExchange(null, request);
        if (pending != null) {
            return pending;
        }
        vcpu.kick();
        if (state.get() == State.FINISHED) { // ended between the check and the request
            request.complete(withoutRegisters());
        }
        return request;
    }

    /**
     * Asks the loop to stop between two exits, the last one handled, capture the vCPU's state on
     * its own thread ({@link Vcpu#saveState()}) and end. The future fails if the loop ends
     * otherwise (an outcome, a stop) or the capture fails. Any thread; once per runner.
     */
    CompletableFuture<VcpuState> requestFreeze() {
        CompletableFuture<VcpuState> request = new CompletableFuture<>();
        if (!freezeRequest.compareAndSet(null, request)) {
            throw new IllegalStateException("vCPU " + vcpu.id() + " was asked to freeze already");
        }
        vcpu.kick();
        if (state.get() == State.FINISHED) { // ended before it could see the request
            request.completeExceptionally(notFrozen());
        }
        return request;
    }

    private IllegalStateException notFrozen() {
        return new IllegalStateException("vCPU " + vcpu.id() + " ended before it froze (" + exitSummary() + ")");
    }

    /** The counts of each exit kind that occurred, e.g. {@code exits 120 (IO_OUT 100, INTR 20)}. */
    String exitSummary() {
        StringBuilder b = new StringBuilder("exits ").append(exits.get());
        String sep = " (";
        for (ExitKind kind : ExitKind.values()) {
            long n = exitsByKind.get(kind.ordinal());
            if (n > 0) {
                b.append(sep).append(kind).append(' ').append(n);
                sep = ", ";
            }
        }
        return sep.equals(", ") ? b.append(')').toString() : b.toString();
    }

    /** State and exit counts, for a runner not in its loop (not started, or ended). */
    private String withoutRegisters() {
        return "vCPU " + vcpu.id() + " " + state.get() + "; " + exitSummary();
    }

    /** Registers, MP state and exit counts; on this runner's thread, between two runs. */
    private String snapshot() {
        try {
            Regs regs = vcpu.getRegs();
            Sregs sregs = vcpu.getSregs();
            return String.format("vCPU %d: rip 0x%x rsp 0x%x rflags 0x%x cr0 0x%x cr3 0x%x cr4 0x%x, mp state %s, %s",
                    vcpu.id(), regs.rip(), regs.rsp(), regs.rflags(), sregs.cr0(), sregs.cr3(), sregs.cr4(),
                    vcpu.getMpState(), exitSummary());
        } catch (KvmException e) {
            return "vCPU " + vcpu.id() + ": registers unreadable (" + e.getMessage() + "); " + exitSummary();
        }
    }

    private void answerSnapshot() {
        CompletableFuture<String> request = snapshotRequest.getAndSet(null);
        if (request != null) {
            request.complete(snapshot());
        }
    }

    @Override
    public void run() {
        if (!state.compareAndSet(State.CREATED, State.RUNNING)) {
            throw new IllegalStateException("vCPU " + vcpu.id() + " runner started twice");
        }
        try {
            loop();
        } catch (GuestMemoryException e) {
            owner.finish(new VmOutcome.GuestMemoryFault(vcpu.id(), e.address().value(), (int) Math.min(e.length(),
                    Integer.MAX_VALUE), false, e.getMessage()));
        } catch (RuntimeException | Error e) {
            if (!stopRequested) {
                LOG.error("vCPU {} failed", vcpu.id(), e);
            }
            owner.finish(new VmOutcome.VmmError(vcpu.id(), e));
        } finally {
            state.set(State.FINISHED);
            CompletableFuture<String> request = snapshotRequest.getAndSet(null);
            if (request != null) {
                request.complete(withoutRegisters());
            }
            CompletableFuture<VcpuState> freeze = freezeRequest.get();
            if (freeze != null) {
                freeze.completeExceptionally(notFrozen()); // no effect once it froze
            }
            owner.runnerFinished(this);
        }
    }

    private void loop() {
        if (milestones != null && !stopRequested) {
            milestones.reached(BootEvent.FIRST_RUN);
        }
        while (!stopRequested) {
            CompletableFuture<VcpuState> freeze = freezeRequest.get();
            if (freeze != null) {
                freeze(freeze);
                return;
            }
            VcpuHold hold = holdRequest.getAndSet(null);
            if (hold != null) {
                hold.await(); // out of the guest, between two exits, until the VMM is done with guest RAM
                if (aliveHalt != null) {
                    giveBackIdleStacks(); // the hold's work (the page drop) went deeper on this thread and the loop's
                }
                continue;
            }
            if (releaseStackBeforeRun) {
                releaseStackBeforeRun = false;
                // the last thing before the halt's long wait: an interpreted Java call after it would touch the stack's
                // 20-page shadow zone again, undoing the release
                ThreadStack.releaseBelowCurrentFrame();
            }
            VcpuExit exit = vcpu.run();
            exits.incrementAndGet();
            int kind = ExitKind.of(exit).ordinal();
            exitsByKind.lazySet(kind, exitsByKind.get(kind) + 1);
            answerSnapshot();
            if (exit instanceof VcpuExit.Intr) {
                if (probeRequested || dead) {
                    probeRequested = false;
                    probe();
                } else {
                    owner.vcpuActive();
                }
                continue;
            }
            owner.vcpuActive();
            if (aliveHalt != null) {
                aliveHalt = null; // the guest ran since the probe
            }
            if (dead) {
                dead = false;
                owner.idleChanged();
            }
            if (exit instanceof VcpuExit.Hlt) {
                // only without an in-kernel irqchip; with interrupts off nothing will wake it
                if ((vcpu.getRegs().rflags() & RFLAGS_IF) == 0) {
                    dead = true;
                    owner.idleChanged();
                }
                continue;
            }
            VmOutcome outcome = dispatcher.handle(vcpu, exit);
            if (outcome != null) {
                owner.finish(outcome);
                return;
            }
        }
    }

    /** Between two exits, the last one handled: captures the vCPU's state for {@code request}. */
    private void freeze(CompletableFuture<VcpuState> request) {
        try {
            request.complete(vcpu.saveState());
        } catch (RuntimeException e) {
            request.completeExceptionally(e);
        }
    }

    /**
     * The vCPU is in an alive halt and may wait long: its thread's stack pages below the loop's frame go back to the host
     * right before it enters the guest again (an idle Java thread keeps ~90 KiB of them otherwise), and the owner has
     * the VM's other thread do the same. Once per idle spell and after a hold, not at every probe: each kick's probe runs
     * Java code that faults the pages back in, so a release per kick cost more CPU than the pages were worth.
     */
    private void giveBackIdleStacks() {
        releaseStackBeforeRun = true;
        owner.vcpuIdle();
    }

    private void probe() {
        probes.incrementAndGet();
        MpState mp = vcpu.getMpState();
        // kvm_run's if_flag, not KVM_GET_REGS
        boolean haltedAlive = mp == MpState.HALTED && vcpu.interruptsEnabledAtLastExit();
        boolean nowDead = switch (mp) {
            case UNINITIALIZED, INIT_RECEIVED -> true;
            case HALTED -> !haltedAlive;
            default -> false;
        };
        if (haltedAlive && aliveHalt == null) {
            giveBackIdleStacks(); // once per idle spell: the first probe to find it since the guest last exited
        }
        // counted here, on the only thread that runs this guest, before it enters KVM_RUN again: its next blocking is
        // the halt's (a /proc read only for a vCPU found in an alive halt, not at every probe)
        aliveHalt = haltedAlive ? new AliveHalt(ThreadBlocks.voluntarySwitchesOfCurrentThread()) : null;
        if (nowDead != dead) {
            dead = nowDead;
            owner.idleChanged();
        }
    }
}
