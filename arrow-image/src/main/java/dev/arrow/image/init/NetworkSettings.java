package dev.arrow.image.init;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * How init configures the guest's network card {@value #INTERFACE}: a static IPv4 address with
 * its prefix, an optional default gateway and up to three DNS servers (written to
 * {@code /etc/resolv.conf}), and optionally a cap on TCP's receive buffers. The VMM chose them; init
 * applies them with ioctls (and {@code /proc/sys}) before the app starts, without DHCP. Loopback is
 * brought up whether or not these are given.
 *
 * @param address           the guest's address (not the network or broadcast address of its subnet)
 * @param prefixLength      1..30
 * @param gateway           the default route's next hop, inside the subnet
 * @param dns               0..3 resolvers
 * @param tcpReceiveBuffer  the most bytes a guest TCP socket buffers for receiving (net.ipv4.tcp_rmem's
 *                          maximum, {@value #MIN_TCP_RECEIVE_BUFFER}..{@value #MAX_TCP_RECEIVE_BUFFER}), which bounds
 *                          the window the guest advertises; empty: the guest kernel's own (scaled to its RAM)
 */
public record NetworkSettings(Inet4Address address, int prefixLength, Optional<Inet4Address> gateway,
                              List<Inet4Address> dns, OptionalInt tcpReceiveBuffer) {
    /** The interface init configures: the first (and only) virtio-net card. */
    public static final String INTERFACE = "eth0";
    /** A resolv.conf honours at most three nameservers (MAXNS). */
    public static final int MAX_DNS = 3;
    /** The smallest TCP receive buffer cap init takes (one page). */
    public static final int MIN_TCP_RECEIVE_BUFFER = 4096;
    /** The largest TCP receive buffer cap init takes. */
    public static final int MAX_TCP_RECEIVE_BUFFER = 64 << 20;

    /** Settings with the guest kernel's own TCP receive buffers. */
    public NetworkSettings(Inet4Address address, int prefixLength, Optional<Inet4Address> gateway, List<Inet4Address> dns) {
        this(address, prefixLength, gateway, dns, OptionalInt.empty());
    }

    public NetworkSettings {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(gateway, "gateway");
        Objects.requireNonNull(tcpReceiveBuffer, "tcpReceiveBuffer");
        dns = List.copyOf(Objects.requireNonNull(dns, "dns"));
        if (tcpReceiveBuffer.isPresent()
                && (tcpReceiveBuffer.getAsInt() < MIN_TCP_RECEIVE_BUFFER || tcpReceiveBuffer.getAsInt() > MAX_TCP_RECEIVE_BUFFER)) {
            throw new InvalidLaunchSpecException("TCP receive buffer of " + tcpReceiveBuffer.getAsInt() + " bytes is outside "
                    + MIN_TCP_RECEIVE_BUFFER + ".." + MAX_TCP_RECEIVE_BUFFER);
        }
        if (prefixLength < 1 || prefixLength > 30) {
            throw new InvalidLaunchSpecException("network prefix /" + prefixLength + " is outside 1..30: pass e.g. 24");
        }
        int mask = -1 << (32 - prefixLength);
        int a = bits(address);
        int host = a & ~mask;
        if (host == 0 || host == ~mask) {
            throw new InvalidLaunchSpecException("guest address " + text(address) + "/" + prefixLength
                    + " is the network or broadcast address of its subnet: pass a host address such as 10.0.2.15/24");
        }
        if (gateway.isPresent()) {
            int g = bits(gateway.get());
            if ((g & mask) != (a & mask) || g == a || (g & ~mask) == 0 || (g & ~mask) == ~mask) {
                throw new InvalidLaunchSpecException("gateway " + text(gateway.get()) + " is not another host of the guest's subnet "
                        + text(address) + "/" + prefixLength);
            }
        }
        if (dns.size() > MAX_DNS) {
            throw new InvalidLaunchSpecException(dns.size() + " DNS servers given; /etc/resolv.conf honours at most " + MAX_DNS);
        }
    }

    /** Settings from dotted-quad literals, e.g. {@code of("10.0.2.15", 24, "10.0.2.2", "10.0.2.3")}. */
    public static NetworkSettings of(String address, int prefixLength, String gateway, String... dns) {
        List<Inet4Address> servers = new ArrayList<>();
        for (String d : dns) {
            servers.add(parse(d));
        }
        return new NetworkSettings(parse(address), prefixLength, Optional.ofNullable(gateway).map(NetworkSettings::parse),
                servers);
    }

    /** These settings with TCP receive buffers of at most {@code bytes} (see {@link #tcpReceiveBuffer()}). */
    public NetworkSettings withTcpReceiveBuffer(int bytes) {
        return new NetworkSettings(address, prefixLength, gateway, dns, OptionalInt.of(bytes));
    }

    /** {@code a.b.c.d/p}, as written to the spec. */
    public String cidr() {
        return text(address) + "/" + prefixLength;
    }

    /** Dotted-quad text of an address. */
    static String text(Inet4Address a) {
        return a.getHostAddress();
    }

    /** Parses a strict dotted quad (four decimal parts 0..255, no leading zeros); never a name lookup. */
    static Inet4Address parse(String literal) {
        Objects.requireNonNull(literal, "address");
        String[] parts = literal.split("\\.", -1);
        byte[] b = new byte[4];
        boolean ok = parts.length == 4;
        for (int i = 0; ok && i < 4; i++) {
            String p = parts[i];
            ok = !p.isEmpty() && p.length() <= 3 && p.chars().allMatch(c -> c >= '0' && c <= '9')
                    && !(p.length() > 1 && p.charAt(0) == '0') && Integer.parseInt(p) <= 255;
            if (ok) {
                b[i] = (byte) Integer.parseInt(p);
            }
        }
        if (!ok) {
            throw new InvalidLaunchSpecException("'" + literal + "' is not a dotted IPv4 address like 10.0.2.15");
        }
        try {
            return (Inet4Address) InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError("four bytes are always an IPv4 address", e);
        }
    }

    private static int bits(Inet4Address a) {
        byte[] b = a.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }
}
