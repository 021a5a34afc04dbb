package dev.arrow.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/**
 * A TCP port that nothing listens on right now, for a test that needs a port number before it can
 * start the listener (e.g. a port forward). The port is free when returned, not reserved: another
 * process may take it before the test binds it.
 */
public final class FreePort {
    private FreePort() {
    }

    /** A free TCP port on the loopback address. */
    public static int onLoopback() {
        return on(InetAddress.getLoopbackAddress());
    }

    /** A free TCP port on every address (the wildcard address). */
    public static int onAnyAddress() {
        return on(null);
    }

    /** A free TCP port on {@code address}, or on every address when it is null. */
    public static int on(InetAddress address) {
        try (ServerSocket s = new ServerSocket(0, 1, address)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free TCP port on " + (address == null ? "the wildcard address" : address), e);
        }
    }
}
