package dev.arrow.image.init;

import dev.arrow.image.ImageException;

/** A run spec that init could not carry out: a NUL in an argument, a relative working directory, a bad limit. */
public final class InvalidLaunchSpecException extends ImageException {
    private static final long serialVersionUID = 1L;

    public InvalidLaunchSpecException(String message) {
        super(message);
    }
}
