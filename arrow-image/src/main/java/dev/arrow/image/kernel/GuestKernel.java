package dev.arrow.image.kernel;

import java.nio.file.Path;

/** The kernel image a guest boots, and where the choice came from (for logs and error messages). */
public record GuestKernel(Path path, Source source) {
    public enum Source {
        /** Passed explicitly by the caller, e.g. {@code .kernel(path)}. */
        USER,
        /** The system property {@value KernelLocator#PROPERTY}. */
        SYSTEM_PROPERTY,
        /** The environment variable {@value KernelLocator#ENV}. */
        ENVIRONMENT,
        /** The {@code dev.arrow:arrow-kernel} jar on the class path, extracted by {@link KernelExtractor}. */
        PACKAGED,
        /** The newest build of scripts/build-kernel.sh guest in the cache. */
        CACHE
    }
}
