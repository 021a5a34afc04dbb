package dev.arrow.kvm.net;

import java.util.Locale;
import java.util.Objects;

/**
 * One host port forwarded to a guest port by the user-mode backend: connections (TCP) or
 * datagrams (UDP) arriving at {@code hostPort} on any host address reach the guest at
 * {@code guestPort}.
 */
public record PortMapping(Transport transport, int hostPort, int guestPort) {

    /** The transport protocol of a mapping. */
    public enum Transport {
        TCP, UDP;

        /** {@code tcp} or {@code udp}. */
        public String lowerCase() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public PortMapping {
        Objects.requireNonNull(transport, "transport");
        checkPort(hostPort, "host");
        checkPort(guestPort, "guest");
    }

    public static PortMapping tcp(int hostPort, int guestPort) {
        return new PortMapping(Transport.TCP, hostPort, guestPort);
    }

    public static PortMapping udp(int hostPort, int guestPort) {
        return new PortMapping(Transport.UDP, hostPort, guestPort);
    }

    private static void checkPort(int port, String side) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(side + " port " + port + " is outside 1..65535");
        }
    }

    @Override
    public String toString() {
        return transport.lowerCase() + " " + hostPort + "->" + guestPort;
    }
}
