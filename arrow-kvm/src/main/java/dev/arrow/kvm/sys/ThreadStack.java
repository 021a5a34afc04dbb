package dev.arrow.kvm.sys;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives back the pages of the calling thread's stack below where it stands now, for a VMM thread about to wait
 * long (a vCPU in an idle guest's halt, a VM's event loop once its guest is idle).
 *
 * <p>Why: every Java thread keeps each page of its stack that it ever touched, and HotSpot touches at least the 20
 * pages below the deepest frame on purpose (the interpreter bangs its stack shadow zone, {@code StackShadowPages},
 * at each call), so an idle VMM thread holds about 90 KiB of private memory whatever its stack size; an idle arrow
 * has two. Below the stack pointer nothing is alive: {@code madvise(MADV_DONTNEED)} frees those pages, and the
 * thread gets zeroed ones back, one fault each, when it goes that deep again (a compiled call touches one page of
 * the shadow zone, not all twenty; a wait in {@code LockSupport.park} touches them all again, a native call such as
 * {@code ioctl} or {@code read} does not: call this after the last park before the long wait).
 *
 * <p>Only the thread itself may do this (another thread's stack can grow under it at any time): the range ends
 * {@link #MARGIN} below the stack pointer of this call's native frame ({@code getcontext}), far below what the
 * {@code madvise} call itself uses. Where the C library lacks a function (glibc before 2.34 keeps
 * {@code pthread_getattr_np} in libpthread), or the call fails, nothing is given back.
 */
public final class ThreadStack {
    private static final Logger LOG = LoggerFactory.getLogger(ThreadStack.class);
    /** Kept below the stack pointer: the native frames of the calls made here, the ABI's red zone, with room to spare. */
    static final long MARGIN = 8 << 10;
    /** {@code sizeof(ucontext_t)} is 968 on x86-64 glibc; room to spare. */
    private static final int UCONTEXT_BYTES = 1024;
    /** Offset of {@code uc_mcontext.gregs[REG_RSP]} in x86-64's {@code ucontext_t}: 40 + 15 × 8. */
    private static final int RSP_OFFSET = 160;
    /** {@code sizeof(pthread_attr_t)} is 56 on x86-64 glibc. */
    private static final int ATTR_BYTES = 64;
    private static final long PAGE = 4096;
    private static final boolean AVAILABLE = bind();

    private ThreadStack() {
    }

    private static boolean bind() {
        if (!Platform.isLinux() || !Platform.isIntel() || !Platform.is64Bit()) {
            return false;
        }
        try {
            Native.register(ThreadStack.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
            return true;
        } catch (LinkageError e) {
            LOG.debug("idle VMM threads keep their stack pages: {}", e.toString());
            return false;
        }
    }

    private static native int getcontext(Pointer context);

    private static native long pthread_self();

    private static native int pthread_getattr_np(long thread, Pointer attr);

    private static native int pthread_attr_getstack(Pointer attr, Pointer address, Pointer size);

    private static native int pthread_attr_destroy(Pointer attr);

    /**
     * Frees the pages of the calling thread's stack more than {@link #MARGIN} below its current depth; returns the
     * bytes of the range given back (resident or not), 0 if nothing was (unavailable here, or a call failed).
     */
    public static long releaseBelowCurrentFrame() {
        long[] range = unusedRange();
        if (range == null) {
            return 0;
        }
        if (LibC.madvise(range[0], range[1] - range[0], LibC.MADV_DONTNEED) != 0) {
            LOG.debug("madvise(MADV_DONTNEED) of the stack range [0x{}, 0x{}) failed: errno {}",
                    Long.toHexString(range[0]), Long.toHexString(range[1]), Native.getLastError());
            return 0;
        }
        return range[1] - range[0];
    }

    /**
     * The page-aligned range {@code [start, end)} of the calling thread's stack from its low end to {@link #MARGIN}
     * below the stack pointer of this call; null if there is none or it cannot be known.
     */
    static long[] unusedRange() {
        if (!AVAILABLE) {
            return null;
        }
        try (Memory context = new Memory(UCONTEXT_BYTES); Memory attr = new Memory(ATTR_BYTES);
             Memory stack = new Memory(2 * Long.BYTES)) {
            if (getcontext(context) != 0 || pthread_getattr_np(pthread_self(), attr) != 0) {
                return null;
            }
            try {
                if (pthread_attr_getstack(attr, stack, stack.share(Long.BYTES)) != 0) {
                    return null;
                }
            } finally {
                pthread_attr_destroy(attr);
            }
            long low = stack.getLong(0);
            long high = low + stack.getLong(Long.BYTES);
            long sp = context.getLong(RSP_OFFSET);
            long start = (low + PAGE - 1) & -PAGE;
            long end = (sp - MARGIN) & -PAGE;
            if (sp <= low || sp > high || end <= start) {
                return null; // not on this thread's stack (a signal stack?), or nothing below the margin
            }
            return new long[] {start, end};
        }
    }
}
