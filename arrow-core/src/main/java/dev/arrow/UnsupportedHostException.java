package dev.arrow;

/**
 * This host cannot run arrows with the backend in use: it lacks the virtualization the backend needs
 * (no KVM device, no permission to use it, a KVM that cannot boot Linux). Catch this to fall back or skip;
 * its subclasses name what exactly is missing, and every message says how to fix it.
 */
public class UnsupportedHostException extends ArrowException {

    private static final long serialVersionUID = 1L;

    public UnsupportedHostException(String message) {
        super(message);
    }

    public UnsupportedHostException(String message, Throwable cause) {
        super(message, cause);
    }
}
