package dev.arrow.image.kernel;

import dev.arrow.image.ImageException;

/**
 * No usable guest kernel: none configured, packaged or cached, a configured path that is missing or unreadable, or
 * a packaged kernel ({@link KernelArtifact}) that is corrupt or that no directory could take.
 */
public final class KernelLookupException extends ImageException {
    private static final long serialVersionUID = 1L;

    public KernelLookupException(String message) {
        super(message);
    }

    public KernelLookupException(String message, Throwable cause) {
        super(message, cause);
    }
}
