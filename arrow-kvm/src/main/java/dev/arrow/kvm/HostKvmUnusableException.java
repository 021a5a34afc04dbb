package dev.arrow.kvm;

/**
 * This host has no usable KVM: no {@code /dev/kvm}, an unsupported API version, a missing
 * capability, or a KVM flavour that cannot run what was asked.
 */
public class HostKvmUnusableException extends KvmException {

    public HostKvmUnusableException(String message) {
        super(message);
    }
}
