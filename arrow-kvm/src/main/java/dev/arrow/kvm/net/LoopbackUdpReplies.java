package dev.arrow.kvm.net;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.LongSupplier;

/**
 * Lets the guest answer UDP datagrams that programs on the host's loopback sent it through a
 * forwarded port, while the host's loopback is otherwise out of the guest's reach.
 *
 * <p>passt shows such a datagram to the guest as coming from the gateway address. With
 * {@code --no-map-gw} passt no longer turns datagrams the guest sends to the gateway into
 * datagrams to 127.0.0.1, so the guest's answer would go to a host of that address on the host's
 * networks instead. This class remembers the port pairs of datagrams from the gateway
 * ({@link #fromHost}: guest port, host-side port) for {@link #IDLE_NANOS} after the last one, as
 * passt does for its own mapping, and rewrites a guest datagram from such a guest port to the
 * gateway at such a host-side port into one to 127.0.0.1 ({@link #toHost}), with both checksums
 * corrected. Any other datagram to the gateway is left alone, as is every other frame; fragments
 * are never rewritten. At most {@link #MAX_FLOWS} pairs are kept (the least recently used goes).
 *
 * <p>Thread-safe: {@link #fromHost} runs on the backend's reader thread, {@link #toHost} on the
 * device's.
 */
final class LoopbackUdpReplies {
    /** passt's UDP_CONN_TIMEOUT: 180 s. */
    static final long IDLE_NANOS = 180_000_000_000L;
    static final int MAX_FLOWS = 1024;
    private static final int ETHERNET_HEADER = 14;
    private static final int PROTO_UDP = 17;
    private static final int LOOPBACK = 0x7f000001;

    private final int gateway;
    private final LongSupplier clock;
    private final Map<Integer, Long> flows = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, Long> eldest) {
            return size() > MAX_FLOWS;
        }
    };

    LoopbackUdpReplies(Inet4Address gateway) {
        this(gateway, System::nanoTime);
    }

    LoopbackUdpReplies(Inet4Address gateway, LongSupplier nanoClock) {
        this.gateway = ByteBuffer.wrap(gateway.getAddress()).getInt();
        this.clock = nanoClock;
    }

    /** Notes a frame passt sent the guest (from position to limit): a UDP datagram from the gateway opens a reply path. */
    void fromHost(ByteBuffer frame) {
        int ip = udpPacket(frame);
        if (ip < 0 || frame.getInt(ip + 12) != gateway) {
            return;
        }
        int udp = ip + ihl(frame, ip);
        int hostPort = frame.getShort(udp) & 0xffff;
        int guestPort = frame.getShort(udp + 2) & 0xffff;
        synchronized (flows) {
            flows.put(key(guestPort, hostPort), clock.getAsLong());
        }
    }

    /**
     * The guest's frame (from position to limit) as passt should get it: a copy addressed to
     * 127.0.0.1 when it answers a datagram from the host's loopback, else {@code frame} itself.
     */
    ByteBuffer toHost(ByteBuffer frame) {
        int ip = udpPacket(frame);
        if (ip < 0 || frame.getInt(ip + 16) != gateway) {
            return frame;
        }
        int udp = ip + ihl(frame, ip);
        int guestPort = frame.getShort(udp) & 0xffff;
        int hostPort = frame.getShort(udp + 2) & 0xffff;
        long now = clock.getAsLong();
        synchronized (flows) {
            Long seen = flows.get(key(guestPort, hostPort));
            if (seen == null) {
                return frame;
            }
            if (now - seen > IDLE_NANOS) {
                flows.remove(key(guestPort, hostPort));
                return frame;
            }
        }
        ByteBuffer copy = ByteBuffer.allocate(frame.remaining());
        copy.put(frame.duplicate()).flip();
        int start = frame.position();
        rewriteDestination(copy, ip - start, udp - start);
        return copy;
    }

    /** Pairs remembered (for tests). */
    int flowCount() {
        synchronized (flows) {
            return flows.size();
        }
    }

    /** The last time a pair was seen, if remembered (for tests). */
    OptionalLong lastSeen(int guestPort, int hostPort) {
        synchronized (flows) {
            Long t = flows.get(key(guestPort, hostPort));
            return t == null ? OptionalLong.empty() : OptionalLong.of(t);
        }
    }

    private static int key(int guestPort, int hostPort) {
        return guestPort << 16 | hostPort;
    }

    private static int ihl(ByteBuffer frame, int ip) {
        return (frame.get(ip) & 0x0f) * 4;
    }

    /**
     * The offset of the IPv4 header when {@code frame} holds a whole (unfragmented) IPv4 UDP
     * datagram with its UDP header, else -1.
     */
    private static int udpPacket(ByteBuffer frame) {
        int start = frame.position();
        int length = frame.remaining();
        if (length < ETHERNET_HEADER + 20 + 8 || (frame.getShort(start + 12) & 0xffff) != HostLoopbackGuard.ETHERTYPE_IPV4) {
            return -1;
        }
        int ip = start + ETHERNET_HEADER;
        int versionIhl = frame.get(ip) & 0xff;
        int ihl = (versionIhl & 0x0f) * 4;
        if (versionIhl >> 4 != 4 || ihl < 20 || length < ETHERNET_HEADER + ihl + 8) {
            return -1;
        }
        if ((frame.get(ip + 9) & 0xff) != PROTO_UDP) {
            return -1;
        }
        int fragment = frame.getShort(ip + 6) & 0x3fff; // the MF flag and the fragment offset
        return fragment == 0 ? ip : -1;
    }

    /** Sets the IPv4 destination to 127.0.0.1 and corrects the header and UDP checksums (RFC 1624). */
    private void rewriteDestination(ByteBuffer frame, int ip, int udp) {
        int oldHigh = gateway >>> 16;
        int oldLow = gateway & 0xffff;
        int newHigh = LOOPBACK >>> 16;
        int newLow = LOOPBACK & 0xffff;
        frame.putInt(ip + 16, LOOPBACK);
        frame.putShort(ip + 10, (short) adjust(frame.getShort(ip + 10) & 0xffff, oldHigh, oldLow, newHigh, newLow));
        int udpChecksum = frame.getShort(udp + 6) & 0xffff;
        if (udpChecksum != 0) { // zero: the sender computed none, and none is needed
            int adjusted = adjust(udpChecksum, oldHigh, oldLow, newHigh, newLow);
            frame.putShort(udp + 6, (short) (adjusted == 0 ? 0xffff : adjusted));
        }
    }

    /** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for two 16-bit words m replaced by m'. */
    static int adjust(int checksum, int oldHigh, int oldLow, int newHigh, int newLow) {
        long sum = (~checksum & 0xffff) + (~oldHigh & 0xffff) + (~oldLow & 0xffff) + newHigh + newLow;
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }
}
