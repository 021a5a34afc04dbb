package dev.arrow;

import java.nio.file.Path;

/** This host offers no KVM device: {@code /dev/kvm} is missing or is not a KVM device. */
public class KvmUnavailableException extends UnsupportedHostException {

    private static final long serialVersionUID = 1L;

    public KvmUnavailableException(String message) {
        super(message);
    }

    public KvmUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    /** {@code device} does not exist. */
    public static KvmUnavailableException missing(Path device) {
        return new KvmUnavailableException(device + " does not exist, so this host offers no KVM; load the"
                + " kvm_intel or kvm_amd module, enable virtualization in the firmware, or pass the device into"
                + " the container (e.g. docker run --device /dev/kvm)");
    }
}
