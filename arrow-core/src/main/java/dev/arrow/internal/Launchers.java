package dev.arrow.internal;

import dev.arrow.BackendUnavailableException;
import dev.arrow.spi.ArrowLauncher;

import java.util.Optional;
import java.util.ServiceLoader;

/** Finds the backend {@link dev.arrow.Arrow#start()} uses when none was given. */
public final class Launchers {

    /** Why there is no backend, and the fix. */
    public static final String NO_BACKEND = "no Arrow backend is available: no dev.arrow.spi.ArrowLauncher is"
            + " registered on the class path; add the KVM backend (dev.arrow:arrow-backend-kvm) to the class path,"
            + " or pass one with Arrow.launcher(...)";

    private Launchers() {
    }

    /** Looked up once, on first use. */
    private static final class Discovered {
        static final Optional<ArrowLauncher> LAUNCHER =
                ServiceLoader.load(ArrowLauncher.class, Launchers.class.getClassLoader()).findFirst();
    }

    /**
     * The first {@link ArrowLauncher} registered through {@link ServiceLoader}.
     *
     * @throws BackendUnavailableException if there is none
     */
    public static ArrowLauncher defaultLauncher() {
        return orNone(Discovered.LAUNCHER);
    }

    /** The first {@link ArrowLauncher} registered through {@link ServiceLoader}, if any. */
    public static Optional<ArrowLauncher> discovered() {
        return Discovered.LAUNCHER;
    }

    /** The first {@link ArrowLauncher} that {@code loader} can see; for tests of the error. */
    static ArrowLauncher discover(ClassLoader loader) {
        return orNone(ServiceLoader.load(ArrowLauncher.class, loader).findFirst());
    }

    private static ArrowLauncher orNone(Optional<ArrowLauncher> found) {
        return found.orElseThrow(() -> new BackendUnavailableException(NO_BACKEND));
    }
}
