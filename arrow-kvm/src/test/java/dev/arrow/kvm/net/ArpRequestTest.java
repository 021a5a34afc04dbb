package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class ArpRequestTest {
    static final MacAddress GUEST_MAC = MacAddress.parse("02:41:52:52:4f:57");
    static final MacAddress PASST_MAC = MacAddress.parse("52:54:00:12:34:56");
    static final Inet4Address GUEST = GuestNetwork.ipv4("10.0.2.15");
    static final Inet4Address GATEWAY = GuestNetwork.ipv4("10.0.2.2");

    @Test
    void theRequestIsBroadcastFromTheSenderAskingForTheTarget() {
        ByteBuffer f = ArpRequest.frame(GUEST_MAC, GUEST, GATEWAY);
        assertThat(f.remaining()).isEqualTo(60);
        assertThat(MacAddress.of(f.array(), 0)).isEqualTo(MacAddress.BROADCAST);
        assertThat(MacAddress.of(f.array(), 6)).isEqualTo(GUEST_MAC);
        assertThat(f.getShort(12)).isEqualTo((short) 0x0806);
        assertThat(f.getShort(14)).as("Ethernet").isEqualTo((short) 1);
        assertThat(f.getShort(16)).as("IPv4").isEqualTo((short) 0x0800);
        assertThat(f.get(18)).isEqualTo((byte) 6);
        assertThat(f.get(19)).isEqualTo((byte) 4);
        assertThat(f.getShort(20)).as("request").isEqualTo((short) 1);
        assertThat(MacAddress.of(f.array(), 22)).isEqualTo(GUEST_MAC);
        assertThat(f.getInt(28)).isEqualTo(0x0a00020f);
        assertThat(MacAddress.of(f.array(), 32)).isEqualTo(new MacAddress(0));
        assertThat(f.getInt(38)).isEqualTo(0x0a000202);
    }

    @Test
    void onlyTheTargetsReplyToTheSenderIsTheAnswer() {
        assertThat(ArpRequest.isAnswer(reply(GATEWAY, GUEST_MAC), GUEST_MAC, GATEWAY)).isTrue();
        assertThat(ArpRequest.isAnswer(reply(GuestNetwork.ipv4("10.0.2.3"), GUEST_MAC), GUEST_MAC, GATEWAY))
                .as("another address's reply").isFalse();
        assertThat(ArpRequest.isAnswer(reply(GATEWAY, PASST_MAC), GUEST_MAC, GATEWAY)).as("a reply to another").isFalse();
        assertThat(ArpRequest.isAnswer(ArpRequest.frame(GUEST_MAC, GATEWAY, GUEST), GUEST_MAC, GATEWAY))
                .as("a request").isFalse();
        assertThat(ArpRequest.isAnswer(reply(GATEWAY, GUEST_MAC).limit(41), GUEST_MAC, GATEWAY))
                .as("a truncated reply").isFalse();
        assertThat(ArpRequest.isAnswer(ByteBuffer.allocate(0), GUEST_MAC, GATEWAY)).isFalse();
    }

    @Test
    void theAnswerIsReadFromTheFramesPosition() {
        ByteBuffer reply = reply(GATEWAY, GUEST_MAC);
        ByteBuffer shifted = ByteBuffer.allocate(reply.remaining() + 3).position(3);
        shifted.put(reply).position(3);
        assertThat(ArpRequest.isAnswer(shifted, GUEST_MAC, GATEWAY)).isTrue();
        assertThat(shifted.position()).as("position left alone").isEqualTo(3);
    }

    /** passt's reply: {@code from} is at passt's MAC, told to {@code to} (at the guest's address). */
    private static ByteBuffer reply(Inet4Address from, MacAddress to) {
        ByteBuffer b = ByteBuffer.allocate(42);
        b.put(to.octets()).put(PASST_MAC.octets()).putShort((short) 0x0806);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 2);
        b.put(PASST_MAC.octets()).put(from.getAddress()).put(to.octets()).put(GUEST.getAddress());
        return b.clear();
    }
}
