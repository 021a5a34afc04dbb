package dev.arrow.kvm.virtio.console;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A virtio-console control message (virtio 1.x section 5.3.6.2): {@code le32 id; le16 event;
 * le16 value;} followed, for PORT_NAME, by the name in UTF-8 without a terminating NUL.
 */
public record ControlMessage(long id, int event, int value, byte[] payload) {

    /** Bytes of the fixed header. */
    public static final int HEADER_SIZE = 8;

    /** Driver to device: the driver is ready for control messages (value 1) or failed (0). */
    public static final int DEVICE_READY = 0;
    /** Device to driver: a port exists (Linux calls it PORT_ADD). */
    public static final int DEVICE_ADD = 1;
    /** Device to driver: a port is gone. */
    public static final int DEVICE_REMOVE = 2;
    /** Driver to device: the port was set up (value 1) or not (0). */
    public static final int PORT_READY = 3;
    /** Device to driver: the port is a console (becomes /dev/hvcN). */
    public static final int CONSOLE_PORT = 4;
    /** Device to driver: console size change. */
    public static final int RESIZE = 5;
    /** Both ways: the sender's end of the port is open (1) or closed (0). */
    public static final int PORT_OPEN = 6;
    /** Device to driver: the port's name, in the payload. */
    public static final int PORT_NAME = 7;

    public ControlMessage {
        payload = payload == null ? new byte[0] : payload.clone();
    }

    public static ControlMessage of(long id, int event, int value) {
        return new ControlMessage(id, event, value, null);
    }

    public static ControlMessage portName(long id, String name) {
        return new ControlMessage(id, PORT_NAME, 1, name.getBytes(StandardCharsets.UTF_8));
    }

    /** Decodes a header from the first {@link #HEADER_SIZE} bytes of {@code bytes}. */
    public static ControlMessage decodeHeader(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes, 0, HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        return of(Integer.toUnsignedLong(b.getInt()), Short.toUnsignedInt(b.getShort()), Short.toUnsignedInt(b.getShort()));
    }

    /** Decodes a whole message: header plus payload. */
    public static ControlMessage decode(byte[] bytes, int length) {
        ControlMessage header = decodeHeader(bytes);
        byte[] payload = new byte[Math.max(0, length - HEADER_SIZE)];
        System.arraycopy(bytes, HEADER_SIZE, payload, 0, payload.length);
        return new ControlMessage(header.id(), header.event(), header.value(), payload);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_SIZE + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt((int) id).putShort((short) event).putShort((short) value).put(payload);
        return b.array();
    }

    @Override
    public byte[] payload() {
        return payload.clone();
    }

    public String payloadText() {
        return new String(payload, StandardCharsets.UTF_8);
    }

    public static String eventName(int event) {
        return switch (event) {
            case DEVICE_READY -> "DEVICE_READY";
            case DEVICE_ADD -> "DEVICE_ADD";
            case DEVICE_REMOVE -> "DEVICE_REMOVE";
            case PORT_READY -> "PORT_READY";
            case CONSOLE_PORT -> "CONSOLE_PORT";
            case RESIZE -> "RESIZE";
            case PORT_OPEN -> "PORT_OPEN";
            case PORT_NAME -> "PORT_NAME";
            default -> "event " + event;
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ControlMessage m && m.id == id && m.event == event && m.value == value
                && java.util.Arrays.equals(m.payload, payload);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(id, event, value, java.util.Arrays.hashCode(payload));
    }

    @Override
    public String toString() {
        return String.format("%s(port %d, value %d%s)", eventName(event), id, value,
                payload.length == 0 ? "" : ", \"" + payloadText() + "\"");
    }
}
