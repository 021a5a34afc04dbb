package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class HostLoopbackGuardTest {
    static final MacAddress GUEST = GuestNetwork.DEFAULT_MAC;
    static final MacAddress PASST = new MacAddress(0x02_00_00_00_00_01L);
    static final Inet4Address GUEST_IP = GuestNetwork.ipv4("10.0.2.15");

    static boolean blocks(byte[] frame) {
        return HostLoopbackGuard.addressesHostLoopback(ByteBuffer.wrap(frame));
    }

    static byte[] tcpTo(String destination) {
        return TestFrames.tcp(GUEST, PASST, GUEST_IP, GuestNetwork.ipv4(destination), 40000, 80, 1, 0, TestFrames.TCP_SYN);
    }

    @Test
    void ipv4FramesToTheLoopbackNetworkOrToThisHostAreRecognised() {
        assertThat(blocks(tcpTo("127.0.0.1"))).isTrue();
        assertThat(blocks(tcpTo("127.255.255.254"))).isTrue();
        assertThat(blocks(tcpTo("0.0.0.0"))).isTrue();
        assertThat(blocks(tcpTo("0.1.2.3"))).isTrue();
        assertThat(blocks(TestFrames.udp(GUEST, PASST, GUEST_IP, GuestNetwork.ipv4("127.0.0.53"), 1, 53, new byte[4])))
                .isTrue();
    }

    @Test
    void otherDestinationsPass() {
        assertThat(blocks(tcpTo("10.0.2.2"))).as("the gateway: passt decides (--no-map-gw)").isFalse();
        assertThat(blocks(tcpTo("10.0.2.3"))).isFalse();
        assertThat(blocks(tcpTo("128.0.0.1"))).isFalse();
        assertThat(blocks(tcpTo("1.0.0.127"))).isFalse();
        assertThat(blocks(tcpTo("169.254.169.254"))).as("link-local: the host's networks, not its loopback").isFalse();
        assertThat(blocks(TestFrames.arpRequest(GUEST, GUEST_IP, GuestNetwork.ipv4("127.0.0.1")))).as("ARP").isFalse();
    }

    @Test
    void theFramesPositionIsWhereItStarts() {
        byte[] frame = tcpTo("127.0.0.1");
        ByteBuffer b = ByteBuffer.allocate(frame.length + 7);
        b.position(7);
        b.put(frame).position(7);
        assertThat(HostLoopbackGuard.addressesHostLoopback(b)).isTrue();
        assertThat(b.position()).as("left as it was").isEqualTo(7);
    }

    @Test
    void framesTooShortForADestinationAreNotItsBusiness() {
        byte[] frame = tcpTo("127.0.0.1");
        assertThat(HostLoopbackGuard.addressesHostLoopback(ByteBuffer.wrap(frame, 0, 33))).isFalse();
        assertThat(HostLoopbackGuard.addressesHostLoopback(ByteBuffer.wrap(frame, 0, 34))).isTrue();
        assertThat(HostLoopbackGuard.addressesHostLoopback(ByteBuffer.wrap(frame, 0, 10))).isFalse();
    }

    @Test
    void ipv6FramesToLoopbackUnspecifiedOrMappedLocalAddressesAreRecognised() {
        assertThat(blocks(ipv6To(bytes16(15, 1)))).as("::1").isTrue();
        assertThat(blocks(ipv6To(new byte[16]))).as("::").isTrue();
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        mapped[12] = 127;
        mapped[15] = 1;
        assertThat(blocks(ipv6To(mapped))).as("::ffff:127.0.0.1").isTrue();
        mapped[12] = 10;
        assertThat(blocks(ipv6To(mapped))).as("::ffff:10.0.0.1").isFalse();
        assertThat(blocks(ipv6To(bytes16(15, 2)))).as("::2").isFalse();
        byte[] global = bytes16(0, 0x20);
        global[15] = 1;
        assertThat(blocks(ipv6To(global))).as("2000::1").isFalse();
        assertThat(HostLoopbackGuard.addressesHostLoopback(ByteBuffer.wrap(ipv6To(bytes16(15, 1)), 0, 53))).isFalse();
    }

    static byte[] bytes16(int index, int value) {
        byte[] a = new byte[16];
        a[index] = (byte) value;
        return a;
    }

    /** An IPv6 header (no payload) to {@code destination}. */
    static byte[] ipv6To(byte[] destination) {
        ByteBuffer b = ByteBuffer.allocate(14 + 40);
        b.put(PASST.octets()).put(GUEST.octets()).putShort((short) HostLoopbackGuard.ETHERTYPE_IPV6);
        b.putInt(0x6000_0000).putShort((short) 0).put((byte) 59).put((byte) 64); // no next header
        b.put(new byte[16]).put(destination);
        return b.array();
    }
}
