package dev.arrow.image.kernel;

import dev.arrow.image.ImageException;

/** A kernel file that is not a Linux kernel image Arrow can boot on x86-64 (see {@link KernelFormat}). */
public final class KernelFormatException extends ImageException {
    private static final long serialVersionUID = 1L;

    public KernelFormatException(String message) {
        super(message);
    }
}
