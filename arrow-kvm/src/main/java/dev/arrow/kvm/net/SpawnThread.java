package dev.arrow.kvm.net;

import java.io.IOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts child processes from one daemon thread that lives as long as the JVM.
 *
 * <p>A parent-death signal ({@code PR_SET_PDEATHSIG}, here set by {@code setpriv --pdeathsig}) is
 * sent when the <em>thread</em> that forked the child ends, not the process: a passt started from
 * a short-lived thread (an executor's worker, a request thread) would be killed as soon as that
 * thread ends, while its arrow still runs. The JVM forks from the thread that calls
 * {@link ProcessBuilder#start()} (posix_spawn of jspawnhelper, which then executes the program in
 * the same process), so every start goes through this thread, which ends only with the JVM.
 *
 * <p>The thread catches everything a start throws and hands it back to the caller; nothing ends
 * it but the JVM's end.
 */
final class SpawnThread {
    private static final Logger LOG = LoggerFactory.getLogger(SpawnThread.class);
    private static final BlockingQueue<FutureTask<Process>> STARTS = new LinkedBlockingQueue<>();
    private static final Thread THREAD = startThread();

    private SpawnThread() {
    }

    private static Thread startThread() {
        Thread t = new Thread(SpawnThread::serve, "arrow-process-spawner");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void serve() {
        while (true) {
            try {
                STARTS.take().run(); // FutureTask keeps what the start threw for its caller
            } catch (InterruptedException e) {
                LOG.debug("the process spawner thread was interrupted; it goes on (it must outlive every child)");
            } catch (Throwable e) {
                LOG.error("the process spawner thread caught an unexpected error; it goes on", e);
            }
        }
    }

    /** The thread that starts every child (for tests: its children die when it ends). */
    static Thread thread() {
        return THREAD;
    }

    /**
     * Starts {@code builder}'s process on the spawner thread and waits for it to have started.
     * An interrupt of the caller does not abandon a start half-way: the start is waited for, then
     * the interrupt status is restored and the process returned.
     *
     * @throws IOException as {@link ProcessBuilder#start()} does
     */
    static Process start(ProcessBuilder builder) throws IOException {
        FutureTask<Process> task = new FutureTask<>(builder::start);
        STARTS.add(task);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return task.get();
                } catch (InterruptedException e) {
                    interrupted = true; // starting takes milliseconds; a process left behind would leak
                }
            }
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IOException("starting " + builder.command().get(0) + " failed", cause);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
