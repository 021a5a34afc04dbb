package dev.arrow.kvm.x86;

import dev.arrow.kvm.KvmException;

/**
 * The guest cannot be set up for boot as asked: the command line is too long, the initrd does
 * not fit, the kernel's boot header rules out what the VM needs. The message names the limit
 * that was hit and what to change.
 */
public final class BootSetupException extends KvmException {

    public BootSetupException(String message) {
        super(message);
    }
}
