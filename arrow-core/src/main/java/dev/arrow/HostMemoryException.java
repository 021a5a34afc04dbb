package dev.arrow;

/**
 * The host cannot give the guest the RAM it asks for: it has less available (or its memory cgroup
 * leaves less) than the new arrow's RAM plus what this JVM's running arrows may still take. The
 * message names the figures and the ways out.
 */
public class HostMemoryException extends ArrowException {

    private static final long serialVersionUID = 1L;

    public HostMemoryException(String message) {
        super(message);
    }
}
