package dev.arrow.kvm.virtio.net;

import dev.arrow.kvm.virtio.VirtioGuestException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The header in front of every frame on a virtio-net queue ({@code struct virtio_net_hdr_v1},
 * virtio 1.x section 5.1.6): 12 bytes, little-endian, because VIRTIO_F_VERSION_1 is always
 * negotiated on our transport.
 *
 * <pre>
 *  0 u8  flags        NEEDS_CSUM 1, DATA_VALID 2, RSC_INFO 4
 *  1 u8  gso_type     NONE 0, TCPV4 1, UDP 3, TCPV6 4, UDP_L4 5, ECN bit 0x80
 *  2 u16 hdr_len
 *  4 u16 gso_size
 *  6 u16 csum_start
 *  8 u16 csum_offset
 * 10 u16 num_buffers  (set to 1 by the device on receive without MRG_RXBUF)
 * </pre>
 *
 * Arrow offers no offloads, so a transmitted header must ask for none: NEEDS_CSUM without
 * VIRTIO_NET_F_CSUM or a gso_type other than NONE is a driver error; other flag bits are ignored
 * (the specification says the device must ignore flags it does not know).
 */
public final class VirtioNetHeader {
    public static final int SIZE = 12;
    public static final int F_NEEDS_CSUM = 1;
    public static final int F_DATA_VALID = 2;
    public static final int GSO_NONE = 0;
    static final int FLAGS = 0;
    static final int GSO_TYPE = 1;
    static final int NUM_BUFFERS = 10;

    private VirtioNetHeader() {
    }

    /**
     * Checks the header of a transmitted frame.
     *
     * @param features the negotiated features
     * @param head     the chain's head index, for the message
     * @throws VirtioGuestException when the header asks for an offload that was not negotiated
     */
    public static void checkTransmit(byte[] header, long features, int head) {
        int flags = header[FLAGS] & 0xff;
        int gso = header[GSO_TYPE] & 0xff;
        if ((flags & F_NEEDS_CSUM) != 0 && (features & VirtioNet.F_CSUM) == 0) {
            throw new VirtioGuestException(String.format(
                    "virtio-net: frame at head %d asks for checksum offload (NEEDS_CSUM) but VIRTIO_NET_F_CSUM was not negotiated",
                    head));
        }
        if (gso != GSO_NONE) {
            throw new VirtioGuestException(String.format(
                    "virtio-net: frame at head %d asks for segmentation offload (gso_type %d), which was not negotiated",
                    head, gso));
        }
    }

    /** A receive header: no flags, no GSO, one buffer. Positioned at 0, limit {@link #SIZE}. */
    public static ByteBuffer newReceiveHeader() {
        ByteBuffer b = ByteBuffer.allocateDirect(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(NUM_BUFFERS, (short) 1);
        return b;
    }
}
