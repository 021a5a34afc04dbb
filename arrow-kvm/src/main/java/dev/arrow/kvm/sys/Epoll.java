package dev.arrow.kvm.sys;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import dev.arrow.kvm.KvmApiException;
import dev.arrow.kvm.KvmException;

/**
 * A Linux epoll instance watching file descriptors for readability: the VMM's event loop waits
 * on it for its ioeventfds and wake-up eventfd. Each watched fd carries a caller-chosen number
 * that {@link #await} hands back. Owns its fd; {@link #close()} waits for a call in flight.
 *
 * <p>Bound by JNA direct mapping; {@code struct epoll_event} is packed on x86-64 (12 bytes: u32
 * events, u64 data).
 */
public final class Epoll implements AutoCloseable {

    static {
        Native.register(Platform.C_LIBRARY_NAME);
    }

    private static final int EPOLL_CLOEXEC = 0x80000;
    private static final int EPOLL_CTL_ADD = 1;
    private static final int EPOLL_CTL_DEL = 2;
    private static final int EPOLLIN = 0x1;
    static final int EVENT_SIZE = 12;

    private final OwnedFd fd;
    private final Memory events;
    private final int maxEvents;

    private Epoll(OwnedFd fd, int maxEvents) {
        this.fd = fd;
        this.maxEvents = maxEvents;
        this.events = new Memory((long) EVENT_SIZE * maxEvents);
    }

    /**
     * A new epoll instance whose {@link #await} reports at most {@code maxEvents} ready fds per call.
     *
     * @throws KvmApiException when epoll_create1 fails
     */
    public static Epoll create(int maxEvents) {
        if (maxEvents < 1) {
            throw new IllegalArgumentException("maxEvents must be positive, got " + maxEvents);
        }
        int raw = epoll_create1(EPOLL_CLOEXEC);
        if (raw == -1) {
            throw KvmApiException.of("epoll_create1", Native.getLastError());
        }
        return new Epoll(new OwnedFd(raw, "epoll"), maxEvents);
    }

    /** Watches {@code watched} for readability; {@link #await} reports it as {@code token}. */
    public void add(int watched, long token) {
        Memory event = new Memory(EVENT_SIZE);
        event.setInt(0, EPOLLIN);
        event.setLong(4, token);
        control(EPOLL_CTL_ADD, watched, event, "epoll_ctl(EPOLL_CTL_ADD)");
    }

    /** Stops watching {@code watched}. */
    public void remove(int watched) {
        control(EPOLL_CTL_DEL, watched, new Memory(EVENT_SIZE), "epoll_ctl(EPOLL_CTL_DEL)");
    }

    private void control(int op, int watched, Pointer event, String call) {
        enter();
        try {
            if (epoll_ctl(fd.fd(), op, watched, event) == -1) {
                throw KvmApiException.of(call, Native.getLastError());
            }
        } finally {
            fd.exit();
        }
    }

    /**
     * Waits until at least one watched fd is readable, at most {@code timeoutMillis} (-1: no
     * limit), and puts the tokens of the ready fds into {@code tokens}. Not thread-safe: one
     * waiting thread per instance.
     *
     * @return how many tokens were written (0 on time-out or when a signal interrupted the wait)
     */
    public int await(long[] tokens, int timeoutMillis) {
        enter();
        try {
            int n = epoll_wait(fd.fd(), events, Math.min(maxEvents, tokens.length), timeoutMillis);
            if (n == -1) {
                int errno = Native.getLastError();
                if (errno == Errno.EINTR) {
                    return 0;
                }
                throw KvmApiException.of("epoll_wait", errno);
            }
            for (int i = 0; i < n; i++) {
                tokens[i] = events.getLong((long) i * EVENT_SIZE + 4);
            }
            return n;
        } finally {
            fd.exit();
        }
    }

    private void enter() {
        if (!fd.enter()) {
            throw new KvmException("epoll instance is closed");
        }
    }

    /** Closes the epoll fd (the watched fds stay open). Idempotent. */
    @Override
    public void close() {
        fd.close();
    }

    private static native int epoll_create1(int flags);

    private static native int epoll_ctl(int epfd, int op, int fd, Pointer event);

    private static native int epoll_wait(int epfd, Pointer events, int maxEvents, int timeout);
}
