package dev.arrow;

/**
 * The host has a {@code /dev/kvm}, but its KVM cannot boot a Linux guest (no hardware virtualization,
 * e.g. a PVM host whose guest kernel code runs through an instruction interpreter).
 */
public class NoHardwareVirtualizationException extends UnsupportedHostException {

    private static final long serialVersionUID = 1L;

    public NoHardwareVirtualizationException(String message) {
        super(message);
    }

    public NoHardwareVirtualizationException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The host's KVM is PVM ({@code kvm_pvm} loaded, no {@code vmx}/{@code svm}). */
    public static NoHardwareVirtualizationException pvm() {
        return new NoHardwareVirtualizationException("this host's KVM (PVM, no hardware virtualization) cannot boot"
                + " a Linux guest; run on a host with Intel VT-x or AMD-V (kvm_intel or kvm_amd loaded)");
    }
}
