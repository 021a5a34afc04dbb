package dev.arrow.kvm.virtio;

/** Bits of the virtio device status field (virtio 1.x section 2.1). */
public final class DeviceStatus {

    private DeviceStatus() {}

    public static final int ACKNOWLEDGE = 1;
    public static final int DRIVER = 2;
    public static final int DRIVER_OK = 4;
    public static final int FEATURES_OK = 8;
    /** Set by the device when it hit an error it cannot recover from without a reset. */
    public static final int DEVICE_NEEDS_RESET = 64;
    /** Set by the driver when it gave up on the device. */
    public static final int FAILED = 128;

    /** A readable rendering such as {@code ACKNOWLEDGE|DRIVER|FEATURES_OK}. */
    public static String describe(int status) {
        if (status == 0) {
            return "0 (reset)";
        }
        StringBuilder sb = new StringBuilder();
        String[] names = {"ACKNOWLEDGE", "DRIVER", "DRIVER_OK", "FEATURES_OK", "bit4", "bit5",
                "DEVICE_NEEDS_RESET", "FAILED"};
        for (int bit = 0; bit < names.length; bit++) {
            if ((status & (1 << bit)) != 0) {
                sb.append(sb.length() == 0 ? "" : "|").append(names[bit]);
            }
        }
        if ((status & ~0xff) != 0) {
            sb.append(sb.length() == 0 ? "" : "|").append(String.format("0x%x", status & ~0xff));
        }
        return sb.toString();
    }
}
