package dev.arrow.image;

/**
 * Base of every error arrow-image reports: a guest image that cannot be built as asked. Each
 * subclass names one area (binary, guest path, initramfs, command line, kernel, run spec); the
 * message names the problem and how to fix it.
 */
public class ImageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
