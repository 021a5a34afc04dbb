package dev.arrow;

import java.nio.file.Path;

/** No usable guest kernel: the kernel asked for is missing, or Arrow's default kernel cannot be found. */
public class KernelNotFoundException extends ArrowException {

    private static final long serialVersionUID = 1L;

    public KernelNotFoundException(String message) {
        super(message);
    }

    public KernelNotFoundException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The kernel file {@code kernel} asked for in the spec does not exist or is not a readable file. */
    public static KernelNotFoundException notFound(Path kernel) {
        return new KernelNotFoundException("kernel " + kernel + " not found or not a readable file; give the path"
                + " of an uncompressed vmlinux (scripts/build-kernel.sh guest prints one), or leave the kernel"
                + " unset to boot Arrow's default kernel");
    }
}
