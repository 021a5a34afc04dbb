package dev.arrow;

/**
 * The kernel file exists but is not a Linux kernel Arrow can boot: not an x86-64 ELF {@code vmlinux}
 * nor a bzImage, or one whose contents the VMM's loader refuses. The message names what is wrong and
 * the fix.
 */
public class InvalidKernelException extends ArrowException {

    private static final long serialVersionUID = 1L;

    public InvalidKernelException(String message, Throwable cause) {
        super(message, cause);
    }
}
