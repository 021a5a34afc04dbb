package dev.arrow;

/** No backend to boot microVMs with is available to {@link Arrow#start()}. */
public class BackendUnavailableException extends ArrowException {

    private static final long serialVersionUID = 1L;

    public BackendUnavailableException(String message) {
        super(message);
    }
}
