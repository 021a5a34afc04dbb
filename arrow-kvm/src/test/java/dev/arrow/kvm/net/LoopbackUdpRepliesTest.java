package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LoopbackUdpRepliesTest {
    static final MacAddress GUEST = GuestNetwork.DEFAULT_MAC;
    static final MacAddress PASST = new MacAddress(0x02_00_00_00_00_01L);
    static final Inet4Address GUEST_IP = GuestNetwork.ipv4("10.0.2.15");
    static final Inet4Address GATEWAY = GuestNetwork.ipv4("10.0.2.2");
    static final byte[] PAYLOAD = "an answer of odd length".getBytes(StandardCharsets.US_ASCII);

    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final LoopbackUdpReplies replies = new LoopbackUdpReplies(GATEWAY, now::get);

    /** passt hands the guest a datagram from a host-loopback program at {@code hostPort} for guest port {@code guestPort}. */
    void datagramFromTheHostsLoopback(int hostPort, int guestPort) {
        replies.fromHost(ByteBuffer.wrap(TestFrames.udp(PASST, GUEST, GATEWAY, GUEST_IP, hostPort, guestPort, PAYLOAD)));
    }

    static byte[] answer(int guestPort, Inet4Address to, int port) {
        return TestFrames.udp(GUEST, PASST, GUEST_IP, to, guestPort, port, PAYLOAD);
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    @Test
    void anAnswerToADatagramFromTheHostsLoopbackIsReaddressedThereWithValidChecksums() {
        datagramFromTheHostsLoopback(40001, 5353);
        byte[] original = answer(5353, GATEWAY, 40001);
        byte[] sent = original.clone();
        byte[] out = bytes(replies.toHost(ByteBuffer.wrap(sent)));
        assertThat(TestFrames.ipDestination(out)).isEqualTo("127.0.0.1");
        assertThat(TestFrames.ipSource(out)).isEqualTo("10.0.2.15");
        assertThat(TestFrames.sourcePort(out)).isEqualTo(5353);
        assertThat(TestFrames.destinationPort(out)).isEqualTo(40001);
        assertThat(TestFrames.udpPayload(out)).isEqualTo(PAYLOAD);
        assertThat(ipv4HeaderSum(out)).as("IPv4 header checksum verifies").isEqualTo(0xffff);
        assertThat(udpSum(out)).as("UDP checksum verifies").isEqualTo(0xffff);
        assertThat(sent).as("the guest's frame itself").isEqualTo(original);
    }

    @Test
    void anAnswerWithoutUdpChecksumKeepsNone() {
        datagramFromTheHostsLoopback(40001, 5353);
        byte[] frame = answer(5353, GATEWAY, 40001);
        frame[14 + 20 + 6] = 0;
        frame[14 + 20 + 7] = 0;
        byte[] out = bytes(replies.toHost(ByteBuffer.wrap(frame)));
        assertThat(TestFrames.ipDestination(out)).isEqualTo("127.0.0.1");
        assertThat(out[14 + 20 + 6] | out[14 + 20 + 7]).isZero();
        assertThat(ipv4HeaderSum(out)).isEqualTo(0xffff);
    }

    @Test
    void datagramsToTheGatewayThatAnswerNothingGoUnchanged() {
        datagramFromTheHostsLoopback(40001, 5353);
        ByteBuffer otherHostPort = ByteBuffer.wrap(answer(5353, GATEWAY, 40002));
        ByteBuffer otherGuestPort = ByteBuffer.wrap(answer(5354, GATEWAY, 40001));
        ByteBuffer elsewhere = ByteBuffer.wrap(answer(5353, GuestNetwork.ipv4("10.0.2.3"), 40001));
        assertThat(replies.toHost(otherHostPort)).isSameAs(otherHostPort);
        assertThat(replies.toHost(otherGuestPort)).isSameAs(otherGuestPort);
        assertThat(replies.toHost(elsewhere)).isSameAs(elsewhere);
        ByteBuffer tcp = ByteBuffer.wrap(TestFrames.tcp(GUEST, PASST, GUEST_IP, GATEWAY, 5353, 40001, 1, 0, TestFrames.TCP_SYN));
        assertThat(replies.toHost(tcp)).as("TCP").isSameAs(tcp);
    }

    @Test
    void onlyDatagramsFromTheGatewayOpenAReplyPath() {
        replies.fromHost(ByteBuffer.wrap(TestFrames.udp(PASST, GUEST, GuestNetwork.ipv4("10.0.2.3"), GUEST_IP, 53, 5353, PAYLOAD)));
        replies.fromHost(ByteBuffer.wrap(TestFrames.tcp(PASST, GUEST, GATEWAY, GUEST_IP, 40001, 5353, 1, 0, TestFrames.TCP_SYN)));
        assertThat(replies.flowCount()).isZero();
        ByteBuffer frame = ByteBuffer.wrap(answer(5353, GATEWAY, 40001));
        assertThat(replies.toHost(frame)).isSameAs(frame);
    }

    @Test
    void aReplyPathClosesAfterThreeMinutesWithoutDatagramsFromTheHost() {
        datagramFromTheHostsLoopback(40001, 5353);
        now.addAndGet(LoopbackUdpReplies.IDLE_NANOS);
        assertThat(TestFrames.ipDestination(bytes(replies.toHost(ByteBuffer.wrap(answer(5353, GATEWAY, 40001))))))
                .as("at the limit").isEqualTo("127.0.0.1");
        now.addAndGet(1);
        ByteBuffer late = ByteBuffer.wrap(answer(5353, GATEWAY, 40001));
        assertThat(replies.toHost(late)).isSameAs(late);
        assertThat(replies.flowCount()).isZero();
        datagramFromTheHostsLoopback(40001, 5353); // the host speaks again: open again
        assertThat(replies.lastSeen(5353, 40001)).hasValue(now.get());
    }

    @Test
    void fragmentsAreNeverReaddressed() {
        datagramFromTheHostsLoopback(40001, 5353);
        byte[] moreFragments = answer(5353, GATEWAY, 40001);
        moreFragments[14 + 6] = 0x20; // MF
        assertThat(replies.toHost(ByteBuffer.wrap(moreFragments)).array()).isSameAs(moreFragments);
        byte[] laterFragment = answer(5353, GATEWAY, 40001);
        laterFragment[14 + 6] = 0x40; // DF, as in every test frame
        laterFragment[14 + 7] = 0x01; // offset 8 bytes
        assertThat(replies.toHost(ByteBuffer.wrap(laterFragment)).array()).isSameAs(laterFragment);
    }

    @Test
    void truncatedOrMalformedFramesGoUnchanged() {
        datagramFromTheHostsLoopback(40001, 5353);
        byte[] frame = answer(5353, GATEWAY, 40001);
        ByteBuffer shortOne = ByteBuffer.wrap(frame, 0, 14 + 20 + 7);
        assertThat(replies.toHost(shortOne)).isSameAs(shortOne);
        byte[] badIhl = frame.clone();
        badIhl[14] = 0x44; // IHL 16 bytes
        assertThat(replies.toHost(ByteBuffer.wrap(badIhl)).array()).isSameAs(badIhl);
        byte[] longIhl = frame.clone();
        longIhl[14] = 0x4f; // IHL 60 bytes: the UDP header would lie beyond the frame
        assertThat(replies.toHost(ByteBuffer.wrap(longIhl)).array()).isSameAs(longIhl);
    }

    @Test
    void atMostMaxFlowsPairsAreKeptTheLeastRecentlyUsedGoing() {
        for (int i = 0; i <= LoopbackUdpReplies.MAX_FLOWS; i++) {
            datagramFromTheHostsLoopback(20000 + i, 5353);
        }
        assertThat(replies.flowCount()).isEqualTo(LoopbackUdpReplies.MAX_FLOWS);
        assertThat(replies.lastSeen(5353, 20000)).isEmpty();
        assertThat(replies.lastSeen(5353, 20001)).isPresent();
    }

    @Test
    void theRfc1624UpdateMatchesAFullRecomputation() {
        // header 4500 0073 0000 4000 4011 ---- c0a8 0001 c0a8 00c7 (RFC 1071 style example), destination changed
        int[] words = {0x4500, 0x0073, 0x0000, 0x4000, 0x4011, 0, 0xc0a8, 0x0001, 0xc0a8, 0x00c7};
        int before = checksum(words);
        int updated = LoopbackUdpReplies.adjust(before, 0xc0a8, 0x00c7, 0x7f00, 0x0001);
        words[8] = 0x7f00;
        words[9] = 0x0001;
        assertThat(updated).isEqualTo(checksum(words));
    }

    static int checksum(int[] words) {
        long s = 0;
        for (int w : words) {
            s += w;
        }
        while ((s >> 16) != 0) {
            s = (s & 0xffff) + (s >> 16);
        }
        return (int) (~s & 0xffff);
    }

    static long sum(byte[] a, int off, int len, long s) {
        for (int i = 0; i < len; i += 2) {
            s += (a[off + i] & 0xff) << 8 | (i + 1 < len ? a[off + i + 1] & 0xff : 0);
        }
        return s;
    }

    static int fold(long s) {
        while ((s >> 16) != 0) {
            s = (s & 0xffff) + (s >> 16);
        }
        return (int) s;
    }

    static int ipv4HeaderSum(byte[] f) {
        return fold(sum(f, 14, 20, 0));
    }

    static int udpSum(byte[] f) {
        int udpLength = f.length - 14 - 20;
        long s = sum(f, 14 + 12, 8, 0) + 17 + udpLength;
        return fold(sum(f, 14 + 20, udpLength, s));
    }
}
