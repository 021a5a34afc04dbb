package dev.arrow.kvm.net;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The C library calls the network backends need, bound by JNA direct mapping. Every function
 * returns the raw C result; on -1 the caller reads {@link Native#getLastError()}.
 * Package-private: a wrong pointer or length here crashes the JVM.
 */
final class NetLibC {

    static {
        Native.register(Platform.C_LIBRARY_NAME);
    }

    static final int O_RDWR = 0x2;
    static final int O_NONBLOCK = 0x800;
    static final int O_CLOEXEC = 0x80000;

    static final short POLLIN = 0x1;
    static final short POLLERR = 0x8;
    static final short POLLHUP = 0x10;
    static final short POLLNVAL = 0x20;

    private NetLibC() {
    }

    static native int geteuid();

    static native int open(String path, int flags);

    static native int close(int fd);

    static native int ioctl(int fd, long request, Pointer arg);

    static native long read(int fd, Pointer buffer, long count);

    static native long write(int fd, Pointer buffer, long count);

    /** {@code struct pollfd[]}: int fd, short events, short revents (8 bytes each). */
    static native int poll(Pointer fds, long count, int timeoutMillis);
}
