package dev.arrow.kvm.net;

import java.net.Inet4Address;
import java.util.Locale;
import java.util.Objects;

/**
 * One host port forwarded to a guest port by the user-mode backend: connections (TCP) or
 * datagrams (UDP) arriving at {@code hostPort} on {@code hostAddress} reach the guest at
 * {@code guestPort}. The host address is where the port listens: {@link #LOOPBACK} (the default:
 * only programs on this host can connect), {@link #ANY} (every interface: other machines too), or
 * one address of this host.
 */
public record PortMapping(Transport transport, Inet4Address hostAddress, int hostPort, int guestPort) {

    /** 127.0.0.1: a forward only this host can reach. */
    public static final Inet4Address LOOPBACK = GuestNetwork.ipv4("127.0.0.1");
    /** 0.0.0.0: a forward on every interface of this host. */
    public static final Inet4Address ANY = GuestNetwork.ipv4("0.0.0.0");

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
        Objects.requireNonNull(hostAddress, "hostAddress");
        checkPort(hostPort, "host");
        checkPort(guestPort, "guest");
    }

    /** A TCP forward on the host's loopback. */
    public static PortMapping tcp(int hostPort, int guestPort) {
        return new PortMapping(Transport.TCP, LOOPBACK, hostPort, guestPort);
    }

    /** A UDP forward on the host's loopback. */
    public static PortMapping udp(int hostPort, int guestPort) {
        return new PortMapping(Transport.UDP, LOOPBACK, hostPort, guestPort);
    }

    /** This mapping listening on {@code address} instead. */
    public PortMapping on(Inet4Address address) {
        return new PortMapping(transport, address, hostPort, guestPort);
    }

    private static void checkPort(int port, String side) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(side + " port " + port + " is outside 1..65535");
        }
    }

    /** E.g. {@code tcp 127.0.0.1:8080->80}. */
    @Override
    public String toString() {
        return transport.lowerCase() + " " + hostAddress.getHostAddress() + ":" + hostPort + "->" + guestPort;
    }
}
