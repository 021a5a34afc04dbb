package dev.arrow.backend.kvm;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The JVM's threads that move guest output into its sinks ({@link VirtioStdio}'s pumps): a pump takes one while its
 * port has bytes to deliver and gives it back when the port is empty, so arrows whose programs are quiet hold none.
 * Threads are made as needed (a pump blocked on a full sink keeps its thread, so no pump waits for another) and end
 * after {@link #KEEP_ALIVE_SECONDS} unused. Daemon threads named {@code arrow-output-N}; a pump renames its thread
 * after its stream while it runs.
 */
final class GuestOutputThreads {
    /** How long an unused thread stays for the next burst of output. */
    static final long KEEP_ALIVE_SECONDS = 2;
    private static final AtomicLong NUMBERS = new AtomicLong();
    private static final ExecutorService SHARED = new ThreadPoolExecutor(0, Integer.MAX_VALUE, KEEP_ALIVE_SECONDS,
            TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "arrow-output-" + NUMBERS.incrementAndGet());
                t.setDaemon(true);
                return t;
            });

    private GuestOutputThreads() {
    }

    /** The JVM's pool. */
    static ExecutorService shared() {
        return SHARED;
    }
}
