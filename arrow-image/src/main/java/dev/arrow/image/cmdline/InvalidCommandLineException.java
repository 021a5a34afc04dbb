package dev.arrow.image.cmdline;

import dev.arrow.image.ImageException;

/** A kernel command-line parameter the kernel would misparse, or a command line over the kernel's length limit. */
public final class InvalidCommandLineException extends ImageException {
    private static final long serialVersionUID = 1L;

    public InvalidCommandLineException(String message) {
        super(message);
    }
}
