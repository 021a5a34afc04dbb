package dev.arrow.image;

/** A path inside the guest that is not absolute, not normalised or otherwise unusable. */
public final class InvalidGuestPathException extends ImageException {
    private static final long serialVersionUID = 1L;

    public InvalidGuestPathException(String message) {
        super(message);
    }
}
