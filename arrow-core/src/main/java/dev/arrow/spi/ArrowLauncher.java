package dev.arrow.spi;

import dev.arrow.HostSupport;
import dev.arrow.TemplatePoint;
import dev.arrow.config.ArrowSpec;

/**
 * The backend seam: boots a microVM for a spec. {@link dev.arrow.Arrow#start()} validates the spec,
 * checks the host files it names (binary, kernel if set, copied files exist and are readable), opens
 * the I/O redirects, then calls {@link #launch} once per process. The KVM backend implements it; tests
 * use fakes. Found through {@link java.util.ServiceLoader} unless given with
 * {@link dev.arrow.Arrow#launcher(ArrowLauncher)}.
 */
public interface ArrowLauncher {

    /**
     * Creates and starts a microVM running {@code spec}'s program, returning once the guest is started
     * (it keeps running on the backend's threads). Called on the thread of {@code start()}.
     *
     * @param spec   the validated spec, whose host files were found readable
     * @param stdout receives the program's stdout
     * @param stderr receives the program's stderr (a backend with a single console writes everything to
     *               {@code stdout})
     * @return the running session, owned by the caller from now on
     * @throws dev.arrow.ArrowException a specific subclass when the VM cannot be created (KVM missing or
     *         not permitted, no hardware virtualization, bad binary or kernel, VMM failure); everything
     *         created before the failure is released first
     */
    MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr);

    /**
     * As {@link #launch(ArrowSpec, OutputSink, OutputSink)}, reporting the boot phases the backend
     * reaches (image assembled, VM created, kernel loaded, first KVM_RUN, the guest's marks, the
     * guest's end) to {@code events}. This is what arrow-core calls; the default ignores
     * {@code events}, so a backend without telemetry implements only the other method.
     */
    default MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents events) {
        return launch(spec, stdout, stderr);
    }

    /**
     * As {@link #launch(ArrowSpec, OutputSink, OutputSink, BootEvents)}, delivering the guest paths of
     * {@link ArrowSpec#copyOutOnExit()} to {@code exitCopies} after the program ended. This is what arrow-core calls; the
     * default refuses a spec with such paths and otherwise ignores {@code exitCopies}.
     *
     * @throws UnsupportedOperationException if the spec has copy-out paths and this backend cannot send them
     */
    default MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents events,
            ExitCopySink exitCopies) {
        if (!spec.copyOutOnExit().isEmpty()) {
            throw new UnsupportedOperationException("the backend " + getClass().getName()
                    + " cannot copy files out of the guest when the program ends");
        }
        return launch(spec, stdout, stderr, events);
    }

    /**
     * Boots {@code spec}'s program up to {@code point} and freezes it there, for clones to start from; returns
     * once the guest is frozen. Called on the thread of {@link dev.arrow.Arrow#template()}. The default refuses:
     * a backend without templates implements only {@link #launch}.
     *
     * @param stdout receives what the program writes on stdout before an {@linkplain dev.arrow.TemplatePoint#isAppPoint()
     *               app point} is reached (nothing at the init point)
     * @param stderr the same for stderr
     * @param events receives the template's boot phases
     * @throws dev.arrow.ArrowException a specific subclass when the guest cannot be booted or does not reach
     *         {@code point} in time; everything created is released first
     * @throws UnsupportedOperationException if this backend cannot make templates
     */
    default MicroVmTemplate template(ArrowSpec spec, TemplatePoint point, OutputSink stdout, OutputSink stderr,
            BootEvents events) {
        throw new UnsupportedOperationException("the backend " + getClass().getName() + " cannot make templates");
    }

    /**
     * What this host offers this backend: its KVM, the kernel it would boot, the programs it needs, each
     * problem in a sentence with its fix. Called by {@link dev.arrow.Arrow#hostSupport()}; quick, reads the
     * host only (boots nothing). The default says that this backend does not probe the host.
     */
    default HostSupport hostSupport() {
        return HostSupport.notProbed(getClass().getName());
    }

    /**
     * Waits until everything of the sessions closed so far has been released, at most {@code timeout}: for a backend
     * that releases closed sessions on a thread of its own ({@link MicroVmSession#released()}). Called by
     * {@link dev.arrow.Arrow#awaitReleased}. The default, for a backend that releases on the closing thread, returns
     * true at once.
     *
     * @return false if some release had not finished within {@code timeout}
     */
    default boolean awaitReleased(java.time.Duration timeout) throws InterruptedException {
        return true;
    }
}
