package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SpawnThreadTest {

    /** A sleeper that says "ready" once its death signal is set (setpriv sets it before it executes sh). */
    static ProcessBuilder sleeperWithDeathSignal() {
        return new ProcessBuilder("setpriv", "--pdeathsig", "KILL", "--", "/bin/sh", "-c", "echo ready; exec sleep 60");
    }

    /** Starts {@code builder} with {@code starter} and waits for the child's "ready". */
    static Process startReady(StartAction starter) throws IOException {
        Process p = starter.start();
        byte[] ready = p.getInputStream().readNBytes(6);
        assertThat(new String(ready, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("ready\n");
        return p;
    }

    /** Runs {@code start} on a thread of its own and returns the process once that thread has ended. */
    static Process startOnAThreadThatEnds(StartAction start) throws Exception {
        AtomicReference<Process> process = new AtomicReference<>();
        AtomicReference<Exception> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                process.set(start.start());
            } catch (Exception e) {
                failure.set(e);
            }
        }, "short-lived");
        t.start();
        t.join();
        if (failure.get() != null) {
            throw failure.get();
        }
        return process.get();
    }

    interface StartAction {
        Process start() throws IOException;
    }

    /**
     * The premise: Linux sends the parent-death signal when the starting thread ends, the JVM alive
     * (once the child has set it: the thread waits for the child's "ready").
     */
    @Test
    void theKernelKillsAChildWithADeathSignalWhenTheThreadThatStartedItEnds() throws Exception {
        Process p = startOnAThreadThatEnds(() -> startReady(() -> sleeperWithDeathSignal().start()));
        try {
            assertThat(p.waitFor(5, TimeUnit.SECONDS)).as("the child ended with its starting thread").isTrue();
            assertThat(p.exitValue()).as("killed by SIGKILL").isEqualTo(128 + 9);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void aChildStartedThroughTheSpawnThreadOutlivesTheThreadThatAskedForIt() throws Exception {
        Process p = startOnAThreadThatEnds(() -> startReady(() -> SpawnThread.start(sleeperWithDeathSignal())));
        try {
            assertThat(p.waitFor(1, TimeUnit.SECONDS)).as("the child ended").isFalse();
            assertThat(p.isAlive()).isTrue();
        } finally {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aFailedStartReachesTheCallerAndTheThreadGoesOn() throws Exception {
        Thread spawner = SpawnThread.thread();
        assertThatThrownBy(() -> SpawnThread.start(new ProcessBuilder("/nonexistent/program")))
                .isInstanceOf(IOException.class).hasMessageContaining("/nonexistent/program");
        assertThat(SpawnThread.thread()).isSameAs(spawner);
        assertThat(spawner.isAlive()).isTrue();
        Process p = SpawnThread.start(new ProcessBuilder("true"));
        assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
    }

    @Test
    void anInterruptedCallerStillGetsItsProcessAndKeepsItsInterrupt() throws Exception {
        Thread.currentThread().interrupt();
        Process p;
        try {
            p = SpawnThread.start(new ProcessBuilder("true"));
        } finally {
            assertThat(Thread.interrupted()).as("the interrupt status, restored (and cleared here)").isTrue();
        }
        assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void theSpawnThreadIsADaemonThatNeverEndsTheJvmsLife() {
        assertThat(SpawnThread.thread().isDaemon()).isTrue();
        assertThat(SpawnThread.thread().getName()).isEqualTo("arrow-process-spawner");
    }
}
