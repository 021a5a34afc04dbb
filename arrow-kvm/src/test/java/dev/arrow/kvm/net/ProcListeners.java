package dev.arrow.kvm.net;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * Which IPv4 addresses of this host's network namespace listen on a port, from /proc/net/tcp and
 * /proc/net/udp (where passt's sockets show, as passt shares the namespace): the test's view of
 * where a forward was bound, independent of whether the host has another address to connect to.
 */
final class ProcListeners {
    private static final String TCP_LISTEN = "0A";
    private static final String UDP_UNCONNECTED = "07";

    private ProcListeners() {
    }

    /** Local addresses of TCP sockets listening on {@code port}. */
    static List<String> tcp(int port) {
        return addresses(Path.of("/proc/net/tcp"), port, TCP_LISTEN);
    }

    /** Local addresses of unconnected UDP sockets bound to {@code port}. */
    static List<String> udp(int port) {
        return addresses(Path.of("/proc/net/udp"), port, UDP_UNCONNECTED);
    }

    private static List<String> addresses(Path table, int port, String state) {
        List<String> found = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(table)) {
                String[] f = line.trim().split("\\s+");
                // sl local_address rem_address st ...; local_address is hex ADDR:PORT, the address little-endian
                if (f.length < 4 || !f[1].contains(":") || !f[3].equals(state)) {
                    continue;
                }
                String[] local = f[1].split(":");
                if (Integer.parseInt(local[1], 16) != port) {
                    continue;
                }
                long a = Long.parseLong(local[0], 16);
                found.add((a & 0xff) + "." + (a >> 8 & 0xff) + "." + (a >> 16 & 0xff) + "." + (a >> 24 & 0xff));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found;
    }

    /** An IPv4 address of this host that is not a loopback one, if it has any. */
    static Optional<Inet4Address> nonLoopbackAddress() throws SocketException {
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nic.isUp() || nic.isLoopback()) {
                continue;
            }
            for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                if (a instanceof Inet4Address v4 && !v4.isLoopbackAddress() && !v4.isLinkLocalAddress()) {
                    return Optional.of(v4);
                }
            }
        }
        return Optional.empty();
    }
}
