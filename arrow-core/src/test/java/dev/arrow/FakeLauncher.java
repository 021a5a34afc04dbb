package dev.arrow;

import dev.arrow.config.ArrowSpec;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.OutputSink;

import dev.arrow.config.PortForward;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A backend for tests: each launch runs a scripted {@link FakeGuest} on its own thread (its "vCPU"),
 * writing to the sinks and reading stdin like a guest program would.
 */
final class FakeLauncher implements ArrowLauncher {

    private final FakeGuest guest;
    final List<FakeSession> sessions = new CopyOnWriteArrayList<>();
    volatile boolean gracefulStop = true;
    volatile RuntimeException failure;
    /** What the sessions report as the forwards' host ports. */
    volatile Map<PortForward, Integer> hostPorts = Map.of();
    /** The host directory that plays the guest's root file system for copies out of it; null: none. */
    volatile Path guestRoot;
    /** How long after its close a session reports itself released, as a backend that releases on its own thread. */
    volatile long releaseDelayMillis;

    FakeLauncher(FakeGuest guest) {
        this.guest = guest;
    }

    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr) {
        return launch(spec, stdout, stderr, BootEvents.NONE, ExitCopySink.NONE);
    }

    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents events,
            ExitCopySink exitCopies) {
        if (failure != null) {
            throw failure;
        }
        FakeSession session = new FakeSession(spec, stdout, stderr, guest, gracefulStop, guestRoot, exitCopies);
        session.hostPorts = hostPorts;
        session.releaseDelayMillis = releaseDelayMillis;
        sessions.add(session);
        session.start();
        return session;
    }

    FakeSession only() {
        if (sessions.size() != 1) {
            throw new AssertionError(sessions.size() + " sessions launched, expected 1");
        }
        return sessions.get(0);
    }
}
