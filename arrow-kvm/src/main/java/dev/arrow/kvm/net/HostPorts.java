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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks, before a backend starts, that the host ports it is to forward are free: each is bound
 * once on its mapping's host address (as passt will bind it: 127.0.0.1 by default, 0.0.0.0 or a
 * given address of this host) and released at once. This turns a port conflict or an address this
 * host does not have into a clear error instead of a backend that dies during start. passt runs
 * unprivileged, so a port below net.ipv4.ip_unprivileged_port_start is refused here too, also when
 * this JVM could bind it. {@link #chooseFree} picks the ports of forwards that ask for any free one.
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
     * {@code mappings} with every {@link PortMapping#ANY_FREE_PORT} replaced by a port that is free now on the
     * mapping's host address: one the kernel gives a socket bound to port 0 there (from the ephemeral range,
     * above the unprivileged limit), released at once for passt to bind, distinct from the other host ports
     * of the same transport. Another process may take it before passt binds it; passt then fails to start and
     * the caller chooses again. Other mappings are returned unchanged.
     *
     * @throws NetworkBackendException as {@link #checkFree} does, for an address this host does not have
     */
    public static List<PortMapping> chooseFree(List<PortMapping> mappings) {
        Set<String> taken = new HashSet<>();
        for (PortMapping m : mappings) {
            if (m.hostPort() != PortMapping.ANY_FREE_PORT) {
                taken.add(m.transport() + "/" + m.hostPort());
            }
        }
        List<PortMapping> chosen = new ArrayList<>(mappings.size());
        for (PortMapping m : mappings) {
            if (m.hostPort() != PortMapping.ANY_FREE_PORT) {
                chosen.add(m);
                continue;
            }
            int port = PortMapping.ANY_FREE_PORT;
            for (int attempt = 0; port == PortMapping.ANY_FREE_PORT || !taken.add(m.transport() + "/" + port); attempt++) {
                if (attempt == 16) {
                    throw new NetworkBackendException(Reason.PORT_IN_USE, "no free host " + m.transport().lowerCase()
                            + " port found on " + m.hostAddress().getHostAddress() + " for " + m + " in 16 tries");
                }
                port = bindAndRelease(m);
            }
            chosen.add(m.withHostPort(port));
        }
        return List.copyOf(chosen);
    }

    /** The port the kernel gives a socket bound to port 0 on {@code m}'s address and transport. */
    private static int bindAndRelease(PortMapping m) {
        try {
            if (m.transport() == PortMapping.Transport.TCP) {
                try (ServerSocket s = new ServerSocket()) {
                    s.bind(new InetSocketAddress(m.hostAddress(), 0), 1);
                    return s.getLocalPort();
                }
            }
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(m.hostAddress(), 0))) {
                return s.getLocalPort();
            }
        } catch (BindException e) {
            throw bindFailure(m, e);
        } catch (IOException e) {
            throw new NetworkBackendException(Reason.IO, "cannot choose a free host " + m.transport().lowerCase()
                    + " port on " + m.hostAddress().getHostAddress() + ": " + e.getMessage(), e);
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
            throw bindFailure(m, e);
        } catch (IOException e) {
            throw new NetworkBackendException(Reason.IO, "cannot check host " + m.transport().lowerCase() + " "
                    + m.hostAddress().getHostAddress() + ":" + m.hostPort() + ": " + e.getMessage(), e);
        }
    }

    /** The error for binding {@code m}'s host port (0: any) failing with {@code e}. */
    private static NetworkBackendException bindFailure(PortMapping m, BindException e) {
        String where = m.hostAddress().getHostAddress() + ":" + m.hostPort();
        String why = String.valueOf(e.getMessage());
        if (why.contains("ermission denied")) {
            return new NetworkBackendException(Reason.PORT_IN_USE, "host " + m.transport().lowerCase() + " " + where
                    + " cannot be bound: permission denied (a security module's policy?); forward another host port"
                    + " or allow this one", e);
        }
        if (why.contains("assign requested address")) {
            return new NetworkBackendException(Reason.BIND_ADDRESS, "cannot forward " + m.transport().lowerCase()
                    + " " + where + ": " + m.hostAddress().getHostAddress() + " is not an address of this host;"
                    + " forward on 127.0.0.1 (this host only, the default), on 0.0.0.0 (all interfaces) or on one"
                    + " of this host's addresses (ip -4 addr)", e);
        }
        return new NetworkBackendException(Reason.PORT_IN_USE, "host port " + m.hostPort() + " is already in use ("
                + m.transport().lowerCase() + " on " + m.hostAddress().getHostAddress()
                + "): stop what listens there or forward another host port", e);
    }
}
