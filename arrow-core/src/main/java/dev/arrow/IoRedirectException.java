package dev.arrow;

/** A file given as {@link Output#file(java.nio.file.Path)} or {@link Input#file(java.nio.file.Path)} cannot be opened. */
public class IoRedirectException extends ArrowException {

    private static final long serialVersionUID = 1L;

    public IoRedirectException(String message, Throwable cause) {
        super(message, cause);
    }
}
