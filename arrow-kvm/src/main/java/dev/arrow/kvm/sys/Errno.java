package dev.arrow.kvm.sys;

import java.util.Map;

/**
 * Names and short descriptions of the Linux errno values the VMM meets (x86-64 numbering).
 * Unknown values are still named, as {@code errno 123}.
 */
public final class Errno {

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int E2BIG = 7;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ENOTTY = 25;
    public static final int ENOSPC = 28;
    public static final int ERANGE = 34;
    public static final int ENOSYS = 38;
    public static final int EOPNOTSUPP = 95;

    private record Entry(String name, String description) {
    }

    private static final Map<Integer, Entry> TABLE = Map.ofEntries(
            Map.entry(EPERM, new Entry("EPERM", "operation not permitted")),
            Map.entry(ENOENT, new Entry("ENOENT", "no such file or directory")),
            Map.entry(ESRCH, new Entry("ESRCH", "no such process or thread")),
            Map.entry(EINTR, new Entry("EINTR", "interrupted by a signal")),
            Map.entry(EIO, new Entry("EIO", "input/output error")),
            Map.entry(ENXIO, new Entry("ENXIO", "no such device or address")),
            Map.entry(E2BIG, new Entry("E2BIG", "argument list or buffer too big")),
            Map.entry(EBADF, new Entry("EBADF", "bad file descriptor")),
            Map.entry(EAGAIN, new Entry("EAGAIN", "resource temporarily unavailable")),
            Map.entry(ENOMEM, new Entry("ENOMEM", "out of memory")),
            Map.entry(EACCES, new Entry("EACCES", "permission denied")),
            Map.entry(EFAULT, new Entry("EFAULT", "bad address")),
            Map.entry(EBUSY, new Entry("EBUSY", "device or resource busy")),
            Map.entry(EEXIST, new Entry("EEXIST", "already exists")),
            Map.entry(ENODEV, new Entry("ENODEV", "no such device")),
            Map.entry(EINVAL, new Entry("EINVAL", "invalid argument")),
            Map.entry(ENFILE, new Entry("ENFILE", "too many open files in the system")),
            Map.entry(EMFILE, new Entry("EMFILE", "too many open files in this process")),
            Map.entry(ENOTTY, new Entry("ENOTTY", "inappropriate ioctl for this file")),
            Map.entry(ENOSPC, new Entry("ENOSPC", "no space left")),
            Map.entry(ERANGE, new Entry("ERANGE", "result out of range")),
            Map.entry(ENOSYS, new Entry("ENOSYS", "function not implemented")),
            Map.entry(EOPNOTSUPP, new Entry("EOPNOTSUPP", "operation not supported")));

    private Errno() {
    }

    /** The symbolic name, e.g. {@code EACCES}; {@code errno N} when unknown. */
    public static String name(int errno) {
        Entry e = TABLE.get(errno);
        return e != null ? e.name() : "errno " + errno;
    }

    /** A short description, e.g. {@code permission denied}; {@code unknown error} when unknown. */
    public static String description(int errno) {
        Entry e = TABLE.get(errno);
        return e != null ? e.description() : "unknown error";
    }

    /** Name and description, e.g. {@code EACCES (permission denied)}. */
    public static String describe(int errno) {
        return name(errno) + " (" + description(errno) + ")";
    }
}
