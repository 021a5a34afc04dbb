package dev.arrow.kvm;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.arrow.kvm.sys.KvmIoctl;
import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.OwnedFd;
import java.util.function.IntFunction;

/** Issues a {@link KvmIoctl} on an fd we own and turns {@code -1} + errno into a {@link KvmApiException}. */
final class Ioctls {
    private Ioctls() {
    }

    static int call(OwnedFd fd, KvmIoctl ioctl, long arg) {
        return call(fd, ioctl, arg, KvmApiException::hintFor);
    }

    static int call(OwnedFd fd, KvmIoctl ioctl, long arg, IntFunction<String> hint) {
        enter(fd, ioctl);
        try {
            int r = LibC.ioctl(fd.fd(), ioctl.request(), arg);
            if (r == -1) {
                int errno = Native.getLastError();
                throw new KvmApiException(ioctl.name(), errno, hint.apply(errno));
            }
            return r;
        } finally {
            fd.exit();
        }
    }

    static int call(OwnedFd fd, KvmIoctl ioctl, Pointer arg) {
        return call(fd, ioctl, arg, KvmApiException::hintFor);
    }

    static int call(OwnedFd fd, KvmIoctl ioctl, Pointer arg, IntFunction<String> hint) {
        enter(fd, ioctl);
        try {
            int r = LibC.ioctl(fd.fd(), ioctl.request(), arg);
            if (r == -1) {
                int errno = Native.getLastError();
                throw new KvmApiException(ioctl.name(), errno, hint.apply(errno));
            }
            return r;
        } finally {
            fd.exit();
        }
    }

    private static void enter(OwnedFd fd, KvmIoctl ioctl) {
        if (!fd.enter()) {
            throw new KvmException(ioctl.name() + " on closed " + fd);
        }
    }
}
