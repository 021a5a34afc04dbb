package dev.arrow.kvm.virtio.console;

/**
 * Consoles shaped like the app's stdio (one port to the guest, then two from it), for the device's
 * tests; the port names are the tests' own (Arrow's names are init's, in arrow-image).
 */
public final class StdioConsoles {
    public static final int STDIN = 0;
    public static final int STDOUT = 1;
    public static final int STDERR = 2;
    public static final String STDIN_NAME = "stdin";
    public static final String STDOUT_NAME = "stdout";
    public static final String STDERR_NAME = "stderr";

    private StdioConsoles() {
    }

    /** A builder with the three stdio ports already added. */
    public static VirtioConsole.Builder builder() {
        return VirtioConsole.builder()
                .port(STDIN_NAME, ConsolePort.Direction.TO_GUEST)
                .port(STDOUT_NAME, ConsolePort.Direction.FROM_GUEST)
                .port(STDERR_NAME, ConsolePort.Direction.FROM_GUEST);
    }

    /** The three stdio ports with default sizes. */
    public static VirtioConsole console() {
        return builder().build();
    }
}
