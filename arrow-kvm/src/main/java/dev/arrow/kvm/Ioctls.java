package dev.arrow.kvm;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.arrow.kvm.sys.KvmIoctl;
import dev.arrow.kvm.sys.LibC;
import dev.arrow.kvm.sys.OwnedFd;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import java.util.function.Function;
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

    /**
     * A KVM_GET_* ioctl of a struct of {@code size} bytes: zeroed, filled by {@code prefill} (e.g. the chip
     * id KVM_GET_IRQCHIP reads), then read back by {@code decode} after the call.
     */
    static <T> T getStruct(OwnedFd fd, KvmIoctl ioctl, int size, Consumer<ByteBuffer> prefill,
            Function<ByteBuffer, T> decode) {
        Memory m = zeroed(size);
        prefill.accept(view(m));
        call(fd, ioctl, m);
        return decode.apply(view(m));
    }

    /** {@link #getStruct(OwnedFd, KvmIoctl, int, Consumer, Function)} with nothing to fill in first. */
    static <T> T getStruct(OwnedFd fd, KvmIoctl ioctl, int size, Function<ByteBuffer, T> decode) {
        return getStruct(fd, ioctl, size, b -> { }, decode);
    }

    /** A KVM_SET_* ioctl of a struct of {@code size} zeroed bytes written by {@code encode}; {@code hint} explains an errno. */
    static void setStruct(OwnedFd fd, KvmIoctl ioctl, int size, Consumer<ByteBuffer> encode, IntFunction<String> hint) {
        Memory m = zeroed(size);
        encode.accept(view(m));
        call(fd, ioctl, m, hint);
    }

    /** {@link #setStruct(OwnedFd, KvmIoctl, int, Consumer, IntFunction)} with the usual errno hints. */
    static void setStruct(OwnedFd fd, KvmIoctl ioctl, int size, Consumer<ByteBuffer> encode) {
        setStruct(fd, ioctl, size, encode, KvmApiException::hintFor);
    }

    /** A little-endian view of all of {@code m}, as the kernel lays out its structs on x86-64. */
    static ByteBuffer view(Memory m) {
        return m.getByteBuffer(0, m.size()).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static Memory zeroed(int size) {
        Memory m = new Memory(size);
        m.clear();
        return m;
    }

    private static void enter(OwnedFd fd, KvmIoctl ioctl) {
        if (!fd.enter()) {
            throw new KvmException(ioctl.name() + " on closed " + fd);
        }
    }
}
