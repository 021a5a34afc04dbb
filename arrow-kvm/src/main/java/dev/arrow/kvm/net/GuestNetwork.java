package dev.arrow.kvm.net;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Objects;

/**
 * The guest's IPv4 network as the VMM chooses it: the NIC's MAC address, the guest's address and
 * prefix, its default gateway, its DNS servers and the MTU. The same value configures both ends:
 * the user-mode backend (passt is told to hand out exactly these addresses) and the guest's init
 * (which sets them statically on {@code eth0}, without DHCP).
 *
 * <p>Address plan of {@link #userMode()} (the slirp convention QEMU and libkrun use too):
 * guest {@code 10.0.2.15/24}, gateway {@code 10.0.2.2} (passt maps connections to it to the
 * host's loopback only when the backend allows that, see {@link PasstBackend.Options#hostLoopback()}),
 * DNS {@code 10.0.2.3} (passt forwards queries to the host's first resolver), MTU 1500.
 *
 * @param mac          the guest NIC's address (unicast)
 * @param address      the guest's IPv4 address
 * @param prefixLength 1..30
 * @param gateway      in the guest's subnet, not the guest's own address
 * @param dns          0..3 resolvers (the most a resolv.conf honours)
 * @param mtu          68..65535
 */
public record GuestNetwork(MacAddress mac, Inet4Address address, int prefixLength, Inet4Address gateway,
                           List<Inet4Address> dns, int mtu) {

    /** The guest NIC address {@link #userMode()} uses: 02:41:52:52:4f:57 (locally administered, "ARROW"). */
    public static final MacAddress DEFAULT_MAC = new MacAddress(0x02_41_52_52_4F_57L);
    public static final int DEFAULT_MTU = 1500;
    public static final int MAX_DNS = 3;
    public static final int MIN_MTU = 68;
    public static final int MAX_MTU = 65535;

    public GuestNetwork {
        Objects.requireNonNull(mac, "mac");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(gateway, "gateway");
        dns = List.copyOf(Objects.requireNonNull(dns, "dns"));
        if (mac.isMulticast()) {
            throw new IllegalArgumentException("guest MAC " + mac + " is a multicast address: pick a unicast one (first octet even)");
        }
        if (prefixLength < 1 || prefixLength > 30) {
            throw new IllegalArgumentException("prefix length /" + prefixLength + " is outside 1..30");
        }
        int mask = mask(prefixLength);
        int a = bits(address);
        int g = bits(gateway);
        checkHost(a, mask, address, "guest address");
        checkHost(g, mask, gateway, "gateway");
        if ((a & mask) != (g & mask)) {
            throw new IllegalArgumentException("gateway " + gateway.getHostAddress() + " is not in the guest's subnet "
                    + address.getHostAddress() + "/" + prefixLength);
        }
        if (a == g) {
            throw new IllegalArgumentException("gateway and guest address are both " + address.getHostAddress());
        }
        if (dns.size() > MAX_DNS) {
            throw new IllegalArgumentException(dns.size() + " DNS servers given; a resolv.conf honours at most " + MAX_DNS);
        }
        if (mtu < MIN_MTU || mtu > MAX_MTU) {
            throw new IllegalArgumentException("MTU " + mtu + " is outside " + MIN_MTU + ".." + MAX_MTU);
        }
    }

    /** The default plan for user-mode networking (see the class comment). */
    public static GuestNetwork userMode() {
        return new GuestNetwork(DEFAULT_MAC, ipv4("10.0.2.15"), 24, ipv4("10.0.2.2"), List.of(ipv4("10.0.2.3")),
                DEFAULT_MTU);
    }

    /** This plan with another NIC address (e.g. {@link MacAddress#randomLocal()} for guests sharing a bridge). */
    public GuestNetwork withMac(MacAddress other) {
        return new GuestNetwork(other, address, prefixLength, gateway, dns, mtu);
    }

    /** This plan with other DNS servers. */
    public GuestNetwork withDns(List<Inet4Address> servers) {
        return new GuestNetwork(mac, address, prefixLength, gateway, servers, mtu);
    }

    /** This plan with another MTU. */
    public GuestNetwork withMtu(int newMtu) {
        return new GuestNetwork(mac, address, prefixLength, gateway, dns, newMtu);
    }

    /** Dotted netmask, e.g. {@code 255.255.255.0}. */
    public String netmask() {
        int m = mask(prefixLength);
        return (m >>> 24) + "." + ((m >>> 16) & 0xff) + "." + ((m >>> 8) & 0xff) + "." + (m & 0xff);
    }

    /** The guest address with its prefix, e.g. {@code 10.0.2.15/24}. */
    public String cidr() {
        return address.getHostAddress() + "/" + prefixLength;
    }

    /** True when {@code other} lies in the guest's subnet. */
    public boolean inSubnet(Inet4Address other) {
        int mask = mask(prefixLength);
        return (bits(other) & mask) == (bits(address) & mask);
    }

    /** Parses a dotted-quad IPv4 literal (no name lookups). */
    public static Inet4Address ipv4(String literal) {
        Objects.requireNonNull(literal, "address");
        String[] parts = literal.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("'" + literal + "' is not a dotted IPv4 address like 10.0.2.15");
        }
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')
                    || (p.length() > 1 && p.charAt(0) == '0') || Integer.parseInt(p) > 255) {
                throw new IllegalArgumentException("'" + literal + "' is not a dotted IPv4 address like 10.0.2.15");
            }
            b[i] = (byte) Integer.parseInt(p);
        }
        try {
            return (Inet4Address) InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError("four bytes are always an IPv4 address", e);
        }
    }

    private static int mask(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    private static int bits(Inet4Address a) {
        byte[] b = a.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    private static void checkHost(int addr, int mask, Inet4Address a, String what) {
        int host = addr & ~mask;
        if (host == 0 || host == ~mask) {
            throw new IllegalArgumentException(what + " " + a.getHostAddress() + " is the "
                    + (host == 0 ? "network" : "broadcast") + " address of its subnet");
        }
        int first = addr >>> 24;
        if (first == 0 || first == 127 || first >= 224) {
            throw new IllegalArgumentException(what + " " + a.getHostAddress()
                    + " is not a unicast address usable on a network (0/8, 127/8 and 224/3 are reserved)");
        }
    }
}
