package dev.arrow.kvm.vmm;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a VM build has made so far, closed in reverse order of creation, except guest memory (RAM
 * and the read-only images), which is closed after everything else: after the VM that maps it. A
 * failed build closes them all; a running VM closes them on close().
 */
final class BuildResources {
    private static final Logger LOG = LoggerFactory.getLogger(BuildResources.class);
    private final Deque<AutoCloseable> stack = new ArrayDeque<>();
    private final Deque<AutoCloseable> last = new ArrayDeque<>();

    synchronized <T extends AutoCloseable> T add(T resource) {
        stack.push(resource);
        return resource;
    }

    /**
     * Registers guest memory: closed after all resources {@link #add added}, in reverse order of
     * registration among themselves.
     */
    synchronized <T extends AutoCloseable> T addClosedLast(T resource) {
        last.push(resource);
        return resource;
    }

    /**
     * Takes {@code resource} out without closing it: from here on its caller owns it.
     *
     * @return false if it was not here (closed already, or never added)
     */
    synchronized boolean handOver(AutoCloseable resource) {
        return stack.removeFirstOccurrence(resource);
    }

    /** Closes everything; failures are logged and, when {@code primary} is given, attached to it. */
    synchronized void closeAll(Throwable primary) {
        while (!stack.isEmpty()) {
            close(stack.pop(), primary);
        }
        while (!last.isEmpty()) {
            close(last.pop(), primary);
        }
    }

    void closeAll() {
        closeAll(null);
    }

    private static void close(AutoCloseable c, Throwable primary) {
        try {
            c.close();
        } catch (Exception | Error e) {
            if (primary != null) {
                primary.addSuppressed(e);
            } else {
                LOG.warn("closing {} failed", c, e);
            }
        }
    }
}
