package dev.arrow;

/**
 * Base of every error Arrow reports. Unchecked, like {@link java.io.UncheckedIOException}, so that
 * fluent code stays readable; {@link Arrow#start()} documents which subclasses it throws. Each message
 * names the problem and how to fix it.
 */
public abstract class ArrowException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    protected ArrowException(String message) {
        super(message);
    }

    protected ArrowException(String message, Throwable cause) {
        super(message, cause);
    }
}
