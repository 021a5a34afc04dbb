package dev.arrow;

/**
 * The guest failed while starting, before the program could run (e.g. the kernel rejected the boot
 * parameters or panicked before init). Failures after the program started are reported as an
 * {@link ArrowOutcome}, not thrown.
 */
public class GuestFailureException extends ArrowException {

    private static final long serialVersionUID = 1L;

    public GuestFailureException(String message) {
        super(message);
    }

    public GuestFailureException(String message, Throwable cause) {
        super(message, cause);
    }
}
