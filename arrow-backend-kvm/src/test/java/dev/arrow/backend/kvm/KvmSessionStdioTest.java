package dev.arrow.backend.kvm;

import dev.arrow.ArrowOutcome;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmOutcome;
import dev.arrow.spi.BootEvents;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How a session uses its stdio: outcome ordering, stdin, graceful stop, close (tier 1, no VM). */
class KvmSessionStdioTest {

    /** Records what the session asks of it. */
    static final class FakeStdio implements GuestStdio {
        final CompletableFuture<Void> outputDone = new CompletableFuture<>();
        final OutputStream stdin = new ByteArrayOutputStream();
        final AtomicInteger stopRequests = new AtomicInteger();
        final AtomicInteger appStarted = new AtomicInteger();
        final List<Integer> signals = new CopyOnWriteArrayList<>();
        volatile boolean closed;

        @Override
        public OutputStream serialOutput() {
            return OutputStream.nullOutputStream();
        }

        @Override
        public void start(RunningVm vm) {
        }

        @Override
        public void appStarted() {
            appStarted.incrementAndGet();
        }

        @Override
        public OutputStream stdin() {
            return stdin;
        }

        @Override
        public CompletableFuture<Void> outputDone() {
            return outputDone;
        }

        @Override
        public boolean supportsGracefulStop() {
            return true;
        }

        @Override
        public void requestStop() {
            stopRequests.incrementAndGet();
        }

        @Override
        public void signal(int signal) {
            signals.add(signal);
        }

        @Override
        public void close() {
            closed = true;
            outputDone.complete(null);
        }
    }

    final FakeStdio stdio = new FakeStdio();
    final KvmSession session = new KvmSession(stdio, BootEvents.NONE, 64L << 20);

    @Test
    void theOutcomeWaitsUntilTheLastOutputReachedTheSinks() {
        CompletableFuture<VmOutcome> exit = new CompletableFuture<>();
        session.whenEnded(exit);
        session.onStatusLine("arrow-status exited 3");
        exit.complete(new VmOutcome.Reset());
        assertThat(session.outcome()).as("output still on its way").isNotDone();
        stdio.outputDone.complete(null);
        assertThat(session.outcome()).isCompletedWithValue(new ArrowOutcome.Exited(3));
    }

    @Test
    void stdinAndGracefulStopGoThroughTheStdioUntilTheVmEnded() {
        assertThat(session.stdin()).isSameAs(stdio.stdin);
        assertThat(session.supportsGracefulStop()).isTrue();
        CompletableFuture<VmOutcome> exit = new CompletableFuture<>();
        session.whenEnded(exit);
        session.stop();
        assertThat(stdio.stopRequests).hasValue(1);
        exit.complete(new VmOutcome.Reset());
        session.stop();
        assertThat(stdio.stopRequests).as("no stop request once the VM has ended").hasValue(1);
    }

    @Test
    void signalsGoThroughTheStdioUntilTheVmEnded() {
        CompletableFuture<VmOutcome> exit = new CompletableFuture<>();
        session.whenEnded(exit);
        session.signal(10);
        session.signal(1);
        assertThat(stdio.signals).containsExactly(10, 1);
        exit.complete(new VmOutcome.Reset());
        session.signal(15);
        assertThat(stdio.signals).as("no signal once the VM has ended").containsExactly(10, 1);
    }

    @Test
    void initsAppExecMarkReachesTheStdio() {
        session.onStatusLine("arrow-mark init-start 100");
        assertThat(stdio.appStarted).hasValue(0);
        session.onStatusLine("arrow-mark app-exec 200");
        assertThat(stdio.appStarted).hasValue(1);
    }

    @Test
    void closeReleasesTheStdioAndReportsDestroyed() {
        session.close();
        assertThat(stdio.closed).isTrue();
        assertThat(session.released()).as("nothing left to release without a VM").isCompleted();
        assertThat(session.outcome()).isCompletedWithValue(new ArrowOutcome.Destroyed());
    }

    @Test
    void theSerialConsoleSessionHasNoGracefulStop() {
        KvmSession serial = new KvmSession((b, o, l) -> { });
        assertThat(serial.supportsGracefulStop()).isFalse();
        assertThatThrownBy(() -> serial.signal(10)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("serial console");
        serial.close();
    }

    @Test
    void initsHaltMarkEndsTheVmAtOnceAndTheProgramsStatusIsTheOutcome() {
        List<VmOutcome> ends = new CopyOnWriteArrayList<>();
        session.endVmWith(ends::add);
        CompletableFuture<VmOutcome> exit = new CompletableFuture<>();
        session.whenEnded(exit);
        session.onStatusLine("arrow-mark app-exit 300");
        session.onStatusLine("arrow-status exited 7");
        assertThat(ends).as("only the halt mark ends the VM").isEmpty();
        session.onStatusLine("arrow-mark halt 400");
        assertThat(ends).containsExactly(new VmOutcome.Ended());
        exit.complete(ends.get(0));
        stdio.outputDone.complete(null);
        assertThat(session.outcome()).isCompletedWithValue(new ArrowOutcome.Exited(7));
    }
}
