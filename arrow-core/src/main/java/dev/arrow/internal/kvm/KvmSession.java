package dev.arrow.internal.kvm;

import dev.arrow.ArrowOutcome;
import dev.arrow.image.init.InitStatus;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmOutcome;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.OutputSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * One arrow running on our VMM, as {@link dev.arrow.ArrowProcess} sees it. The guest's console
 * (the serial port, until the virtio console is wired) carries the app's stdin and output; init's
 * status lines decide the outcome. Owns the {@link RunningVm} and releases it on close.
 */
final class KvmSession implements MicroVmSession {
    private static final Logger LOG = LoggerFactory.getLogger(KvmSession.class);

    private final OutputSink stdout;
    private final CompletableFuture<ArrowOutcome> outcome = new CompletableFuture<>();
    private final AtomicReference<InitStatus> finalStatus = new AtomicReference<>();
    private final List<InitStatus.Mark> marks = new ArrayList<>();
    private final SerialInput stdin = new SerialInput();
    private volatile RunningVm vm;

    KvmSession(OutputSink stdout) {
        this.stdout = stdout;
    }

    /** Where the VMM writes the guest's serial output. */
    OutputStream serialOutput() {
        return new OutputStream() {
            @Override
            public void write(int b) {
                stdout.write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                stdout.write(b, off, len);
            }
        };
    }

    /** Called by the VMM for every line init writes on the status port. */
    void onStatusLine(String line) {
        Optional<InitStatus> parsed = InitStatus.parse(line);
        if (parsed.isEmpty()) {
            LOG.debug("ignoring a malformed status line from the guest: {}", line);
            return;
        }
        InitStatus status = parsed.get();
        if (status instanceof InitStatus.Mark mark) {
            synchronized (marks) {
                marks.add(mark);
            }
            LOG.debug("guest mark {} at {} us", mark.name(), mark.uptimeNanos() / 1000);
        } else if (status.isFinal()) {
            finalStatus.compareAndSet(null, status);
        }
    }

    void attach(RunningVm runningVm) {
        this.vm = runningVm;
        runningVm.onExit().whenComplete((vmOutcome, error) ->
                outcome.complete(error != null
                        ? new ArrowOutcome.GuestCrashed("the VMM failed: " + error)
                        : outcomeOf(finalStatus.get(), vmOutcome)));
    }

    /** The arrow's outcome from init's final status (if it sent one) and how the VM ended. */
    static ArrowOutcome outcomeOf(InitStatus status, VmOutcome vmOutcome) {
        if (status instanceof InitStatus.Exited e) {
            return new ArrowOutcome.Exited(e.code());
        }
        if (status instanceof InitStatus.Signaled s) {
            return new ArrowOutcome.Signaled(s.signal());
        }
        if (status instanceof InitStatus.StartFailed f) {
            return new ArrowOutcome.StartFailed(startFailure(f.kind()), f.message());
        }
        if (vmOutcome instanceof VmOutcome.Stopped) {
            return new ArrowOutcome.Destroyed();
        }
        return new ArrowOutcome.GuestCrashed(vmOutcome.describe()
                + " before init reported the program's status (run with debugConsole() to see the kernel log)");
    }

    private static ArrowOutcome.StartFailed.Kind startFailure(InitStatus.StartFailure kind) {
        return switch (kind) {
            case NOT_FOUND -> ArrowOutcome.StartFailed.Kind.NOT_FOUND;
            case NOT_EXECUTABLE -> ArrowOutcome.StartFailed.Kind.NOT_EXECUTABLE;
            case EXEC_FORMAT -> ArrowOutcome.StartFailed.Kind.EXEC_FORMAT;
            case OTHER -> ArrowOutcome.StartFailed.Kind.OTHER;
        };
    }

    /** The guest's boot telemetry marks received so far, in arrival order. */
    List<InitStatus.Mark> marks() {
        synchronized (marks) {
            return List.copyOf(marks);
        }
    }

    @Override
    public OutputStream stdin() {
        return stdin;
    }

    @Override
    public CompletableFuture<ArrowOutcome> outcome() {
        return outcome;
    }

    /** No host-to-init control channel exists yet: destroy() powers the guest off. */
    @Override
    public boolean supportsGracefulStop() {
        return false;
    }

    @Override
    public void stop() {
        // not supported, see supportsGracefulStop()
    }

    @Override
    public void kill() {
        RunningVm running = vm;
        if (running != null) {
            running.stop();
        }
    }

    @Override
    public void close() {
        RunningVm running = vm;
        if (running != null) {
            running.close();
        }
        outcome.complete(new ArrowOutcome.Destroyed());
        stdin.closed = true;
    }

    /** Bytes for the guest's console input, offered to the UART as its FIFO drains. */
    private final class SerialInput extends OutputStream {
        volatile boolean closed;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                if (closed || outcome.isDone()) {
                    throw new IOException("the arrow's guest has ended: its stdin is closed");
                }
                int taken = vm.writeSerialInput(b, off, len);
                off += taken;
                len -= taken;
                if (taken == 0) {
                    LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
                }
            }
        }

        /** A serial console has no end-of-file; the program sees no more input. */
        @Override
        public void close() {
            closed = true;
        }
    }
}
