package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.net.testing.PcapSummary;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PcapSummaryTest {
    static final GuestNetwork PLAN = GuestNetwork.userMode();
    static final MacAddress PASST = MacAddress.parse("52:54:00:12:34:56");

    /** A capture as FrameCapture writes it: little-endian header, then (seconds, microseconds, lengths, frame). */
    static byte[] capture(long[] micros, byte[]... frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer h = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(65535).putInt(1);
        out.writeBytes(h.array());
        for (int i = 0; i < frames.length; i++) {
            ByteBuffer r = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            r.putInt((int) (micros[i] / 1_000_000)).putInt((int) (micros[i] % 1_000_000))
                    .putInt(frames[i].length).putInt(frames[i].length);
            out.writeBytes(r.array());
            out.writeBytes(frames[i]);
        }
        return out.toByteArray();
    }

    static byte[] tcp(boolean fromGuest, long seq, long ack, int flags) {
        return fromGuest
                ? TestFrames.tcp(PLAN.mac(), PASST, PLAN.address(), PLAN.gateway(), 40000, 8080, seq, ack, flags)
                : TestFrames.tcp(PASST, PLAN.mac(), PLAN.gateway(), PLAN.address(), 8080, 40000, seq, ack, flags);
    }

    @Test
    void eachFrameBecomesOneTcpdumpStyleLineTimedFromTheFirst() throws IOException {
        byte[] pcap = capture(new long[]{5_000_000, 5_000_250, 7_500_000},
                TestFrames.arpRequest(PLAN.mac(), PLAN.address(), PLAN.gateway()),
                tcp(true, 100, 0, TestFrames.TCP_SYN),
                tcp(false, 7, 101, 0x04 | TestFrames.TCP_ACK));
        PcapSummary s = PcapSummary.of(pcap);
        assertThat(s.lines()).containsExactly(
                "+0.000000 ARP who-has 10.0.2.2 tell 10.0.2.15",
                "+0.000250 10.0.2.15:40000 > 10.0.2.2:8080 TCP [S] seq 0 ack 0 win 65535 len 0",
                "+2.500000 10.0.2.2:8080 > 10.0.2.15:40000 TCP [R.] seq 0 ack 1 win 65535 len 0");
        assertThat(s.resets()).containsExactly(2);
        assertThat(s.around(8)).startsWith("3 frames, 1 TCP resets; frames 0..2:")
                .contains("\n  #2 +2.500000 10.0.2.2:8080 > 10.0.2.15:40000 TCP [R.]");
    }

    /** {@code frame} (an IPv4 TCP frame without payload) with {@code bytes} zero bytes of payload. */
    static byte[] withPayload(byte[] frame, int bytes) {
        byte[] f = Arrays.copyOf(frame, frame.length + bytes);
        int total = ((f[16] & 0xff) << 8 | (f[17] & 0xff)) + bytes;
        f[16] = (byte) (total >> 8);
        f[17] = (byte) total;
        return f;
    }

    @Test
    void tcpPayloadIsCountedPerSenderWithEveryResend() throws IOException {
        byte[] data = withPayload(tcp(false, 1, 1, TestFrames.TCP_ACK), 1000);
        byte[] pcap = capture(new long[]{0, 1, 2, 3},
                data, data, // the same segment twice: a resend counts again
                withPayload(tcp(true, 1, 2001, TestFrames.TCP_ACK), 10),
                TestFrames.arpRequest(PLAN.mac(), PLAN.address(), PLAN.gateway()));
        PcapSummary s = PcapSummary.of(pcap);
        assertThat(s.tcpPayloadBytesFrom("10.0.2.2")).isEqualTo(2000);
        assertThat(s.tcpPayloadBytesFrom("10.0.2.15")).isEqualTo(10);
        assertThat(s.tcpPayloadBytesFrom("10.0.2.3")).isZero();
        assertThat(s.lines().get(0)).endsWith("len 1000");
    }

    @Test
    void aSegmentToTheBroadcastMacSaysSoAndAnArpRequestDoesNot() throws IOException {
        byte[] pcap = capture(new long[]{0, 1},
                TestFrames.tcp(PASST, TestFrames.BROADCAST, PLAN.gateway(), PLAN.address(), 8080, 40000, 1, 0, TestFrames.TCP_SYN),
                TestFrames.arpRequest(PLAN.mac(), PLAN.address(), PLAN.gateway()));
        assertThat(PcapSummary.of(pcap).lines()).containsExactly(
                "+0.000000 10.0.2.2:8080 > 10.0.2.15:40000 TCP [S] seq 0 ack 0 win 65535 len 0 (to the broadcast MAC)",
                "+0.000001 ARP who-has 10.0.2.2 tell 10.0.2.15");
    }

    @Test
    void withoutAResetTheReportShowsTheLastFrames() throws IOException {
        long[] t = new long[10];
        byte[][] frames = new byte[10][];
        for (int i = 0; i < 10; i++) {
            t[i] = i * 1000L;
            frames[i] = tcp(i % 2 == 0, i, i, TestFrames.TCP_ACK);
        }
        String report = PcapSummary.of(capture(t, frames)).around(3);
        assertThat(report).startsWith("10 frames, 0 TCP resets; frames 7..9:");
        assertThat(report.lines()).hasSize(4);
    }

    @Test
    void aRecordCutByAStoppedWriterEndsTheCapture() throws IOException {
        byte[] whole = capture(new long[]{0, 1}, tcp(true, 1, 0, TestFrames.TCP_SYN), tcp(false, 1, 2, TestFrames.TCP_ACK));
        assertThat(PcapSummary.of(Arrays.copyOf(whole, whole.length - 10)).lines()).hasSize(1);
    }

    @Test
    void somethingElseIsRefusedWithWhatItIs() {
        assertThatThrownBy(() -> PcapSummary.of(new byte[10])).hasMessageContaining("shorter than its header");
        assertThatThrownBy(() -> PcapSummary.of(new byte[24])).hasMessageContaining("magic 0x00000000");
        byte[] pcap = capture(new long[0]);
        pcap[20] = 101;
        assertThatThrownBy(() -> PcapSummary.of(pcap)).hasMessageContaining("link type 101");
        byte[] huge = capture(new long[]{0}, tcp(true, 1, 0, TestFrames.TCP_SYN));
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(24 + 8, -1);
        assertThatThrownBy(() -> PcapSummary.of(huge)).hasMessageContaining("claims 4294967295 bytes");
    }
}
