package dev.arrow.kvm.net;

import dev.arrow.kvm.net.NetworkSetupException.Problem;
import java.io.IOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks, before a backend starts, that the host ports it is to forward are free: each is bound
 * once on the IPv4 wildcard address (as passt will bind it) and released at once. This turns a
 * port conflict into a clear error instead of a backend that dies during start.
 */
public final class HostPorts {
    private HostPorts() {
    }

    /**
     * @throws NetworkSetupException ({@link Problem#PORT_IN_USE}) naming the first port that is
     *     taken or that this process may not bind
     * @throws IllegalArgumentException when a host port is forwarded twice with the same protocol
     */
    public static void checkFree(List<PortMapping> mappings) {
        Set<String> seen = new HashSet<>();
        for (PortMapping m : mappings) {
            if (!seen.add(m.transport() + "/" + m.hostPort())) {
                throw new IllegalArgumentException("host " + m.transport().lowerCase() + " port " + m.hostPort()
                        + " is forwarded twice: forward each host port once");
            }
        }
        for (PortMapping m : mappings) {
            check(m);
        }
    }

    private static void check(PortMapping m) {
        InetSocketAddress any = new InetSocketAddress(wildcard(), m.hostPort());
        try {
            if (m.transport() == PortMapping.Transport.TCP) {
                try (ServerSocket s = new ServerSocket()) {
                    s.setReuseAddress(true); // as passt does: connections in TIME_WAIT do not block the port
                    s.bind(any, 1);
                }
            } else {
                try (DatagramSocket s = new DatagramSocket(null)) {
                    s.setReuseAddress(false);
                    s.bind(any);
                }
            }
        } catch (BindException e) {
            String why = String.valueOf(e.getMessage());
            if (why.contains("ermission denied")) {
                throw new NetworkSetupException(Problem.PORT_IN_USE, "host " + m.transport().lowerCase() + " port "
                        + m.hostPort() + " cannot be bound without privileges: forward a port above 1023, or allow it with "
                        + "sysctl net.ipv4.ip_unprivileged_port_start=" + m.hostPort(), e);
            }
            throw new NetworkSetupException(Problem.PORT_IN_USE, "host port " + m.hostPort() + " is already in use ("
                    + m.transport().lowerCase() + "): stop what listens there or forward another host port", e);
        } catch (IOException e) {
            throw new NetworkSetupException(Problem.IO, "cannot check host " + m.transport().lowerCase() + " port "
                    + m.hostPort() + ": " + e.getMessage(), e);
        }
    }

    private static InetAddress wildcard() {
        try {
            return InetAddress.getByAddress(new byte[4]);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
