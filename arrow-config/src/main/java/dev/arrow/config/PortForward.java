package dev.arrow.config;

import java.util.Locale;
import java.util.Objects;

/**
 * One port of the host forwarded to a port of the guest under {@link Net#user() user networking}.
 * The forward listens on {@code hostAddress}: {@link #LOOPBACK} by default (only programs on this
 * host can connect), {@link #ALL_INTERFACES} to accept other machines too, or one IPv4 address of
 * this host. Host port {@link #ANY_FREE_PORT} (0) lets the backend choose a free port when the arrow starts
 * ({@code ArrowProcess.hostPort(guestPort)} tells which). Ports and the address are checked when the spec is
 * built (host ports 0..65535, guest ports 1..65535, the address
 * a dotted IPv4 literal that is not multicast or broadcast), not here, so that every problem of a
 * spec is reported at once; whether the address is one of this host's is checked when the arrow
 * starts.
 *
 * @param protocol    TCP or UDP
 * @param hostAddress the host address the port is opened on, e.g. {@code "127.0.0.1"}
 * @param hostPort    port opened on the host, or {@link #ANY_FREE_PORT}
 * @param guestPort   port the guest program listens on
 */
public record PortForward(Protocol protocol, String hostAddress, int hostPort, int guestPort) {

    /** The host's loopback address: the default, a forward only programs on this host can reach. */
    public static final String LOOPBACK = "127.0.0.1";
    /** The IPv4 wildcard address: a forward on every interface, reachable from other machines. */
    public static final String ALL_INTERFACES = "0.0.0.0";
    /** The host port that asks for any free port of the host address, chosen when the arrow starts. */
    public static final int ANY_FREE_PORT = 0;

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
        Objects.requireNonNull(hostAddress, "hostAddress");
    }

    /** A forward on the host's loopback ({@link #LOOPBACK}). */
    public PortForward(Protocol protocol, int hostPort, int guestPort) {
        this(protocol, LOOPBACK, hostPort, guestPort);
    }

    /** A TCP forward on the host's loopback. */
    public static PortForward tcp(int hostPort, int guestPort) {
        return new PortForward(Protocol.TCP, hostPort, guestPort);
    }

    /** A TCP forward on {@code hostAddress} (e.g. {@link #ALL_INTERFACES}). */
    public static PortForward tcp(String hostAddress, int hostPort, int guestPort) {
        return new PortForward(Protocol.TCP, hostAddress, hostPort, guestPort);
    }

    /** A UDP forward on the host's loopback. */
    public static PortForward udp(int hostPort, int guestPort) {
        return new PortForward(Protocol.UDP, hostPort, guestPort);
    }

    /** A UDP forward on {@code hostAddress} (e.g. {@link #ALL_INTERFACES}). */
    public static PortForward udp(String hostAddress, int hostPort, int guestPort) {
        return new PortForward(Protocol.UDP, hostAddress, hostPort, guestPort);
    }
}
