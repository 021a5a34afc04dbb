package dev.arrow.kvm.net;

import java.net.Inet4Address;
import java.util.Locale;
import java.util.Objects;

/**
 * One host port forwarded to a guest port by the user-mode backend: connections (TCP) or
 * datagrams (UDP) arriving at {@code hostPort} on {@code hostAddress} reach the guest at
 * {@code guestPort}. The host address is where the port listens: {@link #LOOPBACK} (the default:
 * only programs on this host can connect), {@link #ANY} (every interface: other machines too), or
 * one address of this host. Host port {@link #ANY_FREE_PORT} (0) asks for a free port, which
 * {@link PasstBackend#start} chooses ({@link HostPorts#chooseFree}) and reports ({@link PasstBackend#forwards()}).
 */
public record PortMapping(Transport transport, Inet4Address hostAddress, int hostPort, int guestPort) {

    /** 127.0.0.1: a forward only this host can reach. */
    public static final Inet4Address LOOPBACK = GuestNetwork.ipv4("127.0.0.1");
    /** 0.0.0.0: a forward on every interface of this host. */
    public static final Inet4Address ANY = GuestNetwork.ipv4("0.0.0.0");
    /** The host port asking for any free port of the host address. */
    public static final int ANY_FREE_PORT = 0;

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
        checkPort(hostPort, ANY_FREE_PORT, "host");
        checkPort(guestPort, 1, "guest");
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

    /** This mapping with host port {@code port}. */
    public PortMapping withHostPort(int port) {
        return new PortMapping(transport, hostAddress, port, guestPort);
    }

    private static void checkPort(int port, int lowest, String side) {
        if (port < lowest || port > 65535) {
            throw new IllegalArgumentException(side + " port " + port + " is outside " + lowest + "..65535");
        }
    }

    /** E.g. {@code tcp 127.0.0.1:8080->80}. */
    @Override
    public String toString() {
        return transport.lowerCase() + " " + hostAddress.getHostAddress() + ":" + hostPort + "->" + guestPort;
    }
}
