package dev.arrow.image.cpio;

import dev.arrow.image.ImageException;

/** An initramfs that cannot be assembled: a path added twice, a file under a non-directory, an unreadable host file. */
public final class InitramfsException extends ImageException {
    private static final long serialVersionUID = 1L;

    public InitramfsException(String message) {
        super(message);
    }

    public InitramfsException(String message, Throwable cause) {
        super(message, cause);
    }
}
