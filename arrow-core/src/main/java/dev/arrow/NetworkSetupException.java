package dev.arrow;

/**
 * The arrow's network could not be set up on the host: passt is missing, a forwarded host port
 * is taken, a tap device is missing or not accessible. The message names the problem and the fix;
 * nothing the failed attempt started is left running.
 */
public class NetworkSetupException extends ArrowException {

    private static final long serialVersionUID = 1L;

    public NetworkSetupException(String message) {
        super(message);
    }

    public NetworkSetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
