package dev.arrow;

/**
 * The virtual machine monitor failed on the host side, e.g. a KVM ioctl failed or guest memory could
 * not be mapped. The message names the failed call and its errno.
 */
public class VmmException extends ArrowException {

    private static final long serialVersionUID = 1L;

    public VmmException(String message) {
        super(message);
    }

    public VmmException(String message, Throwable cause) {
        super(message, cause);
    }
}
