package dev.arrow.kvm.net;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/**
 * With the host's loopback out of the guest's reach, the gateway address is a router that
 * refuses: a guest's TCP connection attempt to it (a SYN without ACK) is answered at once with a
 * reset ({@link #reset}), so the guest's connect fails with "connection refused" instead of
 * waiting; its other IPv4 traffic to the gateway is dropped, except what belongs to connections
 * the host opened through a forward (TCP segments with ACK, which passt matches to them) and ICMP.
 * UDP answers to programs on the host's loopback are readdressed before this is asked
 * ({@link LoopbackUdpReplies}).
 *
 * <p>Without it, passt with {@code --no-map-gw} would send what the guest addresses to 10.0.2.2 to
 * whatever has that address on the host's networks (where nothing answers, a connect hangs until
 * the host's TCP gives up, minutes later; on a host inside a QEMU or VirtualBox NAT network, it is
 * that network's gateway).
 *
 * <p>Pure: reads frames from position to limit, keeps no state.
 */
final class GatewayGuard {
    /** What to do with a guest frame. */
    enum Verdict {
        /** Hand it to passt. */
        PASS,
        /** Drop it. */
        DROP,
        /** Drop it and answer the guest with {@link #reset}. */
        RESET
    }

    private static final int ETHERNET_HEADER = 14;
    private static final int PROTO_TCP = 6;
    private static final int PROTO_UDP = 17;
    private static final int TCP_FIN = 0x01;
    private static final int TCP_SYN = 0x02;
    private static final int TCP_RST = 0x04;
    private static final int TCP_ACK = 0x10;
    private static final int TCP_HEADER = 20;

    private final int gateway;

    GatewayGuard(Inet4Address gateway) {
        this.gateway = ByteBuffer.wrap(gateway.getAddress()).getInt();
    }

    Verdict judge(ByteBuffer frame) {
        int start = frame.position();
        int length = frame.remaining();
        if (length < ETHERNET_HEADER + 20 || (frame.getShort(start + 12) & 0xffff) != HostLoopbackGuard.ETHERTYPE_IPV4) {
            return Verdict.PASS;
        }
        int ip = start + ETHERNET_HEADER;
        if (frame.getInt(ip + 16) != gateway) {
            return Verdict.PASS;
        }
        int ihl = (frame.get(ip) & 0x0f) * 4;
        if ((frame.get(ip) & 0xff) >> 4 != 4 || ihl < 20 || (frame.getShort(ip + 6) & 0x3fff) != 0) {
            return Verdict.DROP; // not IPv4 as passt reads it, or a fragment: nothing passt should see
        }
        int protocol = frame.get(ip + 9) & 0xff;
        if (protocol == PROTO_UDP) {
            return Verdict.DROP;
        }
        if (protocol != PROTO_TCP) {
            return Verdict.PASS; // ICMP echo: passt pings 10.0.2.2 on the host's networks, which says nothing
        }
        if (length < ETHERNET_HEADER + ihl + TCP_HEADER) {
            return Verdict.DROP;
        }
        int flags = frame.get(ip + ihl + 13) & 0xff;
        if ((flags & TCP_RST) != 0) {
            return (flags & TCP_ACK) != 0 ? Verdict.PASS : Verdict.DROP; // never answer a reset
        }
        if ((flags & TCP_SYN) != 0 && (flags & TCP_ACK) == 0) {
            return Verdict.RESET;
        }
        return (flags & TCP_ACK) != 0 ? Verdict.PASS : Verdict.DROP;
    }

    /**
     * The reset that refuses the connection a SYN frame (judged {@link Verdict#RESET}) asks for:
     * Ethernet and IPv4 addresses and ports swapped, RST|ACK acknowledging the SYN and its data,
     * sequence number 0, window 0, both checksums set.
     */
    static ByteBuffer reset(ByteBuffer syn) {
        int start = syn.position();
        int ip = start + ETHERNET_HEADER;
        int ihl = (syn.get(ip) & 0x0f) * 4;
        int tcp = ip + ihl;
        int ipTotal = syn.getShort(ip + 2) & 0xffff;
        int dataOffset = ((syn.get(tcp + 12) & 0xff) >> 4) * 4;
        long segmentData = Math.max(0, Math.min(ipTotal, syn.remaining() - ETHERNET_HEADER) - ihl - dataOffset);
        int flags = syn.get(tcp + 13) & 0xff;
        long ack = (syn.getInt(tcp + 4) & 0xffffffffL) + 1 + segmentData + ((flags & TCP_FIN) != 0 ? 1 : 0);

        ByteBuffer r = ByteBuffer.allocate(ETHERNET_HEADER + 20 + TCP_HEADER);
        for (int i = 0; i < 6; i++) {
            r.put(i, syn.get(start + 6 + i)); // to the guest's MAC
            r.put(6 + i, syn.get(start + i)); // from the MAC the guest addressed
        }
        r.putShort(12, (short) HostLoopbackGuard.ETHERTYPE_IPV4);
        int rip = ETHERNET_HEADER;
        r.put(rip, (byte) 0x45).putShort(rip + 2, (short) (20 + TCP_HEADER)).putShort(rip + 6, (short) 0x4000)
                .put(rip + 8, (byte) 64).put(rip + 9, (byte) PROTO_TCP)
                .putInt(rip + 12, syn.getInt(ip + 16)).putInt(rip + 16, syn.getInt(ip + 12));
        r.putShort(rip + 10, (short) checksum(r, rip, 20, 0));
        int rtcp = rip + 20;
        r.putShort(rtcp, syn.getShort(tcp + 2)).putShort(rtcp + 2, syn.getShort(tcp))
                .putInt(rtcp + 4, 0).putInt(rtcp + 8, (int) ack)
                .put(rtcp + 12, (byte) (5 << 4)).put(rtcp + 13, (byte) (TCP_RST | TCP_ACK));
        long pseudo = sum(r, rip + 12, 8, 0) + PROTO_TCP + TCP_HEADER;
        r.putShort(rtcp + 16, (short) checksum(r, rtcp, TCP_HEADER, pseudo));
        return r;
    }

    private static long sum(ByteBuffer b, int offset, int length, long start) {
        long s = start;
        for (int i = 0; i < length; i += 2) {
            s += (b.get(offset + i) & 0xff) << 8 | (i + 1 < length ? b.get(offset + i + 1) & 0xff : 0);
        }
        return s;
    }

    private static int checksum(ByteBuffer b, int offset, int length, long start) {
        long s = sum(b, offset, length, start);
        while ((s >> 16) != 0) {
            s = (s & 0xffff) + (s >> 16);
        }
        return (int) (~s & 0xffff);
    }
}
