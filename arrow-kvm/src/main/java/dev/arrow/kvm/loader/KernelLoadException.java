package dev.arrow.kvm.loader;

import dev.arrow.kvm.KvmException;

/**
 * A kernel image cannot be loaded: it is missing, unreadable, truncated, malformed, not for
 * x86-64, or does not fit in guest RAM. The message starts with "kernel image NAME:" and says
 * what is wrong with it.
 */
public final class KernelLoadException extends KvmException {

    public KernelLoadException(String message) {
        super(message);
    }

    public KernelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
