package dev.arrow;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.GuestFile;
import dev.arrow.config.Net;
import dev.arrow.config.RlimitResource;
import dev.arrow.config.SizeUnit;
import dev.arrow.config.SpecException;
import dev.arrow.internal.BootRecorder;
import dev.arrow.internal.HostFiles;
import dev.arrow.internal.Launchers;
import dev.arrow.spi.ArrowLauncher;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Fluent, reusable builder of Arrow processes: what to run in a microVM ({@link ArrowSpec}) plus where
 * its I/O goes. Like {@link ProcessBuilder}, setters only record values (and reject {@code null}); every
 * {@link #start()} snapshots and validates the builder, so most errors surface there, and the builder can
 * be changed and started again without affecting processes already started. Not thread-safe, but {@link #start()}
 * and {@link #template()} only read it: several threads may start one builder that none of them changes.
 *
 * <pre>{@code
 * try (ArrowProcess p = Arrow.of(Path.of("hello")).args("a").env("K", "v")
 *         .memory(64, MiB).cpus(1).net(Net.user().forward(8080, 80)).start()) {
 *     p.getInputStream().transferTo(System.out);
 *     int code = p.waitFor();
 * }
 * }</pre>
 * ({@code MiB} is {@link SizeUnit#MiB}, {@code Net} is {@link Net}.)
 */
public final class Arrow {

    /** How long {@link ArrowProcess#destroy()} waits for the program before stopping the VM, unless set. */
    public static final Duration DEFAULT_GRACE_PERIOD = Duration.ofSeconds(10);

    private final ArrowSpec.Builder spec;
    private Output stdout = Output.pipe();
    private Output stderr = Output.pipe();
    private Input stdin = Input.pipe();
    private Duration gracePeriod = DEFAULT_GRACE_PERIOD;
    private ArrowLauncher launcher;
    private final List<Consumer<OutputFrame>> logConsumers = new ArrayList<>();
    private WaitStrategy waitStrategy;

    private Arrow(ArrowSpec.Builder spec) {
        this.spec = spec;
    }

    /** A builder running the host file {@code binary}, a statically linked x86-64 Linux executable. */
    public static Arrow of(Path binary) {
        return new Arrow(ArrowSpec.builder(Objects.requireNonNull(binary, "binary")));
    }

    /** A builder starting from {@code spec} (e.g. one read with {@link dev.arrow.config.ArrowSpecJson}). */
    public static Arrow from(ArrowSpec spec) {
        return new Arrow(spec.toBuilder());
    }

    /**
     * What this host offers for running arrows, as the backend on the class path finds it (the one
     * {@link #start()} uses when none is given): its KVM, the default kernel, passt, and each problem in a
     * sentence with its fix. Boots nothing. Without a backend, the answer says which artifact to add.
     */
    public static HostSupport hostSupport() {
        return Launchers.discovered().map(ArrowLauncher::hostSupport)
                .orElseGet(() -> HostSupport.noBackend(Launchers.NO_BACKEND));
    }

    /**
     * Waits until every arrow closed so far in this JVM has been released, at most {@code timeout}.
     * {@link ArrowProcess#close()} returns once the guest is stopped, its outcome settled and its streams closed;
     * the KVM backend releases the rest (the vCPU threads joined, guest RAM unmapped, the VM's fds closed, passt
     * ended) on a thread of its own, {@code arrow-reaper}, in the order of the closes (docs/idle.md, "Releasing closed arrows"). For tests
     * that count the fds, mappings or threads the JVM holds, and for whoever measures right after closing arrows.
     * {@link ArrowProcess#onReleased()} tells the same of one process. Asks the backend on the class path (the one
     * {@link #start()} uses when none is given); true at once without one.
     *
     * @return false if some release had not finished within {@code timeout}
     * @throws InterruptedException if this thread is interrupted while waiting
     */
    public static boolean awaitReleased(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        java.util.Optional<ArrowLauncher> backend = Launchers.discovered();
        return backend.isEmpty() || backend.get().awaitReleased(timeout);
    }

    /** Replaces the program's arguments (after {@code argv[0]}). */
    public Arrow args(String... args) {
        spec.args(args);
        return this;
    }

    /** Replaces the program's arguments (after {@code argv[0]}). */
    public Arrow args(List<String> args) {
        spec.args(args);
        return this;
    }

    /**
     * Sets an environment variable. The program's environment is exactly what is set here; nothing is
     * inherited from the host. Insertion order is kept.
     */
    public Arrow env(String name, String value) {
        spec.env(name, value);
        return this;
    }

    /** Sets environment variables, in the iteration order of {@code variables}. */
    public Arrow env(Map<String, String> variables) {
        spec.env(variables);
        return this;
    }

    /** The program's working directory in the guest, an absolute path (default {@code /}). */
    public Arrow workingDirectory(String guestPath) {
        spec.workingDirectory(guestPath);
        return this;
    }

    /** User and group ids the program runs as in the guest (default 0, 0). */
    public Arrow user(int uid, int gid) {
        spec.user(uid, gid);
        return this;
    }

    /**
     * Guest RAM, e.g. {@code memory(64, MiB)}; 32 MiB to 16 GiB in whole MiB. By default 128 MiB, or as much
     * more as the binary and files need to arrive whole (about the kernel's 16 MiB + their size + twice their
     * size unpacked); an explicit size too small for them is refused at {@link #start()}.
     *
     * @throws IllegalArgumentException at once if the size does not fit in 64 bits
     */
    public Arrow memory(long amount, SizeUnit unit) {
        spec.memory(amount, unit);
        return this;
    }

    /** Number of vCPUs, 1 to {@value ArrowSpec#MAX_CPUS} (default 1). */
    public Arrow cpus(int cpus) {
        spec.cpus(cpus);
        return this;
    }

    /** The guest's network (default {@link Net#none()}). */
    public Arrow net(Net net) {
        spec.net(net);
        return this;
    }

    /**
     * Copies the host file {@code hostPath} to {@code guestPath} before the program starts, keeping the host
     * file's permission bits (an executable stays executable); {@link GuestFile#withMode(int)} sets others.
     */
    public Arrow file(Path hostPath, String guestPath) {
        return file(GuestFile.fromHost(hostPath, guestPath));
    }

    /** Writes {@code content} to {@code guestPath} (mode 0644) before the program starts. */
    public Arrow file(byte[] content, String guestPath) {
        return file(GuestFile.ofBytes(content, guestPath));
    }

    /** Writes {@code text} as UTF-8 to {@code guestPath} (mode 0644) before the program starts. */
    public Arrow textFile(String text, String guestPath) {
        return file(GuestFile.ofText(text, guestPath));
    }

    /** Places {@code file} into the guest, e.g. {@code file(GuestFile.fromHost(p, "/etc/key").withMode(0600))}. */
    public Arrow file(GuestFile file) {
        spec.file(file);
        return this;
    }

    /** Boots {@code kernel} (an uncompressed vmlinux) instead of Arrow's default kernel. */
    public Arrow kernel(Path kernel) {
        spec.kernel(kernel);
        return this;
    }

    /**
     * Stops the VM when the program runs longer than {@code timeout}; the outcome is then
     * {@link ArrowOutcome.TimedOut} (exit value 380, see {@link ArrowOutcome}).
     */
    public Arrow timeout(Duration timeout) {
        spec.timeout(timeout);
        return this;
    }

    /** The guest's hostname (default {@value ArrowSpec#DEFAULT_HOSTNAME}). */
    public Arrow hostname(String hostname) {
        spec.hostname(hostname);
        return this;
    }

    /** Limits a resource of the program; {@link dev.arrow.config.Rlimit#UNLIMITED} for no limit. */
    public Arrow rlimit(RlimitResource resource, long soft, long hard) {
        spec.rlimit(resource, soft, hard);
        return this;
    }

    /**
     * Has the guest send these files or directories to the host after the program ended and before the VM stops, so
     * that {@link ArrowProcess#copyFileFromGuest(String, Path)} can still copy them (or paths below them) once the
     * guest is gone. Absolute guest paths in normal form; kept until the process is {@linkplain ArrowProcess#close()
     * closed}, within {@link #copyOutOnExitLimit} bytes of file content together. The copies take place after the
     * program's leftover processes were stopped; a VM stopped before (timeout, {@link ArrowProcess#destroy()} past its
     * grace period) sends none.
     */
    public Arrow copyOutOnExit(String... guestPaths) {
        spec.copyOutOnExit(guestPaths);
        return this;
    }

    /**
     * The most file content the {@link #copyOutOnExit} paths may bring back together (default 256 MiB,
     * {@link ArrowSpec#DEFAULT_COPY_OUT_MAX_BYTES}); a path that would go past it is not kept, and copying it fails
     * with {@link GuestFileTooLargeException}.
     *
     * @throws IllegalArgumentException at once if the size does not fit in 64 bits
     */
    public Arrow copyOutOnExitLimit(long amount, SizeUnit unit) {
        spec.copyOutMaxBytes(Objects.requireNonNull(unit, "unit").toBytes(amount));
        return this;
    }

    /**
     * Shows the kernel's own console output (boot messages, panics), for debugging the guest: each line
     * is logged at INFO through the SLF4J logger {@code dev.arrow.guest.console}. The program's stdout
     * and stderr stay its own.
     */
    public Arrow debugConsole() {
        return debugConsole(true);
    }

    /** Whether to show the kernel's own console output (default false). */
    public Arrow debugConsole(boolean enabled) {
        spec.debugConsole(enabled);
        return this;
    }

    /** Where the program's stdout goes (default {@link Output#pipe()}). */
    public Arrow stdout(Output output) {
        this.stdout = Objects.requireNonNull(output, "output");
        return this;
    }

    /** Where the program's stderr goes (default {@link Output#pipe()}). */
    public Arrow stderr(Output output) {
        this.stderr = Objects.requireNonNull(output, "output");
        return this;
    }

    /** Where the program's stdin comes from (default {@link Input#pipe()}). */
    public Arrow stdin(Input input) {
        this.stdin = Objects.requireNonNull(input, "input");
        return this;
    }

    /**
     * How long {@link ArrowProcess#destroy()} lets the program terminate before stopping the VM (default
     * {@link #DEFAULT_GRACE_PERIOD}).
     *
     * @throws IllegalArgumentException if negative
     */
    public Arrow gracePeriod(Duration gracePeriod) {
        Objects.requireNonNull(gracePeriod, "gracePeriod");
        if (gracePeriod.isNegative()) {
            throw new IllegalArgumentException("grace period " + gracePeriod + " is negative; give zero or more");
        }
        this.gracePeriod = gracePeriod;
        return this;
    }

    /**
     * Adds a consumer of the program's output, line by line ({@link OutputFrame}s tagged stdout or stderr),
     * besides where {@link #stdout(Output)} and {@link #stderr(Output)} send it: several may be added, each
     * gets every line, on one thread of the process, in the order printed. A consumer slower than the
     * program slows it down; one that throws is logged and gets no more lines. The process has not
     * {@linkplain ArrowProcess#waitFor() exited} before every line was delivered. See also
     * {@link Slf4jLogConsumer}.
     */
    public Arrow logConsumer(Consumer<OutputFrame> consumer) {
        logConsumers.add(Objects.requireNonNull(consumer, "consumer"));
        return this;
    }

    /**
     * Whether stderr goes where stdout goes, like {@link ProcessBuilder#redirectErrorStream(boolean)}
     * (default false): the program's fds 1 and 2 are then one channel, so its lines arrive in the order it wrote
     * them; {@link #stderr(Output)} is ignored, {@link ArrowProcess#getErrorStream()} is empty and every line is
     * tagged {@link OutputFrame.Stream#STDOUT}.
     */
    public Arrow redirectErrorStream(boolean merge) {
        spec.redirectErrorStream(merge);
        return this;
    }

    /**
     * Makes {@link #start()} return only once the arrow is ready by {@code strategy} (see {@link Wait}), or
     * close it and throw {@link NotReadyException} when its startup timeout elapses or the arrow ends first.
     * With {@link Output#pipe()} (the default), {@code start()} does not read the pipe while it waits: a
     * program printing more than {@value dev.arrow.internal.GuestOutput#PIPE_CAPACITY} bytes before it is
     * ready stalls; send its output elsewhere ({@link Output#discard()}, a {@link #logConsumer}) then.
     */
    public Arrow waitingFor(WaitStrategy strategy) {
        this.waitStrategy = Objects.requireNonNull(strategy, "strategy");
        return this;
    }

    /**
     * The backend that boots the microVM; by default the one registered through
     * {@link java.util.ServiceLoader} (the KVM backend). Tests can pass a fake.
     */
    public Arrow launcher(ArrowLauncher launcher) {
        this.launcher = Objects.requireNonNull(launcher, "launcher");
        return this;
    }

    /**
     * A validated snapshot of what this builder runs.
     *
     * @throws InvalidSpecException listing every problem, each with its JSON path
     */
    public ArrowSpec spec() {
        try {
            return spec.build();
        } catch (SpecException e) {
            throw new InvalidSpecException(e);
        }
    }

    /**
     * Snapshots and validates the builder, checks the host files it names, opens the I/O redirects and
     * boots the microVM. Returns once the guest is starting, or with {@link #waitingFor(WaitStrategy)} once
     * the arrow is ready; the program's end is reported by the process.
     *
     * @throws InvalidSpecException       if the spec is invalid, or a file to copy is missing on the host
     * @throws InvalidBinaryException     if the binary is missing, unreadable or not a static Linux executable
     * @throws KernelNotFoundException    if the kernel asked for (or the default one) cannot be found
     * @throws InvalidKernelException     if the kernel file is not a Linux kernel Arrow can boot
     * @throws IoRedirectException        if an output or input file cannot be opened
     * @throws UnsupportedHostException  if this host cannot run arrows: {@link KvmUnavailableException} if it
     *                                    has no {@code /dev/kvm}, {@link KvmPermissionException} if this user
     *                                    may not open it, {@link NoHardwareVirtualizationException} if the
     *                                    host's KVM cannot boot Linux
     * @throws HostMemoryException        if the host (or the JVM's memory cgroup) cannot give the guest its RAM
     *                                    beside what this JVM's running arrows may still take
     * @throws GuestFailureException      if the guest fails before the program could start
     * @throws VmmException               if the VMM fails on the host side
     * @throws BackendUnavailableException if no backend is available
     * @throws NotReadyException          if the arrow was not ready in time or ended first (it is closed)
     */
    public ArrowProcess start() {
        BootRecorder boot = BootRecorder.begin(ArrowProcess.nextId());
        ArrowSpec snapshot = spec();
        HostFiles.check(snapshot);
        boot.host(BootPhase.SPEC_VALIDATED);
        ArrowLauncher backend = launcher != null ? launcher : Launchers.defaultLauncher();
        StartupWait wait = waitStrategy == null ? null : new StartupWait(waitStrategy);
        ArrowProcess p = ArrowProcess.start(snapshot, stdout, stderr, stdin, gracePeriod, backend, boot,
                new ArrowProcess.LogRouting(logConsumers, wait == null ? List.of() : wait.watchers()));
        if (wait != null) {
            wait.await(p);
        }
        return p;
    }

    /**
     * Boots the arrow once up to {@link TemplatePoint#init()} and freezes it there: the returned template
     * starts clones that skip the boot. Checked like {@link #start()}; this builder's streams, grace period, log
     * consumers, readiness wait and launcher become the clones' defaults (each clone is waited for as
     * {@link #start()} waits).
     *
     * @throws ArrowException as {@link #start()} does, or {@link GuestFailureException} if the guest ends or
     *         fails to reach the point within its timeout (the message says what it did)
     */
    public ArrowTemplate template() {
        return template(TemplatePoint.init());
    }

    /**
     * Boots the arrow up to {@code point} and freezes it there; see {@link #template()} and {@link TemplatePoint}.
     */
    public ArrowTemplate template(TemplatePoint point) {
        Objects.requireNonNull(point, "point");
        ArrowSpec snapshot = spec();
        HostFiles.check(snapshot);
        ArrowLauncher backend = launcher != null ? launcher : Launchers.defaultLauncher();
        return ArrowTemplate.boot(snapshot, point, backend, new ArrowTemplate.CloneDefaults(stdout, stderr, stdin,
                gracePeriod, logConsumers, waitStrategy));
    }
}
