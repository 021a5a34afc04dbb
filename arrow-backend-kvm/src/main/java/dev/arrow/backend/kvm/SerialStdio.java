package dev.arrow.backend.kvm;

import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.spi.OutputSink;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The app's stdio over the guest's serial console (spec {@code stdio serial}): every byte the guest
 * writes to ttyS0 goes to the stdout sink (stdout and stderr mixed, the kernel's messages too);
 * stdin bytes are offered to the UART's receive FIFO once the app runs. A serial console has no
 * end-of-file and no way to signal the app.
 */
final class SerialStdio implements GuestStdio {
    private final OutputSink stdout;
    private final SerialInput stdin = new SerialInput();
    /** Opens when the app runs: input offered earlier would be lost while the kernel sets up the UART. */
    private final CountDownLatch appStarted = new CountDownLatch(1);
    private volatile RunningVm vm;
    private volatile boolean closed;

    SerialStdio(OutputSink stdout) {
        this.stdout = stdout;
    }

    @Override
    public OutputStream serialOutput() {
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

    @Override
    public void start(RunningVm runningVm) {
        this.vm = runningVm;
    }

    @Override
    public void appStarted() {
        appStarted.countDown();
    }

    @Override
    public OutputStream stdin() {
        return stdin;
    }

    /** Serial output is written on the vCPU thread as it comes: all of it is out when the guest has ended. */
    @Override
    public CompletableFuture<Void> outputDone() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public boolean supportsGracefulStop() {
        return false;
    }

    @Override
    public void requestStop() {
        // not supported, see supportsGracefulStop()
    }

    @Override
    public void signal(int signal) {
        throw new UnsupportedOperationException("the serial console has no control port to init, so signals cannot"
                + " be sent to the program; the virtio console (the default) has one");
    }

    @Override
    public void close() {
        closed = true;
    }

    private boolean ended() {
        RunningVm running = vm;
        return closed || running == null || !running.isAlive();
    }

    /** Bytes for the guest's console input, offered to the UART as its FIFO drains. */
    private final class SerialInput extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            awaitApp();
            while (len > 0) {
                if (ended()) {
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

        private void awaitApp() throws IOException {
            try {
                while (!appStarted.await(50, TimeUnit.MILLISECONDS)) {
                    if (closed || (vm != null && !vm.isAlive())) {
                        throw new IOException("the arrow's guest has ended: its stdin is closed");
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for the app to start");
            }
        }

        /** A serial console has no end-of-file; the program sees no more input. */
        @Override
        public void close() {
            closed = true;
        }
    }
}
