package dev.arrow;

import dev.arrow.config.ArrowSpec;
import dev.arrow.internal.BootRecorder;
import dev.arrow.internal.HostFiles;
import dev.arrow.internal.TemplateBootOutput;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.MicroVmTemplate;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A booted arrow frozen at its {@link TemplatePoint}, from which {@link #start()} starts clones: each clone is
 * an ordinary {@link ArrowProcess} whose guest resumes from the frozen one, its RAM a copy-on-write view of the
 * template's, instead of booting Linux. Made by {@link Arrow#template()}.
 *
 * <pre>{@code
 * try (ArrowTemplate template = Arrow.of(Path.of("busybox")).args("echo", "hi").template()) {
 *     for (String name : List.of("a", "b", "c")) {
 *         try (ArrowProcess p = template.start(c -> c.args("echo", name))) {
 *             p.getInputStream().transferTo(System.out);
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>Each clone is a distinct machine: its wall clock is the host's now, its kernel's random pool is reseeded
 * from the host, and with {@link dev.arrow.config.Net#user()} it has its own network process and host ports.
 * Its timeline has {@link BootPhase#CLONED} instead of the boot phases. Closing the template never disturbs
 * running clones. Thread-safe: clones may be started from several threads at once.
 */
public final class ArrowTemplate implements AutoCloseable {
    private final ArrowSpec spec;
    private final TemplatePoint point;
    private final MicroVmTemplate frozen;
    private final String backend;
    private final CloneDefaults defaults;
    private final BootTimeline boot;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * What a clone takes from the builder that made its template unless its {@link CloneOptions} say otherwise:
     * streams, grace period, log consumers and the wait for readiness ({@code readiness} may be null: none).
     */
    record CloneDefaults(Output stdout, Output stderr, Input stdin, Duration gracePeriod,
                         List<Consumer<OutputFrame>> logConsumers, WaitStrategy readiness) {
        CloneDefaults {
            logConsumers = List.copyOf(logConsumers);
        }
    }

    private ArrowTemplate(ArrowSpec spec, TemplatePoint point, MicroVmTemplate frozen, String backend,
                          CloneDefaults defaults, BootTimeline boot) {
        this.spec = spec;
        this.point = point;
        this.frozen = frozen;
        this.backend = backend;
        this.defaults = defaults;
        this.boot = boot;
    }

    /** Boots {@code spec} up to {@code point} with {@code launcher}; see {@link Arrow#template(TemplatePoint)}. */
    static ArrowTemplate boot(ArrowSpec spec, TemplatePoint point, ArrowLauncher launcher, CloneDefaults defaults) {
        BootRecorder recorder = BootRecorder.begin(ArrowProcess.nextId());
        recorder.host(BootPhase.SPEC_VALIDATED);
        TemplateBootOutput output = new TemplateBootOutput(spec.binary().getFileName().toString());
        MicroVmTemplate frozen;
        String backend = "the backend " + launcher.getClass().getName();
        try {
            frozen = launcher.template(spec, point, output.stdout(), output.stderr(), recorder);
        } catch (UnsupportedOperationException e) {
            throw new BackendUnavailableException(backend + " cannot make templates: use Arrow.start() instead");
        } catch (ArrowException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new VmmException(backend + " failed to boot the template: " + e, e);
        }
        if (frozen == null) {
            throw new VmmException(backend + " returned no template; this is a bug in the backend");
        }
        return new ArrowTemplate(spec, point, frozen, backend, defaults, recorder.snapshot());
    }

    /** Starts a clone with the template's settings. */
    public ArrowProcess start() {
        return start(options -> { });
    }

    /**
     * Starts a clone with its own settings, e.g. {@code template.start(c -> c.args("b").env("K", "v"))}; see
     * {@link CloneOptions} for what a clone may change.
     *
     * @throws IllegalStateException     if the template is closed
     * @throws InvalidSpecException      naming each setting that is invalid or that a clone of this template cannot change
     * @throws IoRedirectException       if an output or input file cannot be opened
     * @throws ArrowException            a specific subclass when the backend cannot start the clone
     */
    public ArrowProcess start(Consumer<CloneOptions> customizer) {
        Objects.requireNonNull(customizer, "customizer");
        BootRecorder recorder = BootRecorder.begin(ArrowProcess.nextId());
        if (closed.get()) {
            throw new IllegalStateException("the template of " + spec.binary().getFileName() + " is closed: make a new"
                    + " one with Arrow.template()");
        }
        CloneOptions options = new CloneOptions();
        customizer.accept(options);
        ArrowSpec cloneSpec = options.applyTo(spec, point);
        HostFiles.check(cloneSpec);
        recorder.host(BootPhase.SPEC_VALIDATED);
        StartupWait wait = defaults.readiness() == null ? null : new StartupWait(defaults.readiness());
        ArrowProcess p = ArrowProcess.start(cloneSpec, options.stdoutOr(defaults.stdout()),
                options.stderrOr(defaults.stderr()), options.stdinOr(defaults.stdin()),
                options.gracePeriodOr(defaults.gracePeriod()), backend,
                (out, err, events, exits) -> frozen.startClone(cloneSpec, out, err, events, exits), recorder,
                new ArrowProcess.LogRouting(defaults.logConsumers(), wait == null ? List.of() : wait.watchers()));
        if (wait != null) {
            wait.await(p);
        }
        return p;
    }

    /** What the template runs; clones start from it. */
    public ArrowSpec spec() {
        return spec;
    }

    /** Where the template was frozen. */
    public TemplatePoint point() {
        return point;
    }

    /** The template's own boot, from {@link Arrow#template()} to the freeze. */
    public BootTimeline bootTimeline() {
        return boot;
    }

    /** True once {@link #close()} was called. */
    public boolean isClosed() {
        return closed.get();
    }

    /** Releases the frozen guest; clones already started keep running. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            frozen.close();
        }
    }

    @Override
    public String toString() {
        return "template of " + spec.binary().getFileName() + " at " + point + (closed.get() ? " (closed)" : "");
    }
}
