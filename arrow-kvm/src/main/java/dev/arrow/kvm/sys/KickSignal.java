package dev.arrow.kvm.sys;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.arrow.kvm.KvmApiException;
import dev.arrow.kvm.KvmException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real-time signal that interrupts a blocking {@code KVM_RUN} ("kicks" a vCPU) without any
 * handler code running in the JVM.
 *
 * <p>How it works: the process-wide disposition of the signal is set to {@code SIG_IGN}. Every
 * thread that runs a vCPU keeps the signal blocked ({@link #prepareCurrentThread()}), and the
 * vCPU gets a {@code KVM_SET_SIGNAL_MASK} mask in which it is unblocked. While the thread is in
 * {@code KVM_RUN} the kernel swaps in that mask and remembers the original one in
 * {@code real_blocked}; a signal that arrives then is neither ignored nor fatal (the kernel
 * treats it as blocked for those checks) but makes {@code KVM_RUN} return {@code EINTR}. The
 * original mask is restored before the ioctl returns, so the signal stays pending and is never
 * delivered: {@link #drainCurrentThread()} removes it with a zero-timeout {@code sigtimedwait}.
 * A signal sent while the thread is outside {@code KVM_RUN} waits, pending, and ends the next
 * {@code KVM_RUN} at once, so a kick is never lost. Firecracker gets the same effect with a no-op
 * handler; in a JVM a native no-op handler is not at hand, and JVM code must not run inside a
 * signal handler.
 */
public final class KickSignal {
    private static final Logger LOG = LoggerFactory.getLogger(KickSignal.class);

    /** glibc x86-64 {@code struct sigaction}: handler at 0, sa_mask (128 bytes) at 8, flags at 136. */
    private static final int SIGACTION_SIZE = 152;
    private static final int SIGSET_SIZE = 128;
    private static final long SIG_DFL = 0L;
    private static final long SIG_IGN = 1L;

    private static KickSignal instance;

    private final int signal;
    private final int pid;
    /** A sigset_t holding only {@link #signal}; never freed (lives as long as the class). */
    private final Memory onlyThisSignal;
    /** A zero timespec for sigtimedwait. */
    private final Memory zeroTimeout;
    private final ThreadLocal<ThreadState> threadState = new ThreadLocal<>();

    /** What a thread that runs vCPUs needs: its kernel tid and the mask to use inside KVM_RUN. */
    public record ThreadState(int tid, long runMask) {
    }

    private KickSignal(int signal) {
        this.signal = signal;
        this.pid = LibC.getpid();
        this.onlyThisSignal = new Memory(SIGSET_SIZE);
        LibC.sigemptyset(onlyThisSignal);
        LibC.sigaddset(onlyThisSignal, signal);
        this.zeroTimeout = new Memory(16);
        zeroTimeout.clear();
    }

    /** The process's kick signal, choosing and installing it on first use. */
    public static synchronized KickSignal get() {
        if (instance == null) {
            instance = new KickSignal(install());
        }
        return instance;
    }

    /** The signal number (a real-time signal, SIGRTMIN or above). */
    public int signal() {
        return signal;
    }

    private static int install() {
        int min = LibC.__libc_current_sigrtmin();
        int max = LibC.__libc_current_sigrtmax();
        Memory old = new Memory(SIGACTION_SIZE);
        for (int sig = min; sig <= max; sig++) {
            old.clear();
            if (LibC.sigaction(sig, null, old) != 0) {
                continue;
            }
            if (old.getLong(0) != SIG_DFL) {
                continue; // someone else uses it
            }
            Memory act = new Memory(SIGACTION_SIZE);
            act.clear();
            act.setLong(0, SIG_IGN);
            if (LibC.sigemptyset(act.share(8)) != 0 || LibC.sigaction(sig, act, null) != 0) {
                throw KvmApiException.of("sigaction(" + sig + ", SIG_IGN)", Native.getLastError());
            }
            LOG.debug("vCPU kick signal is {} (SIGRTMIN+{})", sig, sig - min);
            return sig;
        }
        throw new KvmException("no free real-time signal for kicking vCPUs: every signal from "
                + min + " to " + max + " has a handler");
    }

    /**
     * Blocks the kick signal in the calling thread (once per thread) and returns the thread's
     * state, with the signal mask that {@code KVM_SET_SIGNAL_MASK} should install for KVM_RUN.
     */
    public ThreadState prepareCurrentThread() {
        ThreadState state = threadState.get();
        if (state != null) {
            return state;
        }
        Memory old = new Memory(SIGSET_SIZE);
        int err = LibC.pthread_sigmask(LibC.SIG_BLOCK, onlyThisSignal, old);
        if (err != 0) {
            throw KvmApiException.of("pthread_sigmask(SIG_BLOCK)", err);
        }
        // The kernel's sigset is one 64-bit word; bit (n - 1) stands for signal n. glibc's
        // sigset_t starts with the same word. The old mask did not block our signal, or if
        // it did we clear it: inside KVM_RUN the signal must be deliverable.
        long runMask = old.getLong(0) & ~(1L << (signal - 1));
        state = new ThreadState(LibC.gettid(), runMask);
        threadState.set(state);
        return state;
    }

    /** Sends the kick signal to thread {@code tid} of this process; false if it has gone. */
    public boolean kick(int tid) {
        if (LibC.tgkill(pid, tid, signal) != 0) {
            int errno = Native.getLastError();
            if (errno == Errno.ESRCH) {
                return false;
            }
            throw KvmApiException.of("tgkill(" + tid + ")", errno);
        }
        return true;
    }

    /** Removes pending kick signals of the calling thread (which must have it blocked). */
    public void drainCurrentThread() {
        for (int i = 0; i < 64; i++) {
            if (LibC.sigtimedwait(onlyThisSignal, Pointer.NULL, zeroTimeout) != signal) {
                return; // EAGAIN: nothing pending
            }
        }
    }
}
