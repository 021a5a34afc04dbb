package dev.arrow.config;

/**
 * The limits of Linux (x86-64, 4 KiB pages) that a guest program's spec must respect, each defined
 * once for the spec validator, init's launch spec and guest paths. Where Linux counts a string's
 * terminating NUL, a {@code MAX_*_BYTES} constant gives the longest content without it.
 */
public final class LinuxLimits {
    /** PAGE_SIZE on x86-64: the unit of the kernel's memory accounting and of the limits below. */
    public static final int PAGE_SIZE = 4096;
    /**
     * MAX_ARG_STRLEN (32 pages): the longest single argument or environment string execve takes,
     * its terminating NUL included (fs/exec.c compares strnlen_user's count, NUL included, with it).
     */
    public static final int MAX_ARG_STRLEN = 32 * PAGE_SIZE;
    /** The longest argument or {@code NAME=value} string without its NUL: {@link #MAX_ARG_STRLEN} - 1. */
    public static final int MAX_ARG_BYTES = MAX_ARG_STRLEN - 1;
    /** ARG_MAX (32 pages): execve's room for strings and pointers is never below it. */
    public static final long ARG_MAX = 32 * PAGE_SIZE;
    /** _STK_LIM: the stack limit a program gets unless its rlimit says otherwise (8 MiB). */
    public static final long DEFAULT_STACK_LIMIT = 8L << 20;
    /** execve's room is never above 3/4 of {@link #DEFAULT_STACK_LIMIT} (6 MiB). */
    public static final long EXEC_MAX_ROOM = DEFAULT_STACK_LIMIT / 4 * 3;
    /** PATH_MAX: the longest path, its terminating NUL included. */
    public static final int PATH_MAX = 4096;
    /** The longest path without its NUL: {@link #PATH_MAX} - 1. */
    public static final int MAX_PATH_BYTES = PATH_MAX - 1;
    /** NAME_MAX: the longest single path component (no NUL counted). */
    public static final int NAME_MAX = 255;
    /** HOST_NAME_MAX: the longest hostname (no NUL counted). */
    public static final int HOST_NAME_MAX = 64;
    /** IFNAMSIZ: the size of a network interface name, its terminating NUL included. */
    public static final int IFNAMSIZ = 16;
    /** The longest network interface name without its NUL: {@link #IFNAMSIZ} - 1. */
    public static final int MAX_INTERFACE_NAME_BYTES = IFNAMSIZ - 1;
    /** The highest user or group id: 2^32-2, since 2^32-1 is (uid_t)-1, "no change". */
    public static final long MAX_ID = 0xFFFF_FFFEL;
    /** The highest exit code a program can report: wait(2) keeps its low 8 bits. */
    public static final int MAX_EXIT_CODE = 255;
    /** The highest signal number (_NSIG - 1). */
    public static final int MAX_SIGNAL = 64;

    private LinuxLimits() {
    }

    /**
     * The bytes execve accepts for the strings of argv and envp, the program's path and one pointer per
     * string (fs/exec.c): a quarter of the stack's soft limit, at least {@link #ARG_MAX}, at most
     * {@link #EXEC_MAX_ROOM}.
     *
     * @param stackLimit the soft stack limit, or {@link Rlimit#UNLIMITED}
     */
    public static long execRoom(long stackLimit) {
        long quarter = stackLimit == Rlimit.UNLIMITED ? Long.MAX_VALUE : stackLimit / 4;
        return Math.max(ARG_MAX, Math.min(EXEC_MAX_ROOM, quarter));
    }
}
