package dev.arrow.kvm;

import com.sun.jna.Native;
import dev.arrow.kvm.sys.Errno;
import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.OwnedFd;

/**
 * A Linux eventfd: a 64-bit counter shared with the kernel. KVM signals one when the guest
 * writes a registered I/O address (ioeventfd), and injects an interrupt when we signal one
 * registered as an irqfd. Owns its fd.
 */
public final class EventFd implements AutoCloseable {
    private final OwnedFd fd;
    private final boolean nonBlocking;

    private EventFd(OwnedFd fd, boolean nonBlocking) {
        this.fd = fd;
        this.nonBlocking = nonBlocking;
    }

    /** A blocking eventfd (read waits for a non-zero counter). */
    public static EventFd create() {
        return create(false);
    }

    public static EventFd create(boolean nonBlocking) {
        int flags = LibC.EFD_CLOEXEC | (nonBlocking ? LibC.EFD_NONBLOCK : 0);
        int fd = LibC.eventfd(0, flags);
        if (fd == -1) {
            throw KvmApiException.of("eventfd", Native.getLastError());
        }
        return new EventFd(new OwnedFd(fd, "eventfd"), nonBlocking);
    }

    /** Adds {@code value} (at least 1) to the counter. */
    public void write(long value) {
        if (value <= 0) {
            throw new IllegalArgumentException("eventfd increment must be positive: " + value);
        }
        enter();
        try {
            long[] buf = {value};
            if (LibC.write(fd.fd(), buf, 8) != 8) {
                throw KvmApiException.of("write(eventfd)", Native.getLastError());
            }
        } finally {
            fd.exit();
        }
    }

    /**
     * Reads and resets the counter. A blocking eventfd waits for a non-zero value; a non-blocking
     * one returns 0 when nothing was signalled.
     */
    public long read() {
        enter();
        try {
            long[] buf = new long[1];
            if (LibC.read(fd.fd(), buf, 8) != 8) {
                int errno = Native.getLastError();
                if (nonBlocking && errno == Errno.EAGAIN) {
                    return 0;
                }
                throw KvmApiException.of("read(eventfd)", errno);
            }
            return buf[0];
        } finally {
            fd.exit();
        }
    }

    /** The raw descriptor, for registering with KVM; valid until {@link #close()}. */
    public int fd() {
        return fd.fd();
    }

    public boolean isClosed() {
        return fd.isClosed();
    }

    private void enter() {
        if (!fd.enter()) {
            throw new KvmException("eventfd is closed");
        }
    }

    @Override
    public void close() {
        fd.close();
    }
}
