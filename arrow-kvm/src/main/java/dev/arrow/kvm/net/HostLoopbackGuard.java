package dev.arrow.kvm.net;

import java.nio.ByteBuffer;

/**
 * Recognises guest frames addressed to the host itself through its loopback: IPv4 destinations in
 * 127.0.0.0/8 or 0.0.0.0/8 (Linux connects a socket to 0.0.0.0 on the local host), and IPv6
 * destinations {@code ::1}, {@code ::} or IPv4-mapped addresses of those ranges.
 *
 * <p>passt's {@code --no-map-gw} only stops it from turning the gateway address into 127.0.0.1;
 * passt (Debian 12's) still opens a host socket to whatever destination a guest frame names. A
 * guest's kernel never sends a loopback destination out of eth0 by itself, but the app is root in
 * the guest: it can allow that ({@code sysctl net.ipv4.conf.eth0.route_localnet=1} and a route),
 * or write frames of its own. {@link PasstBackend} therefore drops such frames before passt sees
 * them unless the caller allowed the host's loopback.
 *
 * <p>Pure: reads the frame's bytes (not its position), keeps no state; frames too short to hold a
 * destination address are not its business (passt drops them).
 */
public final class HostLoopbackGuard {
    static final int ETHERTYPE_IPV4 = 0x0800;
    static final int ETHERTYPE_IPV6 = 0x86DD;
    private static final int ETHERNET_HEADER = 14;
    private static final int IPV4_DESTINATION = ETHERNET_HEADER + 16;
    private static final int IPV6_DESTINATION = ETHERNET_HEADER + 24;

    private HostLoopbackGuard() {
    }

    /**
     * Whether the frame in {@code frame} (from its position to its limit) is an IPv4 or IPv6
     * packet to the host's loopback or unspecified address.
     */
    public static boolean addressesHostLoopback(ByteBuffer frame) {
        int start = frame.position();
        int length = frame.remaining();
        if (length < ETHERNET_HEADER) {
            return false;
        }
        int etherType = frame.getShort(start + 12) & 0xffff;
        if (etherType == ETHERTYPE_IPV4 && length >= IPV4_DESTINATION + 4) {
            return isLocalIpv4(frame.get(start + IPV4_DESTINATION) & 0xff);
        }
        if (etherType == ETHERTYPE_IPV6 && length >= IPV6_DESTINATION + 16) {
            return isLocalIpv6(frame, start + IPV6_DESTINATION);
        }
        return false;
    }

    /** 127.0.0.0/8 (loopback) and 0.0.0.0/8 ("this host"), by the address's first octet. */
    private static boolean isLocalIpv4(int firstOctet) {
        return firstOctet == 127 || firstOctet == 0;
    }

    /** {@code ::1}, {@code ::}, and {@code ::ffff:a.b.c.d} with a.b.c.d local as above. */
    private static boolean isLocalIpv6(ByteBuffer frame, int at) {
        for (int i = 0; i < 10; i++) {
            if (frame.get(at + i) != 0) {
                return false;
            }
        }
        int b10 = frame.get(at + 10) & 0xff;
        int b11 = frame.get(at + 11) & 0xff;
        if (b10 == 0xff && b11 == 0xff) {
            return isLocalIpv4(frame.get(at + 12) & 0xff);
        }
        if (b10 != 0 || b11 != 0) {
            return false;
        }
        for (int i = 12; i < 15; i++) {
            if (frame.get(at + i) != 0) {
                return false;
            }
        }
        int last = frame.get(at + 15) & 0xff;
        return last == 0 || last == 1;
    }
}
