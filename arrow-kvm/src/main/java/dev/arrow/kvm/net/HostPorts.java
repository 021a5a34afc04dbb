package dev.arrow.kvm.net;

import dev.arrow.kvm.net.NetworkBackendException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks, before a backend starts, that the host ports it is to forward are free: each is bound
 * once on its mapping's host address (as passt will bind it: 127.0.0.1 by default, 0.0.0.0 or a
 * given address of this host) and released at once. This turns a port conflict or an address this
 * host does not have into a clear error instead of a backend that dies during start. passt runs
 * unprivileged, so a port below net.ipv4.ip_unprivileged_port_start is refused here too, also when
 * this JVM could bind it.
 */
public final class HostPorts {
    private static final Path UNPRIVILEGED_PORT_START = Path.of("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    /** Linux's default for net.ipv4.ip_unprivileged_port_start. */
    static final int DEFAULT_UNPRIVILEGED_PORT_START = 1024;

    private HostPorts() {
    }

    /** The lowest port an unprivileged process (passt) may bind: the sysctl's value, 1024 if unreadable. */
    static int unprivilegedPortStart() {
        // One read: a sysctl file answers a read at a non-zero offset with end of file, so a reader
        // that starts with a small buffer (as Files.readString does for a file of size 0) gets "1".
        byte[] buffer = new byte[64];
        try (InputStream in = Files.newInputStream(UNPRIVILEGED_PORT_START)) {
            int n = in.read(buffer);
            return n <= 0 ? DEFAULT_UNPRIVILEGED_PORT_START
                    : Integer.parseInt(new String(buffer, 0, n, StandardCharsets.US_ASCII).strip());
        } catch (IOException | NumberFormatException e) {
            return DEFAULT_UNPRIVILEGED_PORT_START;
        }
    }

    /**
     * @throws NetworkBackendException ({@link Reason#PORT_IN_USE}) naming the first port that is
     *     taken or that this process may not bind; ({@link Reason#BIND_ADDRESS}) for a host
     *     address that is not one of this host's
     * @throws IllegalArgumentException when a host port is forwarded twice with the same protocol
     *     (passt refuses that even on two addresses)
     */
    public static void checkFree(List<PortMapping> mappings) {
        Set<String> seen = new HashSet<>();
        for (PortMapping m : mappings) {
            if (!seen.add(m.transport() + "/" + m.hostPort())) {
                throw new IllegalArgumentException("host " + m.transport().lowerCase() + " port " + m.hostPort()
                        + " is forwarded twice: forward each host port once (also on different host addresses)");
            }
        }
        for (PortMapping m : mappings) {
            check(m);
        }
    }

    private static void check(PortMapping m) {
        int unprivileged = unprivilegedPortStart();
        if (m.hostPort() < unprivileged) {
            throw new NetworkBackendException(Reason.PORT_IN_USE, "host " + m.transport().lowerCase() + " port "
                    + m.hostPort() + " is below " + unprivileged + " (net.ipv4.ip_unprivileged_port_start), and passt"
                    + " runs unprivileged (as nobody when Arrow runs as root): forward a port of " + unprivileged
                    + " or above, or allow it with sysctl net.ipv4.ip_unprivileged_port_start=" + m.hostPort());
        }
        InetSocketAddress address = new InetSocketAddress(m.hostAddress(), m.hostPort());
        String where = m.hostAddress().getHostAddress() + ":" + m.hostPort();
        try {
            if (m.transport() == PortMapping.Transport.TCP) {
                try (ServerSocket s = new ServerSocket()) {
                    s.setReuseAddress(true); // as passt does: connections in TIME_WAIT do not block the port
                    s.bind(address, 1);
                }
            } else {
                try (DatagramSocket s = new DatagramSocket(null)) {
                    s.setReuseAddress(false);
                    s.bind(address);
                }
            }
        } catch (BindException e) {
            String why = String.valueOf(e.getMessage());
            if (why.contains("ermission denied")) {
                throw new NetworkBackendException(Reason.PORT_IN_USE, "host " + m.transport().lowerCase() + " " + where
                        + " cannot be bound: permission denied (a security module's policy?); forward another host port"
                        + " or allow this one", e);
            }
            if (why.contains("assign requested address")) {
                throw new NetworkBackendException(Reason.BIND_ADDRESS, "cannot forward " + m.transport().lowerCase()
                        + " " + where + ": " + m.hostAddress().getHostAddress() + " is not an address of this host;"
                        + " forward on 127.0.0.1 (this host only, the default), on 0.0.0.0 (all interfaces) or on one"
                        + " of this host's addresses (ip -4 addr)", e);
            }
            throw new NetworkBackendException(Reason.PORT_IN_USE, "host port " + m.hostPort() + " is already in use ("
                    + m.transport().lowerCase() + " on " + m.hostAddress().getHostAddress()
                    + "): stop what listens there or forward another host port", e);
        } catch (IOException e) {
            throw new NetworkBackendException(Reason.IO, "cannot check host " + m.transport().lowerCase() + " "
                    + where + ": " + e.getMessage(), e);
        }
    }
}
