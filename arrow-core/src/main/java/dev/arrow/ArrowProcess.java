package dev.arrow;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.LinuxLimits;
import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.internal.BootRecorder;
import dev.arrow.internal.ExitCopies;
import dev.arrow.internal.GuestInput;
import dev.arrow.internal.GuestOutput;
import dev.arrow.internal.HostTreeWriter;
import dev.arrow.internal.OutputTap;
import dev.arrow.internal.Timers;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.OutputSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A program running in its own microVM, started by {@link Arrow#start()}. Reads like
 * {@link java.lang.Process}: separate stdout and stderr streams, stdin, {@link #waitFor()},
 * {@link #exitValue()}, {@link #onExit()}, {@link #destroy()}; plus the outcome as a value
 * ({@link #outcome()}) and {@link #close()}.
 *
 * <p>Ownership: the process owns its microVM session, its pipes and its I/O threads. They are released
 * when the guest ends (buffered output stays readable) and at the latest by {@link #close()}, which also
 * stops a guest that is still running. Use try-with-resources.
 *
 * <p>{@link #pid()}, {@link #toHandle()} and {@link #info()} throw {@link UnsupportedOperationException}:
 * the guest runs in this JVM, not as a host process, so there is no host pid to give; a synthetic number
 * could be mistaken for one. Use {@link #id()} to tell processes apart.
 *
 * <p>"Exited" in the sense of {@link #isAlive()}, {@link #waitFor()} and {@link #onExit()} means: the
 * guest has ended and the output sent to files, line consumers and log consumers has been delivered.
 *
 * <p>Exit values ({@link #exitValue()}, {@link #waitFor()}): the program's own end maps as a shell reports
 * it, its exit code 0..255 or 128 + the signal that ended it ({@link ArrowOutcome.Exited},
 * {@link ArrowOutcome.Signaled}). Ends that are Arrow's own (the program could not start, the guest
 * crashed, the timeout elapsed, the VM was stopped from the host) map above 255, to
 * {@link ArrowOutcome#ARROW_OUTCOME_BASE} + the shell's number for them (381 crashed, 380 timed out,
 * 393 destroyed, 383 not found, ...; see {@link ArrowOutcome}), so they never collide with the program's
 * and their low byte is still what a shell shows. {@link #outcome()} is the precise answer.
 */
public final class ArrowProcess extends Process implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ArrowProcess.class);
    private static final AtomicLong IDS = new AtomicLong();
    /** The most file content {@link #copyFileFromGuest(String, Path)} takes: 256 MiB. */
    public static final long DEFAULT_COPY_LIMIT_BYTES = 256L << 20;

    private enum KillReason { DESTROYED, TIMED_OUT, CLOSED }
    /** How long a start that fails after the VM started waits for its release ({@link #closeReleased()}). */
    static final Duration RELEASE_WAIT = Duration.ofSeconds(30);

    private final long id;
    private final ArrowSpec spec;
    private final MicroVmSession session;
    private final GuestOutput stdout;
    private final GuestOutput stderr;
    private final GuestInput stdin;
    private final Duration gracePeriod;
    private final BootRecorder boot;
    private final OutputTap tap;
    private final ExitCopies exitCopies;
    private final CompletableFuture<ArrowOutcome> exit = new CompletableFuture<>();
    private final AtomicReference<KillReason> killReason = new AtomicReference<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Object endLock = new Object();
    private ArrowOutcome finalOutcome; // guarded by endLock
    private volatile Timers.Scheduled timeoutTimer;
    private volatile Timers.Scheduled graceTimer;

    private ArrowProcess(long id, ArrowSpec spec, MicroVmSession session, GuestOutput stdout, GuestOutput stderr,
                         GuestInput stdin, Duration gracePeriod, BootRecorder boot, OutputTap tap, ExitCopies exitCopies) {
        this.id = id;
        this.exitCopies = exitCopies;
        this.tap = tap;
        this.boot = boot;
        this.spec = spec;
        this.session = session;
        this.stdout = stdout;
        this.stderr = stderr;
        this.stdin = stdin;
        this.gracePeriod = gracePeriod;
    }

    /** A new process number, unique in this JVM. */
    static long nextId() {
        return IDS.incrementAndGet();
    }

    /**
     * Where the lines of output go besides the {@link Output}s.
     *
     * @param consumers the user's log consumers
     * @param watchers  arrow-core's own observers of every line (readiness checks)
     */
    record LogRouting(List<Consumer<OutputFrame>> consumers, List<Consumer<OutputFrame>> watchers) {
        LogRouting {
            consumers = List.copyOf(consumers);
            watchers = List.copyOf(watchers);
        }
    }

    /**
     * Opens the I/O routes, launches the VM and wires the process up; releases everything on failure.
     *
     * @param boot the timeline begun by {@link Arrow#start()}; its process id becomes this process's id
     * @param logs where the lines of output go besides {@code out} and {@code err}
     */
    static ArrowProcess start(ArrowSpec spec, Output out, Output err, Input in, Duration gracePeriod,
                              ArrowLauncher launcher, BootRecorder boot, LogRouting logs) {
        return start(spec, out, err, in, gracePeriod, "the backend " + launcher.getClass().getName(),
                (stdout, stderr, events, exits) -> launcher.launch(spec, stdout, stderr, events, exits), boot, logs);
    }

    /** Starts a session: a cold boot ({@link ArrowLauncher#launch}) or a clone ({@link dev.arrow.spi.MicroVmTemplate}). */
    @FunctionalInterface
    interface SessionStarter {
        MicroVmSession start(OutputSink stdout, OutputSink stderr, BootEvents events, ExitCopySink exitCopies);
    }

    /**
     * Opens the I/O routes, starts the session with {@code starter} and wires the process up; releases
     * everything on failure.
     *
     * @param backend names who starts the session, in error messages
     * @param logs    where the lines of output go besides {@code out} and {@code err}
     */
    static ArrowProcess start(ArrowSpec spec, Output out, Output err, Input in, Duration gracePeriod, String backend,
                              SessionStarter starter, BootRecorder boot, LogRouting logs) {
        long id = boot.processId();
        String name = "arrow-" + id;
        PrintStream systemOut = System.out;
        PrintStream systemErr = System.err;
        GuestOutput stdout = null;
        GuestOutput stderr = null;
        GuestInput stdin = null;
        OutputTap tap = null;
        ExitCopies exitCopies = new ExitCopies(spec.copyOutOnExit(), spec.copyOutMaxBytes());
        MicroVmSession session;
        try {
            stdout = GuestOutput.open(out, name + "-stdout", systemOut);
            // With redirectErrorStream the guest writes both streams to stdout; what a backend still hands to
            // stderr (one with a single console) joins stdout here.
            boolean mergeErrors = spec.redirectErrorStream();
            stderr = GuestOutput.open(mergeErrors ? Output.discard() : err, name + "-stderr", systemErr);
            stdin = GuestInput.open(in, name + "-stdin");
            tap = new OutputTap(name, logs.consumers(), logs.watchers());
            OutputFrame.Stream errorTag = mergeErrors ? OutputFrame.Stream.STDOUT : OutputFrame.Stream.STDERR;
            session = starter.start(boot.tapFirstOutput(tap.tap(OutputFrame.Stream.STDOUT, stdout)),
                    boot.tapFirstOutput(tap.tap(errorTag, mergeErrors ? stdout : stderr)), boot, exitCopies);
            if (session == null) {
                throw new VmmException(backend + " returned no session; this is a bug in the backend");
            }
        } catch (ArrowException e) {
            releaseAll(stdout, stderr, stdin, tap);
            exitCopies.close();
            throw e;
        } catch (RuntimeException e) {
            releaseAll(stdout, stderr, stdin, tap);
            exitCopies.close();
            throw new VmmException(backend + " failed to start the VM: " + e, e);
        }
        ArrowProcess p = new ArrowProcess(id, spec, session, stdout, stderr, stdin, gracePeriod, boot, tap, exitCopies);
        try {
            p.begin();
        } catch (RuntimeException e) {
            p.closeReleased();
            throw new VmmException("wiring up the VM started by " + backend + " failed: " + e, e);
        }
        return p;
    }

    private static void releaseAll(GuestOutput stdout, GuestOutput stderr, GuestInput stdin, OutputTap tap) {
        if (tap != null) {
            tap.release();
        }
        if (stdout != null) {
            stdout.release();
        }
        if (stderr != null) {
            stderr.release();
        }
        if (stdin != null) {
            stdin.release();
        }
    }

    private void begin() {
        LOG.debug("{} started: {}", this, spec);
        stdin.attach(session.stdin());
        spec.timeout().ifPresent(t -> timeoutTimer = Timers.after(t, () -> kill(KillReason.TIMED_OUT)));
        session.outcome().whenCompleteAsync((outcome, failure) ->
                end(outcome, failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure));
    }

    /** This process's number, unique in this JVM; not a host pid. */
    public long id() {
        return id;
    }

    /** The validated spec this process was started with. */
    public ArrowSpec spec() {
        return spec;
    }

    /**
     * Where this arrow's start-up time went so far: the {@link BootPhase}s reached, with host offsets
     * from {@link Arrow#start()} and the guest's own uptime for the phases its init reports. A fresh
     * snapshot on every call; complete (up to {@link BootPhase#EXITED}) once the process has exited.
     */
    public BootTimeline timeline() {
        return boot.snapshot();
    }

    /**
     * The microVM's counters now (vCPU exits by kind, resident guest memory); empty if the backend
     * keeps none. After the guest ended the exit counts are final.
     */
    public Optional<VmStatistics> statistics() {
        try {
            return session.statistics();
        } catch (RuntimeException e) {
            LOG.warn("{}: reading the VM statistics failed", this, e);
            return Optional.empty();
        }
    }

    /** The guest program's stdin; see {@link Input#pipe()}. Writes fail if stdin is not a pipe. */
    @Override
    public OutputStream getOutputStream() {
        return stdin.userStream();
    }

    /** The guest program's stdout; empty unless it is {@link Output#pipe()}. */
    @Override
    public InputStream getInputStream() {
        return stdout.userStream();
    }

    /** The guest program's stderr; empty unless it is {@link Output#pipe()}. */
    @Override
    public InputStream getErrorStream() {
        return stderr.userStream();
    }

    /**
     * Waits until the process has exited.
     *
     * @return the exit value, see {@link ArrowOutcome}
     * @throws IllegalStateException if called from this process's own line consumer (it would wait forever)
     */
    @Override
    public int waitFor() throws InterruptedException {
        checkNotDeliveryThread("waitFor()");
        try {
            return exit.get().exitValue();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the exit of " + this + " failed", e);
        }
    }

    /**
     * Waits at most {@code timeout} for the process to exit.
     *
     * @return whether it has exited
     */
    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        checkNotDeliveryThread("waitFor(timeout)");
        try {
            exit.get(timeout, unit);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw new IllegalStateException("the exit of " + this + " failed", e);
        }
    }

    private void checkNotDeliveryThread(String call) {
        Thread current = Thread.currentThread();
        if (stdout.isDeliveryThread(current) || stderr.isDeliveryThread(current) || tap.isDeliveryThread(current)) {
            throw new IllegalStateException(call + " called from a line or log consumer of " + describe()
                    + " would wait forever for its own end; wait from another thread");
        }
    }

    /**
     * The exit value, see {@link ArrowOutcome}.
     *
     * @throws IllegalThreadStateException if the process has not exited yet
     */
    @Override
    public int exitValue() {
        ArrowOutcome outcome = exit.getNow(null);
        if (outcome == null) {
            throw new IllegalThreadStateException(describe() + " has not exited");
        }
        return outcome.exitValue();
    }

    /** Completes with how the process ended, when it has exited. Completing the returned future has no effect. */
    public CompletableFuture<ArrowOutcome> outcome() {
        return exit.copy();
    }

    /**
     * Completes once the VM of this process has been released (its threads ended, its memory unmapped, its fds
     * closed): after {@link #close()}, or after the guest ended by itself, which releases it too. {@code close()}
     * returns before that (it stops the VM and closes the streams; the backend releases the rest on a thread of its
     * own); {@link Arrow#awaitReleased} waits for every closed process of the JVM. Never completes exceptionally.
     */
    public CompletableFuture<Void> onReleased() {
        return exit.handle((outcome, failure) -> null).thenCompose(ended -> session.released());
    }

    /**
     * Closes this process and waits, at most {@link #RELEASE_WAIT}, until its VM is released: for a start that fails
     * after the VM started (the caller of {@code start()} expects nothing of it left), rare enough to pay the release.
     */
    void closeReleased() {
        close();
        try {
            session.released().get(RELEASE_WAIT.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("{}: its VM was not released within {} s of its close; start() fails anyway", this,
                    RELEASE_WAIT.toSeconds(), e);
        }
    }

    /** Completes with this process when it has exited. Completing the returned future has no effect. */
    @Override
    public CompletableFuture<Process> onExit() {
        return exit.thenApply(outcome -> (Process) this);
    }

    @Override
    public boolean isAlive() {
        return !exit.isDone();
    }

    /** Whether {@link #destroy()} asks the program to terminate before stopping the VM. */
    @Override
    public boolean supportsNormalTermination() {
        return session.supportsGracefulStop();
    }

    /**
     * Asks the program to terminate (SIGTERM in the guest, delivered by its init) and stops the VM if it is
     * still running after the grace period ({@link Arrow#gracePeriod(Duration)}). Returns at once. If the
     * backend cannot ask, the VM is stopped at once, as by {@link #destroyForcibly()}. A program that ends on
     * SIGTERM has the outcome {@link ArrowOutcome.Signaled} (exit value 143); one the grace period cut short
     * {@link ArrowOutcome.Destroyed}.
     */
    @Override
    public void destroy() {
        if (hasEnded()) {
            return;
        }
        if (!session.supportsGracefulStop()) {
            kill(KillReason.DESTROYED);
            return;
        }
        LOG.debug("{}: asking the guest to stop, grace period {}", this, gracePeriod);
        try {
            session.stop();
        } catch (RuntimeException e) {
            LOG.warn("{}: asking the guest to stop failed; stopping the VM", this, e);
            kill(KillReason.DESTROYED);
            return;
        }
        if (graceTimer == null) {
            graceTimer = Timers.after(gracePeriod, () -> kill(KillReason.DESTROYED));
        }
        if (hasEnded()) {
            graceTimer.cancel();
        }
    }

    /** Stops the VM at once; the outcome is {@link ArrowOutcome.Destroyed} unless the program had ended. */
    @Override
    public ArrowProcess destroyForcibly() {
        kill(KillReason.DESTROYED);
        return this;
    }

    private void kill(KillReason reason) {
        if (hasEnded()) {
            return;
        }
        killReason.compareAndSet(null, reason);
        LOG.debug("{}: stopping the VM ({})", this, reason);
        tap.abort();
        stdout.abort();
        stderr.abort();
        try {
            session.kill();
        } catch (RuntimeException e) {
            LOG.warn("{}: stopping the VM failed", this, e);
        }
    }

    private boolean hasEnded() {
        synchronized (endLock) {
            return finalOutcome != null;
        }
    }

    /**
     * Stops the guest if it is still running (outcome {@link ArrowOutcome.Destroyed}), releases the VM,
     * the pipes and the I/O threads, and closes this process's streams (reading them fails afterwards).
     * Does not wait for line consumers. Idempotent; {@link #exitValue()} works afterwards.
     *
     * <p>Returns quickly: the outcome is settled, the streams closed and the vCPUs stopped here, while the KVM
     * backend releases the VM (joins its threads, unmaps its memory, closes its fds, ends passt) on a JVM-wide
     * thread, {@code arrow-reaper}, unless {@code -Darrow.asyncRelease=false}. {@link #onReleased()} and
     * {@link Arrow#awaitReleased} tell when that is done.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        kill(KillReason.CLOSED);
        closeSession();
        CompletableFuture<ArrowOutcome> reported = session.outcome();
        ArrowOutcome outcome;
        if (reported.isDone()) {
            outcome = end(reported);
        } else {
            LOG.warn("{}: the backend did not complete the outcome on close; reporting it destroyed", this);
            outcome = end(new ArrowOutcome.Destroyed(), null);
        }
        tap.release();
        stdout.release();
        stderr.release();
        stdin.release();
        exitCopies.close();
        exit.complete(outcome);
    }

    private ArrowOutcome end(CompletableFuture<ArrowOutcome> reported) {
        try {
            return end(reported.join(), null);
        } catch (CompletionException | CancellationException e) {
            return end(null, e.getCause() == null ? e : e.getCause());
        }
    }

    /** The guest has ended: settles the outcome once, finishes the streams, releases the VM. */
    private ArrowOutcome end(ArrowOutcome reported, Throwable failure) {
        ArrowOutcome outcome;
        synchronized (endLock) {
            if (finalOutcome != null) {
                return finalOutcome;
            }
            outcome = settle(reported, failure);
            finalOutcome = outcome;
        }
        LOG.debug("{}: guest ended: {}", describe(), outcome);
        boot.finish(spec.binary().toString(), outcome.toString());
        try {
            cancel(timeoutTimer);
            cancel(graceTimer);
            tap.finish();
            stdout.finish();
            stderr.finish();
            stdin.guestEnded();
            closeSession();
        } finally {
            CompletableFuture.allOf(stdout.drained(), stderr.drained(), tap.drained())
                    .whenComplete((v, e) -> exit.complete(outcome));
        }
        return outcome;
    }

    private ArrowOutcome settle(ArrowOutcome reported, Throwable failure) {
        if (failure != null) {
            LOG.warn("{}: the backend failed", this, failure);
            return new ArrowOutcome.GuestCrashed("the backend failed: " + failure);
        }
        if (reported == null) {
            return new ArrowOutcome.GuestCrashed("the backend reported no outcome");
        }
        if (reported instanceof ArrowOutcome.Destroyed && killReason.get() == KillReason.TIMED_OUT) {
            return new ArrowOutcome.TimedOut(spec.timeout().orElseThrow());
        }
        return reported;
    }

    private static void cancel(Timers.Scheduled timer) {
        if (timer != null) {
            timer.cancel();
        }
    }

    private void closeSession() {
        try {
            session.close();
        } catch (RuntimeException e) {
            LOG.warn("{}: releasing the VM failed", this, e);
        }
    }

    /** Not supported: the guest is not a host process; see the class comment. Use {@link #id()}. */
    @Override
    public long pid() {
        throw noHostProcess();
    }

    /** Not supported: the guest is not a host process; see the class comment. */
    @Override
    public ProcessHandle toHandle() {
        throw noHostProcess();
    }

    private UnsupportedOperationException noHostProcess() {
        return new UnsupportedOperationException("an Arrow process runs in a microVM inside this JVM and has no host"
                + " process id or handle; use id() to tell processes apart");
    }

    /**
     * Sends {@code signal} (1..64, e.g. 1 SIGHUP, 2 SIGINT, 10 SIGUSR1, 15 SIGTERM) to the program through
     * the guest's init and returns at once; what the program does with it is its own business. No effect
     * after the process has exited.
     *
     * @throws IllegalArgumentException      if {@code signal} is outside 1..64
     * @throws UnsupportedOperationException if the backend cannot deliver signals (see
     *                                       {@link #supportsNormalTermination()})
     */
    public void signal(int signal) {
        if (signal < 1 || signal > LinuxLimits.MAX_SIGNAL) {
            throw new IllegalArgumentException("signal " + signal + " outside 1.." + LinuxLimits.MAX_SIGNAL);
        }
        if (!hasEnded()) {
            LOG.debug("{}: sending signal {}", this, signal);
            session.signal(signal);
        }
    }

    /**
     * Copies the guest file or directory {@code guestPath} to the host path {@code hostTarget}, taking at most
     * {@value #DEFAULT_COPY_LIMIT_BYTES} bytes of file content; see {@link #copyFileFromGuest(String, Path, long)}.
     */
    public void copyFileFromGuest(String guestPath, Path hostTarget) throws IOException {
        copyFileFromGuest(guestPath, hostTarget, DEFAULT_COPY_LIMIT_BYTES);
    }

    /**
     * Copies the guest file or directory {@code guestPath} to the host path {@code hostTarget}, like {@code cp -r}:
     * regular files, directories with everything below them, symbolic links as links (a link named by
     * {@code guestPath} itself is followed); devices, FIFOs and sockets are skipped, and so are other file systems
     * mounted below a directory (like {@code cp -x}: {@code /proc}, {@code /sys}, {@code /dev}, {@code /tmp} are
     * mounts). Permission bits are kept, plus read and write (and search) for the host user. Returns when the copy is
     * at {@code hostTarget}: it is written beside it under a hidden name and renamed into place at the end, so a
     * failed copy leaves nothing behind and an existing file there is replaced only by a whole copy.
     *
     * <p>While the program runs, the guest's init sends the path (it serves one copy at a time, between its other
     * work; several threads may ask at once). Once the program has ended the guest is gone: only paths declared
     * before start with {@link Arrow#copyOutOnExit(String...)}, and paths below them, can still be copied, from
     * what the guest sent when the program ended.
     *
     * @param maxBytes the most bytes of file content to take
     * @throws java.nio.file.NoSuchFileException    naming {@code guestPath} if the guest has no such file or directory
     * @throws GuestFileTooLargeException            if it holds more than {@code maxBytes} bytes of file content (or,
     *                                               after the end, more than the bound declared for all such copies)
     * @throws java.nio.file.FileAlreadyExistsException if a directory is in the place of {@code hostTarget}
     * @throws InterruptedIOException                if the calling thread is interrupted while it waits (the copy is
     *                                               given up)
     * @throws IOException                           if the copy fails otherwise, in the guest or on the host
     * @throws IllegalArgumentException              if {@code guestPath} is not an absolute path in normal form, is too
     *                                               long to be asked for while the program runs (about 980 bytes), or
     *                                               {@code maxBytes} is negative
     * @throws IllegalStateException                 if the program has ended and {@code guestPath} was not declared
     *                                               with {@link Arrow#copyOutOnExit(String...)}, or this process is
     *                                               closed
     * @throws UnsupportedOperationException         if the backend cannot copy files out of the guest
     */
    public void copyFileFromGuest(String guestPath, Path hostTarget, long maxBytes) throws IOException {
        Objects.requireNonNull(guestPath, "guestPath");
        Objects.requireNonNull(hostTarget, "hostTarget");
        ArrowSpec.copyOutPathProblem(guestPath).ifPresent(problem -> {
            throw new IllegalArgumentException(problem);
        });
        if (maxBytes < 0) {
            throw new IllegalArgumentException("limit " + maxBytes + " is negative; give the most bytes to copy, e.g. "
                    + DEFAULT_COPY_LIMIT_BYTES);
        }
        if (closed.get()) {
            throw new IllegalStateException(describe() + " is closed: copy files out of it before close()");
        }
        if (!hasEnded() && copyWhileRunning(guestPath, hostTarget, maxBytes)) {
            return;
        }
        copyAfterEnd(guestPath, hostTarget, maxBytes);
    }

    /** Asks the running guest for the copy; false if the guest stopped serving copies before it was whole. */
    private boolean copyWhileRunning(String guestPath, Path hostTarget, long maxBytes) throws IOException {
        HostTreeWriter writer = new HostTreeWriter(guestPath, hostTarget, maxBytes);
        try {
            session.copyFromGuest(guestPath, maxBytes, writer).get();
            writer.commit();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while copying " + guestPath + " out of " + describe());
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof EOFException) {
                return false; // the program ended first: what it sent when it ended may have it
            }
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException("copying " + guestPath + " out of " + describe() + " failed: " + cause, cause);
        } finally {
            writer.discard(); // no effect after commit
        }
    }

    private void copyAfterEnd(String guestPath, Path hostTarget, long maxBytes) throws IOException {
        if (exitCopies.declaredCovering(guestPath).isEmpty()) {
            throw new IllegalStateException(describe() + " has ended, so " + guestPath + " can no longer be copied from its"
                    + " guest: declare it before start with copyOutOnExit(\"" + guestPath + "\") to have it sent when the"
                    + " program ends");
        }
        ArrowOutcome ending;
        try {
            ending = session.outcome().get(); // the backend delivers the copies before the outcome
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the end of " + describe());
        } catch (ExecutionException e) {
            ending = new ArrowOutcome.GuestCrashed("the backend failed: " + e.getCause());
        }
        exitCopies.copyTo(guestPath, hostTarget, maxBytes, "the program's outcome was " + ending);
    }

    /**
     * The last lines the program printed so far, in the order printed: at most
     * {@value OutputTap#TAIL_LINES} lines and {@value OutputTap#TAIL_BYTES} bytes per stream, the oldest
     * dropped first. A snapshot; kept after the process exited and after {@link #close()}. Independent of
     * where the output goes ({@link Output}), so also a piped stream nobody read shows here.
     */
    public List<OutputFrame> logs() {
        return tap.logs();
    }

    /**
     * The host TCP port forwarded to {@code guestPort}: the spec's, or for a forward with host port 0 the free
     * port chosen when the arrow started. With several forwards to the guest port, the first one's.
     *
     * @throws IllegalArgumentException if no TCP forward of the spec goes to {@code guestPort}
     */
    public int hostPort(int guestPort) {
        return forwardAddress(PortForward.Protocol.TCP, guestPort).getPort();
    }

    /** As {@link #hostPort(int)}, for a UDP forward. */
    public int hostUdpPort(int guestPort) {
        return forwardAddress(PortForward.Protocol.UDP, guestPort).getPort();
    }

    /** Where on the host to reach the first {@code protocol} forward to {@code guestPort} (0.0.0.0 as 127.0.0.1). */
    InetSocketAddress forwardAddress(PortForward.Protocol protocol, int guestPort) {
        List<PortForward> forwards = spec.net() instanceof Net.User user ? user.forwards() : List.of();
        PortForward forward = forwards.stream().filter(f -> f.protocol() == protocol && f.guestPort() == guestPort)
                .findFirst().orElseThrow(() -> new IllegalArgumentException("guest " + protocol + " port " + guestPort
                        + " is not forwarded by " + describe() + " (its forwards: " + forwards + "); forward it,"
                        + " e.g. net(Net.user().forward" + (protocol == PortForward.Protocol.UDP ? "Udp" : "")
                        + "(0, " + guestPort + ")) for a free host port"));
        Map<PortForward, Integer> reported = session.hostPorts();
        Integer port = reported.get(forward);
        if (port == null) {
            if (forward.hostPort() == PortForward.ANY_FREE_PORT) {
                throw new IllegalStateException("the backend did not report which host port it chose for " + forward
                        + " of " + describe() + "; this is a bug in the backend");
            }
            port = forward.hostPort();
        }
        String host = forward.hostAddress().equals(PortForward.ALL_INTERFACES) ? PortForward.LOOPBACK : forward.hostAddress();
        return new InetSocketAddress(host, port); // an IPv4 literal: no name lookup
    }

    /** The guest port of the spec's only TCP forward, for an HTTP check that named none. */
    int onlyTcpForward(Wait.Http http) {
        List<PortForward> tcp = (spec.net() instanceof Net.User user ? user.forwards() : List.<PortForward>of()).stream()
                .filter(f -> f.protocol() == PortForward.Protocol.TCP).toList();
        if (tcp.size() != 1) {
            throw new IllegalArgumentException(http + ": " + describe() + " has " + tcp.size() + " TCP forwards, so"
                    + " the check must say which guest port to ask: Wait.forHttp(\"" + http.path() + "\").forPort(80)");
        }
        return tcp.get(0).guestPort();
    }

    /** "arrow process 7 (path/of/binary)", for messages. */
    String describe() {
        return "arrow process " + id + " (" + spec.binary() + ")";
    }

    @Override
    public String toString() {
        ArrowOutcome outcome = exit.getNow(null);
        return "ArrowProcess[id=" + id + ", binary=" + spec.binary()
                + (outcome == null ? ", running" : ", " + outcome) + "]";
    }
}
