package dev.arrow.spi;

import dev.arrow.config.ArrowSpec;

/**
 * A booted guest frozen at its {@link dev.arrow.TemplatePoint}, as seen by {@link dev.arrow.ArrowTemplate},
 * which owns it. Created by {@link ArrowLauncher#template}; implemented by a backend. Thread-safe.
 */
public interface MicroVmTemplate extends AutoCloseable {

    /**
     * Starts a clone of the frozen guest that runs {@code spec}: the template's spec with the clone's own
     * settings applied (arrow-core has checked that a clone of this template may change them). Returns once the
     * clone runs; it then follows the {@link MicroVmSession} contract.
     *
     * @param events receives {@link dev.arrow.BootPhase#CLONED} and the guest's marks from here on
     * @throws dev.arrow.ArrowException a specific subclass when the clone cannot be started; everything created
     *         for it is released first
     * @throws IllegalStateException if the template is closed
     */
    MicroVmSession startClone(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents events);

    /**
     * As {@link #startClone(ArrowSpec, OutputSink, OutputSink, BootEvents)}, delivering the clone's
     * {@link ArrowSpec#copyOutOnExit()} paths to {@code exitCopies} (see {@link ArrowLauncher}'s method of that shape).
     * This is what arrow-core calls; the default refuses a spec with such paths.
     */
    default MicroVmSession startClone(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents events,
            ExitCopySink exitCopies) {
        if (!spec.copyOutOnExit().isEmpty()) {
            throw new UnsupportedOperationException("the backend " + getClass().getName()
                    + " cannot copy files out of a clone when its program ends");
        }
        return startClone(spec, stdout, stderr, events);
    }

    /** Releases the frozen guest; clones already started keep running. Idempotent. */
    @Override
    void close();
}
