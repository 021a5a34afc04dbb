package dev.arrow.backend.kvm;

import dev.arrow.ArrowOutcome;
import dev.arrow.BootPhase;
import dev.arrow.VmStatistics;
import dev.arrow.config.PortForward;
import dev.arrow.image.InitramfsMemory;
import dev.arrow.image.init.InitProtocol;
import dev.arrow.image.init.InitStatus;
import dev.arrow.kvm.vmm.ExitKind;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmOutcome;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.GuestFileReceiver;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.OutputSink;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.OutputStream;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One arrow running on our VMM, as {@link dev.arrow.ArrowProcess} sees it. Its {@link GuestStdio}
 * carries the app's stdin and output ({@link VirtioStdio}: the virtio console; {@link SerialStdio}:
 * the serial console); init's status lines decide the outcome, which is reported once the VM has
 * ended and all output has reached the sinks. Owns the {@link RunningVm} and releases it on close.
 */
final class KvmSession implements MicroVmSession {
    private static final Logger LOG = LoggerFactory.getLogger(KvmSession.class);

    private final GuestStdio stdio;
    private final KernelPanicWatch serial;
    private final BootEvents events;
    private final long memoryBytes;
    private final InitramfsMemory imageNeeds;
    private final CompletableFuture<ArrowOutcome> outcome = new CompletableFuture<>();
    private final AtomicReference<InitStatus> finalStatus = new AtomicReference<>();
    private volatile Map<PortForward, Integer> hostPorts = Map.of();
    private volatile Runnable networkUp = () -> { };
    private volatile RunningVm vm;
    private volatile Consumer<RunningVm> release = RunningVm::close;
    private volatile Consumer<VmOutcome> endVm = outcome -> { };
    private volatile boolean vmEnded;
    /** Where {@link #close()} hands the release; null: on the closing thread. */
    private volatile ReleaseReaper reaper;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CompletableFuture<Void> released = new CompletableFuture<>();

    /** A serial-console session whose boot phases go nowhere and whose statistics report no memory size. */
    KvmSession(OutputSink stdout) {
        this(new SerialStdio(stdout), BootEvents.NONE, 0);
    }

    /** A session with the app's stdio on the serial console (spec {@code stdio serial}). */
    KvmSession(OutputSink stdout, BootEvents events, long memoryBytes) {
        this(new SerialStdio(stdout), events, memoryBytes);
    }

    /**
     * @param stdio       carries the app's stdin, stdout and stderr
     * @param events      hears the guest's marks and the guest's end
     * @param memoryBytes the guest's RAM size, for {@link #statistics()}
     */
    KvmSession(GuestStdio stdio, BootEvents events, long memoryBytes) {
        this(stdio, events, memoryBytes, null);
    }

    /**
     * @param imageNeeds what the guest's initramfs needs, for the advice an incomplete image's outcome gives;
     *                   null when unknown
     */
    KvmSession(GuestStdio stdio, BootEvents events, long memoryBytes, InitramfsMemory imageNeeds) {
        this.stdio = stdio;
        this.serial = new KernelPanicWatch(stdio.serialOutput());
        this.events = events;
        this.memoryBytes = memoryBytes;
        this.imageNeeds = imageNeeds;
    }

    /** Where the VMM writes the guest's serial output (watched for a kernel panic on its way to the stdio). */
    OutputStream serialOutput() {
        return serial;
    }

    /** Called by the VMM for every line init writes on the status port. */
    void onStatusLine(String line) {
        Optional<InitStatus> parsed = InitStatus.parse(line);
        if (parsed.isEmpty()) {
            LOG.debug("ignoring a malformed status line from the guest: {}", line);
            return;
        }
        InitStatus status = parsed.get();
        if (status instanceof InitStatus.Mark mark) {
            long now = System.nanoTime(); // before what the mark sets off
            if (mark.name().equals(InitProtocol.MARK_APP_EXEC)) {
                stdio.appStarted(); // from now on the console belongs to the app
                RunningVm running = vm;
                if (running != null) {
                    running.appStarted(); // its first idle moment drops the boot's pages equal to their backing
                }
            } else if (mark.name().equals(InitProtocol.MARK_INIT_START)) {
                RunningVm running = vm;
                if (running != null) {
                    running.initStarted(); // booted, no program run: the kernel's text patched alike can be taken
                }
            } else if (mark.name().equals(InitProtocol.MARK_NET_UP)) {
                networkUp.run();
            }
            InitBootMarks.phaseOf(mark.name()).ifPresent(phase -> events.guest(phase, mark.uptimeNanos(), now));
            if (mark.name().equals(InitProtocol.MARK_HALT)) {
                // init's last word: the program's status and its output (on the queues, the host notified) came
                // before it. What the kernel would still do (shut devices down, mask the IO-APIC's pins, reset
                // through the i8042) changes nothing the host keeps, and costs an exit per IO-APIC access.
                endVm.accept(new VmOutcome.Ended());
            }
        } else if (status.isFinal()) {
            finalStatus.compareAndSet(null, status);
        }
    }

    /** Runs {@code action} when init reports the guest's network configured (its mark net-up); before {@link #attach}. */
    void whenNetworkUp(Runnable action) {
        this.networkUp = Objects.requireNonNull(action, "action");
    }

    /** Records the host port each forward of the spec got, for {@link #hostPorts()}; before {@link #attach}. */
    void forwardedPorts(Map<PortForward, Integer> ports) {
        this.hostPorts = Map.copyOf(ports);
    }

    /**
     * How {@link #close()} releases the VM (by default {@link RunningVm#close()}); a template's clone hands its VM
     * back to its template for the next clone.
     */
    void releaseWith(Consumer<RunningVm> release) {
        this.release = release;
    }

    /**
     * Has {@link #close()} hand the VM's release to {@code reaper} (after stopping the VM and closing the streams on
     * the closing thread); by default, and with null, the close releases it itself.
     */
    void releaseOn(ReleaseReaper reaper) {
        this.reaper = reaper;
    }

    /**
     * How the session ends the VM once init announced the guest's end ({@link InitProtocol#MARK_HALT}): by default
     * nothing, until {@link #attach} sets {@link RunningVm#finish}.
     */
    void endVmWith(Consumer<VmOutcome> end) {
        this.endVm = end;
    }

    /** The VM this session watches, null before {@link #attach} (tests look at its release). */
    RunningVm vm() {
        return vm;
    }

    void attach(RunningVm runningVm) {
        this.vm = runningVm;
        endVmWith(runningVm::finish);
        stdio.start(runningVm);
        whenEnded(runningVm.onExit());
    }

    /** Completes the outcome once {@code vmExit} has and all output has reached the sinks. */
    void whenEnded(CompletableFuture<VmOutcome> vmExit) {
        vmExit.whenComplete((vmOutcome, error) -> {
            vmEnded = true;
            events.host(BootPhase.EXITED, System.nanoTime());
            ArrowOutcome ended = error != null
                        ? new ArrowOutcome.GuestCrashed("the VMM failed: " + error)
                        : outcomeOf(finalStatus.get(), vmOutcome, memoryBytes, imageNeeds, serial.panicMessage());
            if (ended instanceof ArrowOutcome.GuestCrashed crashed) {
                // the outcome says so too, but a crash the caller does not look at must not go unseen
                LOG.warn("{} crashed: {}", vm != null ? vm : "a VM", crashed.reason());
            }
            // the last bytes the app wrote may still be on their way to the sinks
            stdio.outputDone().whenComplete((done, failure) -> outcome.complete(ended));
        });
    }

    /** The arrow's outcome from init's final status (if it sent one) and how the VM ended. */
    static ArrowOutcome outcomeOf(InitStatus status, VmOutcome vmOutcome) {
        return outcomeOf(status, vmOutcome, 0, null, Optional.empty());
    }

    /**
     * Like {@link #outcomeOf(InitStatus, VmOutcome)}; an incomplete image's message also says what to do,
     * from the image's needs ({@code imageNeeds}, may be null) and the guest's RAM ({@code memoryBytes}); a
     * guest that ended by itself without a status after its console showed a kernel panic ({@code kernelPanic},
     * see {@link KernelPanicWatch}) crashed with that panic.
     */
    static ArrowOutcome outcomeOf(InitStatus status, VmOutcome vmOutcome, long memoryBytes, InitramfsMemory imageNeeds,
            Optional<String> kernelPanic) {
        if (status instanceof InitStatus.StartFailed f && f.kind() == InitStatus.StartFailure.IMAGE_INCOMPLETE) {
            return new ArrowOutcome.StartFailed(ArrowOutcome.StartFailed.Kind.IMAGE_INCOMPLETE,
                    incompleteImage(f.message(), memoryBytes, imageNeeds));
        }
        if (status instanceof InitStatus.Exited e) {
            return new ArrowOutcome.Exited(e.code());
        }
        if (status instanceof InitStatus.Signaled s) {
            return new ArrowOutcome.Signaled(s.signal());
        }
        if (status instanceof InitStatus.StartFailed f) {
            return new ArrowOutcome.StartFailed(startFailure(f.kind()), f.message());
        }
        if (vmOutcome instanceof VmOutcome.Stopped) {
            return new ArrowOutcome.Destroyed();
        }
        if (kernelPanic.isPresent()) {
            return new ArrowOutcome.GuestCrashed("the guest kernel panicked (\"" + kernelPanic.get() + "\") and "
                    + (vmOutcome.isOrderly() ? "rebooted" : "then: " + vmOutcome.describe())
                    + " before init reported the program's status (run with debugConsole() to see the kernel log)");
        }
        return new ArrowOutcome.GuestCrashed(vmOutcome.describe()
                + " before init reported the program's status (run with debugConsole() to see the kernel log)");
    }

    private static ArrowOutcome.StartFailed.Kind startFailure(InitStatus.StartFailure kind) {
        return switch (kind) {
            case NOT_FOUND -> ArrowOutcome.StartFailed.Kind.NOT_FOUND;
            case NOT_EXECUTABLE -> ArrowOutcome.StartFailed.Kind.NOT_EXECUTABLE;
            case EXEC_FORMAT -> ArrowOutcome.StartFailed.Kind.EXEC_FORMAT;
            case IMAGE_INCOMPLETE -> ArrowOutcome.StartFailed.Kind.IMAGE_INCOMPLETE;
            case OTHER -> ArrowOutcome.StartFailed.Kind.OTHER;
        };
    }

    /** The message of an incomplete image: what init found, then the cause and the fix. */
    static String incompleteImage(String guestSays, long memoryBytes, InitramfsMemory needs) {
        String found = "the guest did not receive the binary and files whole, so the program was not started (init: "
                + guestSays + ")";
        if (needs == null || memoryBytes <= 0) {
            return found + ": give the guest more memory";
        }
        if (!needs.fits(memoryBytes)) {
            return found + ": " + needs.shortfall(memoryBytes);
        }
        long more = Math.max(2 * memoryBytes, needs.suggestedRamBytes(0) * 2) >> 20;
        return found + ": Arrow's estimate (" + (needs.requiredRamBytes() >> 20) + " MiB) fits in the "
                + (memoryBytes >> 20) + " MiB given, so it is wrong for this kernel: ask for more memory, e.g. memory("
                + more + ", MiB)";
    }

    /**
     * Exit counts by kind ({@code io-out}, ...), the guest RAM resident now and what became of the app's output; empty
     * before the VM exists.
     */
    @Override
    public Optional<VmStatistics> statistics() {
        RunningVm running = vm;
        if (running == null) {
            return Optional.empty();
        }
        Map<String, Long> exits = new TreeMap<>();
        running.exitCounts().forEach((kind, count) -> exits.put(kindName(kind), count));
        return Optional.of(new VmStatistics(exits, running.residentGuestBytes(), memoryBytes,
                running.serialOutputBytes(), stdio.outputStatistics()));
    }

    static String kindName(ExitKind kind) {
        return kind.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    @Override
    public OutputStream stdin() {
        return stdio.stdin();
    }

    @Override
    public CompletableFuture<ArrowOutcome> outcome() {
        return outcome;
    }

    /** True with the virtio console, whose control port reaches init; the serial console has none. */
    @Override
    public boolean supportsGracefulStop() {
        return stdio.supportsGracefulStop();
    }

    @Override
    public void stop() {
        if (!vmEnded) {
            stdio.requestStop();
        }
    }

    /** Through init's control port (virtio console); the serial console cannot. */
    @Override
    public void signal(int signal) {
        if (!vmEnded) {
            stdio.signal(signal);
        }
    }

    /** Through init's control port and the files port (virtio console); the serial console cannot. */
    @Override
    public CompletableFuture<Void> copyFromGuest(String guestPath, long maxBytes, GuestFileReceiver receiver) {
        if (vmEnded) {
            return CompletableFuture.failedFuture(new EOFException("the guest has ended"));
        }
        return stdio.copyFromGuest(guestPath, maxBytes, receiver);
    }

    @Override
    public Map<PortForward, Integer> hostPorts() {
        return hostPorts;
    }

    @Override
    public void kill() {
        RunningVm running = vm;
        if (running != null) {
            running.stop();
        }
    }

    private static void logVcpus(RunningVm running) {
        try {
            LOG.debug("closing {} before all its vCPUs have left the guest:\n{}", running, running.describeVcpus(Duration.ofSeconds(1)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Closes the streams, stops the VM and reports the outcome {@link ArrowOutcome.Destroyed} unless one was reported;
     * then releases the VM ({@link #releaseWith}): on the {@link #releaseOn reaper} when it has one, which leaves this
     * close quick (the vCPU threads are joined, guest RAM unmapped and the fds closed there), else here. Idempotent:
     * the release runs once; {@link #released()} tells when it has.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        RunningVm running = vm;
        if (running != null && running.isAlive() && LOG.isDebugEnabled()) {
            logVcpus(running); // a guest closed while it runs: perhaps a stalled one, which this explains
        }
        try {
            stdio.close();
        } finally {
            try {
                releaseVm(running);
            } finally {
                outcome.complete(new ArrowOutcome.Destroyed());
            }
        }
    }

    /** Releases {@code running} (may be null) here or, stopped first, on the reaper; completes {@link #released}. */
    private void releaseVm(RunningVm running) {
        ReleaseReaper to = reaper;
        if (running == null || to == null) {
            try {
                if (running != null) {
                    release.accept(running);
                }
            } finally {
                released.complete(null);
            }
            return;
        }
        running.stop(); // the vCPUs leave the guest now; the reaper waits for their threads
        to.release(running.toString(), () -> release.accept(running))
                .whenComplete((done, failure) -> released.complete(null));
    }

    /** Completes once what {@link #close()} releases has been released (at once for a session without a VM). */
    @Override
    public CompletableFuture<Void> released() {
        return released.copy();
    }
}
