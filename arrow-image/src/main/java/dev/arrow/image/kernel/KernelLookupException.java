package dev.arrow.image.kernel;

import dev.arrow.image.ImageException;

/** No usable guest kernel: none configured or cached, or a configured path that is missing or unreadable. */
public final class KernelLookupException extends ImageException {
    private static final long serialVersionUID = 1L;

    public KernelLookupException(String message) {
        super(message);
    }
}
