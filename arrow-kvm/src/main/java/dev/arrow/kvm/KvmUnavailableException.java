package dev.arrow.kvm;

/**
 * This host has no usable KVM: no {@code /dev/kvm}, an unsupported API version, a missing
 * capability, or a KVM flavour that cannot run what was asked.
 */
public class KvmUnavailableException extends KvmException {

    public KvmUnavailableException(String message) {
        super(message);
    }
}
