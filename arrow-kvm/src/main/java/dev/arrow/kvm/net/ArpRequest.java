package dev.arrow.kvm.net;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * An ARP request ("who has this address? tell me") and the recognition of its answer. {@link PasstBackend} sends one
 * in the guest's name, for the gateway, as soon as passt starts, and waits for passt's answer: passt learns the
 * guest's MAC address from the frames it receives and, until then, sends to the broadcast address, which the guest's
 * TCP drops.
 */
public final class ArpRequest {
    /** Ethernet header and ARP payload, padded to the smallest Ethernet frame without its checksum. */
    static final int FRAME_BYTES = 60;
    /** Ethernet header and ARP payload: the shortest frame an answer can be. */
    private static final int ARP_BYTES = 42;
    private static final int ETHERTYPE_ARP = 0x0806;
    private static final int HARDWARE_ETHERNET = 1;
    private static final int PROTOCOL_IPV4 = 0x0800;
    private static final int OPERATION_REQUEST = 1;
    private static final int OPERATION_REPLY = 2;

    private ArpRequest() {
    }

    /**
     * The frame in which {@code sender} (at {@code senderAddress}) asks who has {@code target}, broadcast, ready to send
     * (position 0, limit its length).
     */
    public static ByteBuffer frame(MacAddress sender, Inet4Address senderAddress, Inet4Address target) {
        Objects.requireNonNull(sender, "sender");
        ByteBuffer b = ByteBuffer.allocate(FRAME_BYTES);
        b.put(MacAddress.BROADCAST.octets()).put(sender.octets()).putShort((short) ETHERTYPE_ARP);
        b.putShort((short) HARDWARE_ETHERNET).putShort((short) PROTOCOL_IPV4).put((byte) 6).put((byte) 4)
                .putShort((short) OPERATION_REQUEST);
        b.put(sender.octets()).put(senderAddress.getAddress());
        b.put(new byte[6]).put(target.getAddress()); // no hardware address: that is the question
        return b.clear();
    }

    /**
     * Whether {@code frame} (position to limit; any bytes, checked) is the ARP reply to {@code sender}'s request for
     * {@code target}: an Ethernet/IPv4 ARP reply from {@code target} addressed to {@code sender}.
     */
    public static boolean isAnswer(ByteBuffer frame, MacAddress sender, Inet4Address target) {
        if (frame.remaining() < ARP_BYTES) {
            return false;
        }
        ByteBuffer f = frame.slice();
        return Short.toUnsignedInt(f.getShort(12)) == ETHERTYPE_ARP
                && f.getShort(14) == HARDWARE_ETHERNET && f.getShort(16) == PROTOCOL_IPV4
                && f.get(18) == 6 && f.get(19) == 4 && f.getShort(20) == OPERATION_REPLY
                && f.getInt(28) == toInt(target) && sender.equals(macAt(f, 32));
    }

    private static int toInt(Inet4Address address) {
        return ByteBuffer.wrap(address.getAddress()).getInt();
    }

    private static MacAddress macAt(ByteBuffer f, int at) {
        byte[] octets = new byte[6];
        f.get(at, octets);
        return MacAddress.of(octets, 0);
    }
}
