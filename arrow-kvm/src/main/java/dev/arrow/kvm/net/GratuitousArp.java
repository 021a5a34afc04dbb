package dev.arrow.kvm.net;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A gratuitous ARP request from a guest ("who has my address? tell me"), as the VMM sends it on the guest's
 * behalf when a guest restored from a template meets a new network backend: passt learns the guest's MAC
 * address from the frames it receives and, until then, sends to the broadcast address, which the guest's TCP
 * drops. A VM restored elsewhere announces itself the same way (QEMU sends such frames after a migration).
 */
public final class GratuitousArp {
    /** Ethernet header and ARP payload, padded to the smallest Ethernet frame without its checksum. */
    static final int FRAME_BYTES = 60;
    private static final int ETHERTYPE_ARP = 0x0806;
    private static final int HARDWARE_ETHERNET = 1;
    private static final int PROTOCOL_IPV4 = 0x0800;
    private static final int OPERATION_REQUEST = 1;

    private GratuitousArp() {
    }

    /** The frame announcing that {@code mac} has {@code address}, ready to send (position 0, limit its length). */
    public static ByteBuffer frame(MacAddress mac, Inet4Address address) {
        Objects.requireNonNull(mac, "mac");
        byte[] ip = address.getAddress();
        ByteBuffer b = ByteBuffer.allocate(FRAME_BYTES);
        b.put(MacAddress.BROADCAST.octets()).put(mac.octets()).putShort((short) ETHERTYPE_ARP);
        b.putShort((short) HARDWARE_ETHERNET).putShort((short) PROTOCOL_IPV4).put((byte) 6).put((byte) 4)
                .putShort((short) OPERATION_REQUEST);
        b.put(mac.octets()).put(ip); // sender
        b.put(new byte[6]).put(ip);  // target: the same address, no hardware address
        return b.clear();
    }
}
