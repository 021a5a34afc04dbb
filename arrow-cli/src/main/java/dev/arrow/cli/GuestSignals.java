package dev.arrow.cli;

import dev.arrow.ArrowProcess;
import dev.arrow.config.Durations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Passes the signals that end a command (Ctrl-C's SIGINT, SIGTERM, SIGHUP) on to the arrow that
 * {@code arrow run} runs, as docker run does: the first asks the program to stop
 * ({@link ArrowProcess#destroy()}: SIGTERM through the guest's init, the VM stopped when the grace period is
 * over), the second stops the VM at once ({@link ArrowProcess#destroyForcibly()}), a third ends this JVM at
 * once. The command then ends normally, with the program's exit value (143 after SIGTERM).
 *
 * <p>Why handlers ({@code sun.misc.Signal}, in the JDK's {@code jdk.unsupported} module) and not a shutdown hook:
 * a hook runs only when the JVM is already exiting, cannot choose the exit status (System.exit blocks during
 * shutdown), and the JVM ignores a second Ctrl-C while hooks run, so it could not tell "stop" from "stop now".
 * Where a handler cannot be installed (e.g. {@code -Xrs}), the JVM's default stays: it exits, and the arrow,
 * which lives in this JVM, ends with it.
 */
final class GuestSignals implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GuestSignals.class);
    private static final List<String> FORWARDED = List.of("INT", "TERM", "HUP");

    private final PrintStream err;
    private final Duration gracePeriod;
    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
    private ArrowProcess process; // guarded by this
    private int received; // guarded by this
    private String pendingName; // guarded by this: a signal received before the process was attached

    /**
     * @param err         where to say what a signal does
     * @param gracePeriod how long the program has after the first signal (for the message only)
     */
    GuestSignals(PrintStream err, Duration gracePeriod) {
        this.err = err;
        this.gracePeriod = gracePeriod;
    }

    /** Installs the handlers; {@link #close()} puts the previous ones back. */
    GuestSignals install() {
        for (String name : FORWARDED) {
            Signal signal = new Signal(name);
            try {
                previous.put(signal, Signal.handle(signal, s -> received("SIG" + s.getName(), 128 + s.getNumber())));
            } catch (IllegalArgumentException e) {
                LOG.debug("SIG{} stays the JVM's: {}", name, e.getMessage());
            }
        }
        return this;
    }

    /** The process that signals go to from now on; a signal received before is applied now. */
    synchronized void attach(ArrowProcess p) {
        process = p;
        if (pendingName != null) {
            escalate(pendingName);
        }
    }

    /** Whether a signal has arrived since {@link #install()}. */
    synchronized boolean anyReceived() {
        return received > 0;
    }

    /** One signal called {@code name} arrived; {@code haltStatus} is this JVM's status if it must end at once. */
    synchronized void received(String name, int haltStatus) {
        received++;
        if (received >= 3) {
            err.println("arrow: " + name + " a third time: ending at once");
            err.flush();
            Runtime.getRuntime().halt(haltStatus);
        }
        if (process == null) {
            pendingName = name;
            return;
        }
        escalate(name);
    }

    private void escalate(String name) {
        if (received == 1) {
            if (process.supportsNormalTermination()) {
                err.println("arrow: " + name + ": asking the program to stop (SIGTERM); the VM is stopped in "
                        + Durations.format(gracePeriod) + " unless it ends; again to stop it now");
            } else {
                err.println("arrow: " + name + ": stopping the VM (this guest cannot be asked to stop)");
            }
            process.destroy();
        } else {
            err.println("arrow: " + name + " again: stopping the VM now");
            process.destroyForcibly();
        }
    }

    @Override
    public void close() {
        previous.forEach(Signal::handle);
        previous.clear();
    }
}
