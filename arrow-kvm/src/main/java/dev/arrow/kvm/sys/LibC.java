package dev.arrow.kvm.sys;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The C library calls the VMM needs, bound by JNA direct mapping ({@link Native#register}), which
 * costs about a JNI call per invocation. Every function returns the raw C result; on failure
 * ({@code -1}, or an error number for the pthread functions) the caller reads
 * {@link Native#getLastError()} and turns it into an exception naming the call.
 *
 * <p>Only {@code dev.arrow.kvm} code calls these: a wrong pointer or length here crashes the JVM.
 */
public final class LibC {

    static {
        Native.register(Platform.C_LIBRARY_NAME);
    }

    public static final int O_RDONLY = 0x0;
    public static final int O_RDWR = 0x2;
    public static final int O_CLOEXEC = 0x80000;

    public static final int PROT_NONE = 0x0;
    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;
    public static final int MAP_FIXED = 0x10;
    /** madvise: drop the pages of a range (private anonymous memory then reads as zero). */
    public static final int MADV_DONTNEED = 4;
    /** madvise: the host kernel's same-page merging (KSM) may merge the range's pages with equal ones. */
    public static final int MADV_MERGEABLE = 12;
    /** madvise: the range may be backed by transparent huge pages (where the host's THP mode is "madvise" or "always"). */
    public static final int MADV_HUGEPAGE = 14;
    /** madvise: never back the range by transparent huge pages. */
    public static final int MADV_NOHUGEPAGE = 15;
    /** madvise: map every page of the range now, as reads would (Linux 5.14+; older kernels say EINVAL). */
    public static final int MADV_POPULATE_READ = 22;
    /** madvise: map every page of the range now, as writes would: a private mapping gets its own copies. */
    public static final int MADV_POPULATE_WRITE = 23;
    /** mmap's failure value, {@code (void *) -1}. */
    public static final long MAP_FAILED = -1L;

    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;

    public static final int MFD_CLOEXEC = 0x1;
    public static final int MFD_ALLOW_SEALING = 0x2;
    public static final int F_ADD_SEALS = 1033;
    public static final int F_GET_SEALS = 1034;
    public static final int F_SEAL_SEAL = 0x1;
    public static final int F_SEAL_SHRINK = 0x2;
    public static final int F_SEAL_GROW = 0x4;
    public static final int F_SEAL_WRITE = 0x8;

    public static final int SIG_BLOCK = 0;
    public static final int SIG_UNBLOCK = 1;
    public static final int SIG_SETMASK = 2;

    private LibC() {
    }

    public static native int open(String path, int flags);

    /** {@link #open(String, int)} of a path given as NUL-terminated bytes (no conversion per call). */
    public static native int open(byte[] path, int flags);

    public static native int close(int fd);

    /** ioctl with an integer (or no) argument. */
    public static native int ioctl(int fd, long request, long arg);

    /** ioctl with a pointer to an argument struct. */
    public static native int ioctl(int fd, long request, Pointer arg);

    /** Returns the mapping's address, or {@link #MAP_FAILED}. */
    public static native long mmap(long address, long length, int prot, int flags, int fd, long offset);

    public static native int munmap(long address, long length);

    public static native int mprotect(long address, long length, int prot);

    public static native int madvise(long address, long length, int advice);

    /** One byte per page of {@code [address, address + length)} into {@code vector}; bit 0 set when resident. */
    public static native int mincore(long address, long length, byte[] vector);

    public static native int eventfd(int initialValue, int flags);

    /** An anonymous memory file (glibc 2.27+). */
    public static native int memfd_create(String name, int flags);

    public static native int ftruncate(int fd, long length);

    public static final int SEEK_END = 2;

    /** Moves the file offset; with {@link #SEEK_END} and 0 it returns the file's size. */
    public static native long lseek(int fd, long offset, int whence);

    /** fcntl with an integer argument (F_ADD_SEALS, F_GET_SEALS). */
    public static native int fcntl(int fd, int command, int arg);

    /** Writes {@code count} bytes of {@code buffer} at file {@code offset}; returns the count written or -1. */
    public static native long pwrite(int fd, byte[] buffer, long count, long offset);

    /** Reads up to {@code count} bytes at file {@code offset} into {@code buffer}; returns the count read (0 at the end) or -1. */
    public static native long pread(int fd, byte[] buffer, long count, long offset);

    public static native long read(int fd, long[] buffer, long count);

    /** Reads up to {@code count} bytes into {@code buffer} (from its start); returns the count read, 0 at the end, or -1. */
    public static native long read(int fd, byte[] buffer, long count);

    public static native long write(int fd, long[] buffer, long count);

    /** Reads clock {@code clockId} into {@code timespec}: {@code [tv_sec, tv_nsec]}; returns 0 or -1. */
    public static native int clock_gettime(int clockId, long[] timespec);

    /**
     * The clock of thread {@code tid}'s CPU time (this process's threads only): the kernel's
     * {@code MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)}, what {@code pthread_getcpuclockid} gives.
     */
    public static int threadCpuClock(int tid) {
        return (~tid << 3) | 6; // CPUCLOCK_SCHED 2 | CPUCLOCK_PERTHREAD_MASK 4
    }

    public static native int getpid();

    public static native int gettid();

    public static native int tgkill(int tgid, int tid, int signal);

    /** glibc's {@code struct sigaction} (152 bytes on x86-64, see {@link KickSignal}). */
    public static native int sigaction(int signal, Pointer action, Pointer oldAction);

    /** Returns 0 or an error number (not -1/errno). */
    public static native int pthread_sigmask(int how, Pointer set, Pointer oldSet);

    public static native int sigemptyset(Pointer set);

    public static native int sigaddset(Pointer set, int signal);

    public static native int sigismember(Pointer set, int signal);

    public static native int sigtimedwait(Pointer set, Pointer info, Pointer timeout);

    public static native int __libc_current_sigrtmin();

    public static native int __libc_current_sigrtmax();
}
