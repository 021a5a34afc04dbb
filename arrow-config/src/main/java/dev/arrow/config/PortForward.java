package dev.arrow.config;

import java.util.Locale;
import java.util.Objects;

/**
 * One port of the host forwarded to a port of the guest under {@link Net#user() user networking}.
 * Ports are checked when the spec is built (1..65535), not here, so that every problem of a spec
 * is reported at once.
 *
 * @param protocol  TCP or UDP
 * @param hostPort  port opened on the host
 * @param guestPort port the guest program listens on
 */
public record PortForward(Protocol protocol, int hostPort, int guestPort) {

    /** Transport protocol of a forward. */
    public enum Protocol {
        TCP, UDP;

        /** Lower-case name as written in JSON: {@code "tcp"} or {@code "udp"}. */
        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public PortForward {
        Objects.requireNonNull(protocol, "protocol");
    }

    /** A TCP forward. */
    public static PortForward tcp(int hostPort, int guestPort) {
        return new PortForward(Protocol.TCP, hostPort, guestPort);
    }

    /** A UDP forward. */
    public static PortForward udp(int hostPort, int guestPort) {
        return new PortForward(Protocol.UDP, hostPort, guestPort);
    }
}
