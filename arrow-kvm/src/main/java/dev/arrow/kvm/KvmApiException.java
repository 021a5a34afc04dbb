package dev.arrow.kvm;

import dev.arrow.kvm.sys.Errno;

/**
 * A KVM or libc call failed. The message names the call, the errno and, where we know one, the
 * likely cause: {@code KVM_CREATE_VCPU failed: EEXIST (already exists): vCPU id 0 is taken}.
 */
public final class KvmApiException extends KvmException {
    private final String call;
    private final int errno;

    public KvmApiException(String call, int errno, String hint) {
        super(call + " failed: " + Errno.describe(errno) + (hint == null || hint.isEmpty() ? "" : ": " + hint));
        this.call = call;
        this.errno = errno;
    }

    /** A failure of {@code call} with a generic hint for the errno. */
    public static KvmApiException of(String call, int errno) {
        return new KvmApiException(call, errno, hintFor(errno));
    }

    /** The failed call, e.g. {@code KVM_CREATE_VM} or {@code mmap}. */
    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }

    /** A generic hint for an errno of a KVM call, or an empty string. */
    public static String hintFor(int errno) {
        return switch (errno) {
            case Errno.EACCES, Errno.EPERM ->
                    "add your user to group kvm or run as root";
            case Errno.ENOMEM -> "the host is out of memory (or the memory limit of this process is reached)";
            case Errno.EMFILE, Errno.ENFILE -> "too many open files: raise the limit (ulimit -n) or close unused VMs";
            case Errno.ENOTTY -> "this KVM does not implement the call (check the capability first)";
            case Errno.EFAULT -> "the kernel could not access memory passed to it (a guest memory slot may be unmapped)";
            default -> "";
        };
    }
}
