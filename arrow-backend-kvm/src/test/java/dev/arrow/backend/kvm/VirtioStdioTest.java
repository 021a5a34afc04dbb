package dev.arrow.backend.kvm;

import dev.arrow.GuestOutputStatistics;
import dev.arrow.OutputFrame;
import dev.arrow.internal.BlockingWriterPipe;
import dev.arrow.spi.OutputSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The virtio stdio plumbing of a session with the console's streams faked by pipes (tier 1). */
class VirtioStdioTest {
    final BlockingWriterPipe guestStdout = new BlockingWriterPipe(4096);
    final BlockingWriterPipe guestStderr = new BlockingWriterPipe(4096);
    final Sink stdout = new Sink();
    final Sink stderr = new Sink();
    final ByteArrayOutputStream stdin = new ByteArrayOutputStream();
    final ByteArrayOutputStream control = new ByteArrayOutputStream();
    final List<String> kernelLines = new ArrayList<>();
    final VirtioStdio stdio = new VirtioStdio(guestStdout.source(), stdout, guestStderr.source(), stderr, stdin, control,
            new KernelConsoleLog(kernelLines::add), "test-vm");

    /** Collects what it is given; blocks each write while {@link #blocked} is set. */
    static final class Sink implements OutputSink {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        volatile CountDownLatch blocked;
        final AtomicBoolean writtenAfterClose = new AtomicBoolean();
        volatile boolean closed;

        @Override
        public void write(byte[] b, int offset, int length) {
            CountDownLatch latch = blocked;
            if (latch != null) {
                try {
                    latch.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (closed) {
                writtenAfterClose.set(true);
            }
            synchronized (bytes) {
                bytes.write(b, offset, length);
            }
        }

        String text() {
            synchronized (bytes) {
                return bytes.toString(StandardCharsets.UTF_8);
            }
        }

        int size() {
            synchronized (bytes) {
                return bytes.size();
            }
        }
    }

    @AfterEach
    void release() {
        stdio.close();
    }

    private static void write(BlockingWriterPipe pipe, String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        assertThat(pipe.write(b, 0, b.length)).isTrue();
    }

    @Test
    void eachGuestStreamGoesToItsOwnSinkAndOutputIsDoneOnlyWhenBothEnded() throws Exception {
        stdio.start(null);
        write(guestStdout, "out 1\n");
        write(guestStderr, "err 1\n");
        write(guestStdout, "out 2\n");
        guestStdout.closeWriter();
        Thread.sleep(100);
        assertThat(stdio.outputDone()).as("stderr has not ended").isNotDone();
        write(guestStderr, "err 2\n");
        guestStderr.closeWriter();
        stdio.outputDone().get(10, TimeUnit.SECONDS);
        assertThat(stdout.text()).isEqualTo("out 1\nout 2\n");
        assertThat(stderr.text()).isEqualTo("err 1\nerr 2\n");
    }

    @Test
    void aSinkThatBlocksHoldsBackOnlyItsOwnStream() throws Exception {
        stdout.blocked = new CountDownLatch(1);
        stdio.start(null);
        byte[] mebibyte = new byte[1 << 20];
        Thread writer = new Thread(() -> guestStdout.write(mebibyte, 0, mebibyte.length), "guest-stdout-writer");
        writer.start();
        write(guestStderr, "still flowing\n");
        guestStderr.closeWriter();
        Thread.sleep(300);
        assertThat(stderr.text()).isEqualTo("still flowing\n");
        assertThat(writer.isAlive()).as("the guest's writer waits for the blocked sink").isTrue();
        assertThat(stdout.size()).isLessThanOrEqualTo(16 * 1024);
        stdout.blocked.countDown();
        writer.join(10_000);
        assertThat(writer.isAlive()).isFalse();
        guestStdout.closeWriter();
        stdio.outputDone().get(10, TimeUnit.SECONDS);
        assertThat(stdout.size()).isEqualTo(mebibyte.length);
    }

    @Test
    void gracefulStopSendsOneSignalLineToInit() {
        assertThat(stdio.supportsGracefulStop()).isTrue();
        stdio.requestStop();
        stdio.requestStop();
        assertThat(control.toString(StandardCharsets.US_ASCII)).isEqualTo("signal 15\n");
    }

    @Test
    void everySignalIsOneLineToInit() {
        stdio.signal(10);
        stdio.signal(10);
        stdio.requestStop();
        stdio.signal(64);
        assertThat(control.toString(StandardCharsets.US_ASCII)).isEqualTo("signal 10\nsignal 10\nsignal 15\nsignal 64\n");
        assertThatThrownBy(() -> stdio.signal(65)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void stdinIsThePortStreamAndIsClosedWithTheSession() throws Exception {
        AtomicBoolean closed = new AtomicBoolean();
        OutputStream port = new OutputStream() {
            @Override
            public void write(int b) {
            }

            @Override
            public void close() {
                closed.set(true);
            }
        };
        VirtioStdio s = new VirtioStdio(guestStdout.source(), stdout, guestStderr.source(), stderr, port, control,
                new KernelConsoleLog(kernelLines::add), "test-vm-2");
        assertThat(s.stdin()).isSameAs(port);
        s.close();
        assertThat(closed).isTrue();
        assertThat(s.outputDone()).as("pumps that never started are done").isDone();
    }

    @Test
    void closeStopsThePumpsAndNoSinkIsWrittenAfterwards() throws Exception {
        stdio.start(null);
        write(guestStdout, "before\n");
        Thread.sleep(100);
        stdio.close();
        stdout.closed = true;
        stderr.closed = true;
        assertThat(stdio.outputDone()).isDone();
        byte[] more = "after\n".getBytes(StandardCharsets.UTF_8);
        assertThat(guestStdout.write(more, 0, more.length)).as("the reader is gone: dropped").isFalse();
        Thread.sleep(100);
        assertThat(stdout.writtenAfterClose).isFalse();
        assertThat(stdout.text()).isEqualTo("before\n");
        stdio.requestStop();
        assertThat(control.size()).as("no stop request after close").isZero();
    }

    @Test
    void theSerialConsoleIsTheKernelLogLineByLine() throws Exception {
        OutputStream serial = stdio.serialOutput();
        serial.write("[    0.1] Linux version 6.1\r\n[    0.2] ok\n".getBytes(StandardCharsets.US_ASCII));
        serial.write("partial".getBytes(StandardCharsets.US_ASCII));
        assertThat(kernelLines).containsExactly("[    0.1] Linux version 6.1", "[    0.2] ok");
        stdio.close();
        assertThat(kernelLines).containsExactly("[    0.1] Linux version 6.1", "[    0.2] ok", "partial");
    }

    /** What the VMM did with each stream comes from the console's ports; bare streams have no such counters. */
    @Test
    void onTheConsoleBothStreamsReportTheirCountersAndBareStreamsNone() {
        VirtioStdio onConsole = VirtioStdio.of(VirtioStdio.console(), stdout, stderr, false, "test-vm");
        try {
            assertThat(onConsole.outputStatistics()).containsOnlyKeys(OutputFrame.Stream.STDOUT, OutputFrame.Stream.STDERR)
                    .allSatisfy((stream, c) -> assertThat(c).isEqualTo(new GuestOutputStatistics(0, 0, 0, 0, 0, 0)));
        } finally {
            onConsole.close();
        }
        assertThat(stdio.outputStatistics()).isEmpty();
    }

    /** A pump runs on a pooled thread only while its port has bytes; a quiet program's arrow holds none for its output. */
    @Test
    void onTheConsoleAQuietProgramsStreamsHoldNoThread() throws Exception {
        VirtioStdio onConsole = VirtioStdio.of(VirtioStdio.console(), stdout, stderr, false, "quiet-vm");
        try {
            onConsole.start(null);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (pumpThreads("quiet-vm") > 0 && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            assertThat(pumpThreads("quiet-vm")).as("threads running quiet-vm's pumps").isZero();
            assertThat(onConsole.outputDone()).as("the streams have not ended").isNotDone();
        } finally {
            onConsole.close();
        }
        assertThat(onConsole.outputDone()).as("closing ends both pumps").isDone();
    }

    private static long pumpThreads(String vm) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().startsWith(vm + "-"))
                .count();
    }
}
