package dev.arrow.kvm.net;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Builds and takes apart the few Ethernet/ARP/IPv4/UDP/TCP frames the backend tests exchange. */
final class TestFrames {
    static final int ETHERTYPE_IPV4 = 0x0800;
    static final int ETHERTYPE_ARP = 0x0806;
    static final int PROTO_TCP = 6;
    static final int PROTO_UDP = 17;
    static final int TCP_SYN = 0x02;
    static final int TCP_ACK = 0x10;
    static final MacAddress BROADCAST = new MacAddress(0xFFFF_FFFF_FFFFL);

    private TestFrames() {
    }

    static byte[] arpRequest(MacAddress sender, Inet4Address senderIp, Inet4Address target) {
        ByteBuffer b = ByteBuffer.allocate(42).order(ByteOrder.BIG_ENDIAN);
        ethernet(b, BROADCAST, sender, ETHERTYPE_ARP);
        b.putShort((short) 1).putShort((short) ETHERTYPE_IPV4).put((byte) 6).put((byte) 4).putShort((short) 1);
        b.put(sender.octets()).put(senderIp.getAddress()).put(new byte[6]).put(target.getAddress());
        return b.array();
    }

    static byte[] udp(MacAddress src, MacAddress dst, Inet4Address srcIp, Inet4Address dstIp, int srcPort, int dstPort,
                      byte[] payload) {
        int udpLength = 8 + payload.length;
        ByteBuffer b = ByteBuffer.allocate(14 + 20 + udpLength).order(ByteOrder.BIG_ENDIAN);
        ethernet(b, dst, src, ETHERTYPE_IPV4);
        ipv4(b, PROTO_UDP, srcIp, dstIp, udpLength);
        int l4 = b.position();
        b.putShort((short) srcPort).putShort((short) dstPort).putShort((short) udpLength).putShort((short) 0).put(payload);
        int sum = l4Checksum(b.array(), l4, udpLength, PROTO_UDP, srcIp, dstIp);
        b.putShort(l4 + 6, (short) (sum == 0 ? 0xffff : sum));
        return b.array();
    }

    static byte[] tcp(MacAddress src, MacAddress dst, Inet4Address srcIp, Inet4Address dstIp, int srcPort, int dstPort,
                      long seq, long ack, int flags) {
        int tcpLength = 24; // 20-byte header + MSS option
        ByteBuffer b = ByteBuffer.allocate(14 + 20 + tcpLength).order(ByteOrder.BIG_ENDIAN);
        ethernet(b, dst, src, ETHERTYPE_IPV4);
        ipv4(b, PROTO_TCP, srcIp, dstIp, tcpLength);
        int l4 = b.position();
        b.putShort((short) srcPort).putShort((short) dstPort).putInt((int) seq).putInt((int) ack);
        b.put((byte) (6 << 4)).put((byte) flags).putShort((short) 65535).putShort((short) 0).putShort((short) 0);
        b.put((byte) 2).put((byte) 4).putShort((short) 1460); // MSS option
        b.putShort(l4 + 16, (short) l4Checksum(b.array(), l4, tcpLength, PROTO_TCP, srcIp, dstIp));
        return b.array();
    }

    private static void ethernet(ByteBuffer b, MacAddress dst, MacAddress src, int type) {
        b.put(dst.octets()).put(src.octets()).putShort((short) type);
    }

    private static void ipv4(ByteBuffer b, int protocol, Inet4Address src, Inet4Address dst, int payloadLength) {
        int start = b.position();
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + payloadLength)).putShort((short) 0x1234)
                .putShort((short) 0x4000).put((byte) 64).put((byte) protocol).putShort((short) 0)
                .put(src.getAddress()).put(dst.getAddress());
        b.putShort(start + 10, (short) fold(sum(b.array(), start, 20, 0)));
    }

    private static int l4Checksum(byte[] a, int off, int len, int protocol, Inet4Address src, Inet4Address dst) {
        long s = sum(src.getAddress(), 0, 4, 0);
        s = sum(dst.getAddress(), 0, 4, s);
        s += protocol + len;
        return fold(sum(a, off, len, s));
    }

    private static long sum(byte[] a, int off, int len, long s) {
        for (int i = 0; i < len; i += 2) {
            int hi = a[off + i] & 0xff;
            int lo = i + 1 < len ? a[off + i + 1] & 0xff : 0;
            s += (hi << 8) | lo;
        }
        return s;
    }

    private static int fold(long s) {
        while ((s >> 16) != 0) {
            s = (s & 0xffff) + (s >> 16);
        }
        return (int) (~s & 0xffff);
    }

    // ---- parsing ----

    static int etherType(byte[] f) {
        return (f[12] & 0xff) << 8 | (f[13] & 0xff);
    }

    static MacAddress source(byte[] f) {
        return MacAddress.of(f, 6);
    }

    static MacAddress destination(byte[] f) {
        return MacAddress.of(f, 0);
    }

    static boolean isArpReply(byte[] f) {
        return etherType(f) == ETHERTYPE_ARP && f.length >= 42 && f[20] == 0 && f[21] == 2;
    }

    static String arpSenderIp(byte[] f) {
        return ip(f, 28);
    }

    static MacAddress arpSenderMac(byte[] f) {
        return MacAddress.of(f, 22);
    }

    static int ipProtocol(byte[] f) {
        return etherType(f) == ETHERTYPE_IPV4 ? f[23] & 0xff : -1;
    }

    static String ipSource(byte[] f) {
        return ip(f, 26);
    }

    static String ipDestination(byte[] f) {
        return ip(f, 30);
    }

    private static int l4(byte[] f) {
        return 14 + (f[14] & 0x0f) * 4;
    }

    static int sourcePort(byte[] f) {
        int o = l4(f);
        return (f[o] & 0xff) << 8 | (f[o + 1] & 0xff);
    }

    static int destinationPort(byte[] f) {
        int o = l4(f) + 2;
        return (f[o] & 0xff) << 8 | (f[o + 1] & 0xff);
    }

    static int tcpFlags(byte[] f) {
        return f[l4(f) + 13] & 0xff;
    }

    static long tcpSeq(byte[] f) {
        return ByteBuffer.wrap(f, l4(f) + 4, 4).getInt() & 0xFFFF_FFFFL;
    }

    static byte[] udpPayload(byte[] f) {
        int o = l4(f);
        int len = ((f[o + 4] & 0xff) << 8 | (f[o + 5] & 0xff)) - 8;
        byte[] p = new byte[len];
        System.arraycopy(f, o + 8, p, 0, len);
        return p;
    }

    private static String ip(byte[] f, int o) {
        return (f[o] & 0xff) + "." + (f[o + 1] & 0xff) + "." + (f[o + 2] & 0xff) + "." + (f[o + 3] & 0xff);
    }
}
