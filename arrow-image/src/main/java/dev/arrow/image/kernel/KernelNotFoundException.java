package dev.arrow.image.kernel;

import dev.arrow.image.ImageException;

/** No usable guest kernel: none configured or cached, or a configured path that is missing or unreadable. */
public final class KernelNotFoundException extends ImageException {
    private static final long serialVersionUID = 1L;

    public KernelNotFoundException(String message) {
        super(message);
    }
}
