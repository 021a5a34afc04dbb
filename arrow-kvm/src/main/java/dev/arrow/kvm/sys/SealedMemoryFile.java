package dev.arrow.kvm.sys;

import com.sun.jna.Native;
import dev.arrow.kvm.KvmApiException;
import java.util.Arrays;

/**
 * Makes a memory file ({@code memfd_create}) that is written once and then sealed against writes and resizing
 * ({@code F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL}): what it holds can no longer change, so every VM
 * of the process may map it copy-on-write and none can change what another one reads. Chunks of zeros are not
 * written: a memory file reads zero where nothing was written, and holds no page there.
 */
public final class SealedMemoryFile {
    /** The seals a made file carries. */
    public static final int SEALS = LibC.F_SEAL_SHRINK | LibC.F_SEAL_GROW | LibC.F_SEAL_WRITE | LibC.F_SEAL_SEAL;

    /** Writes a new file's bytes, before it is sealed. */
    @FunctionalInterface
    public interface Contents {
        void writeTo(Writer writer);
    }

    /** Where {@link Contents} writes. */
    public interface Writer {
        /** Writes {@code count} bytes of {@code chunk} at {@code offset} of the file, unless they are all zero. */
        void write(byte[] chunk, int count, long offset);
    }

    private SealedMemoryFile() {
    }

    /**
     * Makes the file {@code name} of {@code length} bytes, has {@code contents} write it, and seals it.
     *
     * @param what the file's description in errors and in its {@link OwnedFd}
     * @throws KvmApiException if the file cannot be made, written or sealed (nothing is left open then)
     */
    public static OwnedFd make(String name, long length, String what, Contents contents) {
        int fd = LibC.memfd_create(name, LibC.MFD_CLOEXEC | LibC.MFD_ALLOW_SEALING);
        if (fd < 0) {
            int errno = Native.getLastError();
            throw new KvmApiException("memfd_create for " + what, errno, KvmApiException.hintFor(errno));
        }
        OwnedFd file = new OwnedFd(fd, what);
        try {
            if (LibC.ftruncate(fd, length) != 0) {
                int errno = Native.getLastError();
                throw new KvmApiException("ftruncate of " + what, errno, KvmApiException.hintFor(errno));
            }
            contents.writeTo((chunk, count, offset) -> writeFully(fd, chunk, count, offset, what));
            if (LibC.fcntl(fd, LibC.F_ADD_SEALS, SEALS) != 0) {
                int errno = Native.getLastError();
                throw new KvmApiException("sealing " + what + " (F_ADD_SEALS)", errno, KvmApiException.hintFor(errno));
            }
            return file;
        } catch (RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    private static void writeFully(int fd, byte[] chunk, int count, long offset, String what) {
        if (isAllZero(chunk, count)) {
            return;
        }
        int done = 0;
        while (done < count) {
            byte[] rest = done == 0 ? chunk : Arrays.copyOfRange(chunk, done, count);
            long n = LibC.pwrite(fd, rest, count - done, offset + done);
            if (n <= 0) {
                int errno = n < 0 ? Native.getLastError() : 0;
                throw new KvmApiException("pwrite to " + what, errno, KvmApiException.hintFor(errno));
            }
            done += (int) n;
        }
    }

    private static boolean isAllZero(byte[] b, int count) {
        for (int i = 0; i < count; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }
}
