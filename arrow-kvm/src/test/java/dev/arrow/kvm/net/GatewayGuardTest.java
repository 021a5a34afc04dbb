package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.net.GatewayGuard.Verdict;
import java.net.Inet4Address;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class GatewayGuardTest {
    static final MacAddress GUEST = GuestNetwork.DEFAULT_MAC;
    static final MacAddress PASST = new MacAddress(0x02_00_00_00_00_01L);
    static final Inet4Address GUEST_IP = GuestNetwork.ipv4("10.0.2.15");
    static final Inet4Address GATEWAY = GuestNetwork.ipv4("10.0.2.2");
    final GatewayGuard guard = new GatewayGuard(GATEWAY);

    static byte[] tcp(Inet4Address to, int flags) {
        return TestFrames.tcp(GUEST, PASST, GUEST_IP, to, 40000, 6379, 1000, 77, flags);
    }

    Verdict judge(byte[] frame) {
        return guard.judge(ByteBuffer.wrap(frame));
    }

    @Test
    void aConnectionAttemptToTheGatewayIsAnsweredWithAReset() {
        assertThat(judge(tcp(GATEWAY, TestFrames.TCP_SYN))).isEqualTo(Verdict.RESET);
    }

    @Test
    void segmentsOfConnectionsTheHostOpenedPass() {
        assertThat(judge(tcp(GATEWAY, TestFrames.TCP_SYN | TestFrames.TCP_ACK))).as("SYN-ACK").isEqualTo(Verdict.PASS);
        assertThat(judge(tcp(GATEWAY, TestFrames.TCP_ACK))).as("ACK").isEqualTo(Verdict.PASS);
        assertThat(judge(tcp(GATEWAY, 0x04 | TestFrames.TCP_ACK))).as("RST-ACK").isEqualTo(Verdict.PASS);
    }

    @Test
    void otherTcpUdpAndFragmentsToTheGatewayAreDropped() {
        assertThat(judge(tcp(GATEWAY, 0x04))).as("a bare RST: never answered").isEqualTo(Verdict.DROP);
        assertThat(judge(tcp(GATEWAY, 0x04 | TestFrames.TCP_SYN))).as("SYN with RST").isEqualTo(Verdict.DROP);
        assertThat(judge(tcp(GATEWAY, 0x01))).as("a bare FIN").isEqualTo(Verdict.DROP);
        assertThat(judge(TestFrames.udp(GUEST, PASST, GUEST_IP, GATEWAY, 40000, 53, new byte[8]))).isEqualTo(Verdict.DROP);
        byte[] fragment = tcp(GATEWAY, TestFrames.TCP_SYN);
        fragment[14 + 6] = 0x20; // MF
        assertThat(judge(fragment)).isEqualTo(Verdict.DROP);
        byte[] truncated = tcp(GATEWAY, TestFrames.TCP_SYN);
        assertThat(guard.judge(ByteBuffer.wrap(truncated, 0, 14 + 20 + 19))).isEqualTo(Verdict.DROP);
    }

    @Test
    void framesToOtherAddressesAndNonIpv4FramesPass() {
        assertThat(judge(tcp(GuestNetwork.ipv4("10.0.2.3"), TestFrames.TCP_SYN))).isEqualTo(Verdict.PASS);
        assertThat(judge(tcp(GuestNetwork.ipv4("192.0.2.1"), TestFrames.TCP_SYN))).isEqualTo(Verdict.PASS);
        assertThat(judge(TestFrames.arpRequest(GUEST, GUEST_IP, GATEWAY))).as("ARP for the gateway").isEqualTo(Verdict.PASS);
        byte[] icmp = tcp(GATEWAY, TestFrames.TCP_SYN);
        icmp[14 + 9] = 1;
        assertThat(judge(icmp)).as("ICMP").isEqualTo(Verdict.PASS);
    }

    @Test
    void theResetAnswersTheSynWithAddressesAndPortsSwappedAndValidChecksums() {
        byte[] syn = tcp(GATEWAY, TestFrames.TCP_SYN);
        byte[] rst = bytes(GatewayGuard.reset(ByteBuffer.wrap(syn)));
        assertThat(rst).hasSize(54);
        assertThat(TestFrames.destination(rst)).isEqualTo(GUEST);
        assertThat(TestFrames.source(rst)).isEqualTo(PASST);
        assertThat(TestFrames.ipSource(rst)).isEqualTo("10.0.2.2");
        assertThat(TestFrames.ipDestination(rst)).isEqualTo("10.0.2.15");
        assertThat(TestFrames.sourcePort(rst)).isEqualTo(6379);
        assertThat(TestFrames.destinationPort(rst)).isEqualTo(40000);
        assertThat(TestFrames.tcpFlags(rst)).isEqualTo(0x04 | TestFrames.TCP_ACK);
        assertThat(TestFrames.tcpSeq(rst)).isZero();
        assertThat(ByteBuffer.wrap(rst, 14 + 20 + 8, 4).getInt() & 0xffffffffL).as("ack: the SYN's seq + 1").isEqualTo(1001);
        assertThat(LoopbackUdpRepliesTest.ipv4HeaderSum(rst)).isEqualTo(0xffff);
        assertThat(tcpSum(rst)).isEqualTo(0xffff);
    }

    @Test
    void theResetAcknowledgesDataCarriedByTheSynAndWorksAtAnyPosition() {
        byte[] syn = tcp(GATEWAY, TestFrames.TCP_SYN);
        ByteBuffer withData = ByteBuffer.allocate(3 + syn.length + 10);
        withData.position(3);
        withData.put(syn).put(new byte[10]).position(3);
        withData.putShort(3 + 14 + 2, (short) (20 + 24 + 10)); // the IPv4 total length covers the data
        assertThat(new GatewayGuard(GATEWAY).judge(withData)).isEqualTo(Verdict.RESET);
        byte[] rst = bytes(GatewayGuard.reset(withData));
        assertThat(ByteBuffer.wrap(rst, 14 + 20 + 8, 4).getInt() & 0xffffffffL).isEqualTo(1000 + 1 + 10);
        assertThat(withData.position()).isEqualTo(3);
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    static int tcpSum(byte[] f) {
        int length = f.length - 14 - 20;
        long s = LoopbackUdpRepliesTest.sum(f, 14 + 12, 8, 0) + 6 + length;
        return LoopbackUdpRepliesTest.fold(LoopbackUdpRepliesTest.sum(f, 14 + 20, length, s));
    }
}
