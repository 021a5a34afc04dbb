package dev.arrow.backend.kvm;

import dev.arrow.GuestOutputStatistics;
import dev.arrow.OutputFrame;
import dev.arrow.image.init.InitProtocol;
import dev.arrow.kvm.virtio.console.ConsolePort;
import dev.arrow.kvm.virtio.console.GuestOutputCounters;
import dev.arrow.kvm.virtio.console.VirtioConsole;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.GuestFileReceiver;
import dev.arrow.spi.OutputSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The app's stdio over the virtio console (spec {@code stdio virtio}, see {@code docs/virtio.md}):
 * port {@value InitProtocol#STDOUT_PORT_NAME} goes to the stdout sink and
 * {@value InitProtocol#STDERR_PORT_NAME} to the stderr sink, each moved by a pump of its own (so a
 * sink that blocks slows down only the app's writes to that stream: back-pressure through the port's
 * bounded buffer and the guest's ring). A pump runs on one of the JVM's {@link GuestOutputThreads} only while its
 * port has bytes to deliver (a quiet program's arrow holds no thread for its output); the stdin stream is port
 * {@value InitProtocol#STDIN_PORT_NAME}, whose close is end-of-file in the guest; a graceful stop is the line {@code signal 15} on port
 * {@value InitProtocol#CONTROL_PORT_NAME}, which init reads; copies of guest files come on
 * {@value InitProtocol#FILES_PORT_NAME} ({@link GuestFileCopies}, whose thread starts only when there is something
 * to read). The serial console carries only the kernel's log ({@link KernelConsoleLog}).
 *
 * <p>{@link #outputDone()} completes when both guest streams have ended (the guest closed the port
 * or stopped, and every byte was handed to its sink) and the copies of files were settled, or the session was closed.
 */
final class VirtioStdio implements GuestStdio {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioStdio.class);
    /** The control line that makes init send SIGTERM to the app. */
    static final String STOP_COMMAND = InitProtocol.signalCommand(15);
    /** The ports of {@link #console()}, in id order. */
    static final int STDIN_PORT = 0;
    static final int STDOUT_PORT = 1;
    static final int STDERR_PORT = 2;
    static final int CONTROL_PORT = 3;
    static final int FILES_PORT = 4;
    private static final int CHUNK = 16 * 1024;

    private final String name;
    private final Pump stdoutPump;
    private final Pump stderrPump;
    private final OutputStream stdin;
    private final OutputStream control;
    private final OutputStream serial;
    private final GuestFileCopies files;
    private final CompletableFuture<Void> outputDone;
    private final AtomicBoolean stopSent = new AtomicBoolean();
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean closed;

    /** A console with Arrow's layout: the ports init looks for, stdin, stdout, stderr, control and files (ids 0..4). */
    static VirtioConsole console() {
        return VirtioConsole.builder()
                .port(InitProtocol.STDIN_PORT_NAME, ConsolePort.Direction.TO_GUEST)
                .port(InitProtocol.STDOUT_PORT_NAME, ConsolePort.Direction.FROM_GUEST)
                .port(InitProtocol.STDERR_PORT_NAME, ConsolePort.Direction.FROM_GUEST)
                .port(InitProtocol.CONTROL_PORT_NAME, ConsolePort.Direction.TO_GUEST)
                .port(InitProtocol.FILES_PORT_NAME, ConsolePort.Direction.FROM_GUEST)
                .build();
    }

    /** The app's stdio on {@code console}, made by {@link #console()}, with no copy-out paths declared. */
    static VirtioStdio of(VirtioConsole console, OutputSink stdout, OutputSink stderr, boolean debugConsole, String name) {
        return of(console, stdout, stderr, debugConsole, name, List.of(), ExitCopySink.NONE, 0);
    }

    /**
     * The app's stdio on {@code console}, made by {@link #console()}, and copies of guest files: {@code declared} are the
     * spec's copy-out paths, sent to {@code exitCopies} after the app ended within {@code exitBytes} of file content.
     */
    static VirtioStdio of(VirtioConsole console, OutputSink stdout, OutputSink stderr, boolean debugConsole, String name,
            List<String> declared, ExitCopySink exitCopies, long exitBytes) {
        if (console.ports().size() <= FILES_PORT
                || !console.port(CONTROL_PORT).name().equals(InitProtocol.CONTROL_PORT_NAME)
                || !console.port(FILES_PORT).name().equals(InitProtocol.FILES_PORT_NAME)) {
            throw new IllegalArgumentException("the console lacks the " + InitProtocol.CONTROL_PORT_NAME + " or "
                    + InitProtocol.FILES_PORT_NAME + " port: build it with VirtioStdio.console()");
        }
        OutputStream control = console.port(CONTROL_PORT).toGuest();
        ConsolePort filesPort = console.port(FILES_PORT);
        GuestFileCopies files = new GuestFileCopies(filesPort.fromGuest(), filesPort.fromGuestReadable(),
                line -> sendLine(control, line), declared, exitCopies, exitBytes, name);
        return new VirtioStdio(console.port(STDOUT_PORT), stdout, console.port(STDERR_PORT), stderr,
                console.port(STDIN_PORT).toGuest(), control, new KernelConsoleLog(debugConsole, name + ": "), name, files);
    }

    /**
     * @param fromStdout the guest's stdout, ending when the guest is done with it
     * @param toStdin    the guest's stdin; closing it is end-of-file
     * @param control    lines for the guest's init
     * @param serial     where the serial console's bytes go
     * @param name       prefix of the thread names
     */
    VirtioStdio(InputStream fromStdout, OutputSink stdout, InputStream fromStderr, OutputSink stderr,
                OutputStream toStdin, OutputStream control, OutputStream serial, String name) {
        this(fromStdout, stdout, fromStderr, stderr, toStdin, control, serial, name, null);
    }

    /** @param files copies of guest files; null: none */
    VirtioStdio(InputStream fromStdout, OutputSink stdout, InputStream fromStderr, OutputSink stderr,
                OutputStream toStdin, OutputStream control, OutputStream serial, String name, GuestFileCopies files) {
        this(fromStdout, null, stdout, fromStderr, null, stderr, toStdin, control, serial, name, files);
    }

    /** On the console's ports, whose counters {@link #outputStatistics()} reports. */
    private VirtioStdio(ConsolePort stdoutPort, OutputSink stdout, ConsolePort stderrPort, OutputSink stderr,
                        OutputStream toStdin, OutputStream control, OutputStream serial, String name, GuestFileCopies files) {
        this(stdoutPort.fromGuest(), stdoutPort, stdout, stderrPort.fromGuest(), stderrPort, stderr, toStdin, control, serial,
                name, files);
    }

    /**
     * @param stdoutPort where {@code fromStdout} comes from, for its counters; null: a bare stream (no counters)
     * @param stderrPort the same for {@code fromStderr}
     */
    private VirtioStdio(InputStream fromStdout, ConsolePort stdoutPort, OutputSink stdout, InputStream fromStderr,
                        ConsolePort stderrPort, OutputSink stderr, OutputStream toStdin, OutputStream control,
                        OutputStream serial, String name, GuestFileCopies files) {
        this.name = name;
        this.files = files;
        this.stdoutPump = new Pump(fromStdout, stdoutPort, stdout, name + "-stdout");
        this.stderrPump = new Pump(fromStderr, stderrPort, stderr, name + "-stderr");
        this.stdin = toStdin;
        this.control = control;
        this.serial = serial;
        this.outputDone = files == null ? CompletableFuture.allOf(stdoutPump.done, stderrPump.done)
                : CompletableFuture.allOf(stdoutPump.done, stderrPump.done, files.done());
    }

    @Override
    public OutputStream serialOutput() {
        return serial;
    }

    @Override
    public void start(RunningVm vm) {
        if (started.compareAndSet(false, true)) {
            stdoutPump.start();
            stderrPump.start();
            if (files != null) {
                files.start();
            }
        }
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

    /** The console ports' counters and what each pump wrote to its sink; empty on bare streams. */
    @Override
    public Map<OutputFrame.Stream, GuestOutputStatistics> outputStatistics() {
        Map<OutputFrame.Stream, GuestOutputStatistics> streams = new EnumMap<>(OutputFrame.Stream.class);
        stdoutPump.statistics().ifPresent(s -> streams.put(OutputFrame.Stream.STDOUT, s));
        stderrPump.statistics().ifPresent(s -> streams.put(OutputFrame.Stream.STDERR, s));
        return streams;
    }

    /** Sends {@link #STOP_COMMAND} to init once; the port's buffer takes it without blocking. */
    @Override
    public void requestStop() {
        if (closed || !stopSent.compareAndSet(false, true)) {
            return;
        }
        sendControl(STOP_COMMAND);
    }

    /** Sends init's {@link InitProtocol#signalCommand signal command}, every time it is called. */
    @Override
    public void signal(int signal) {
        String command = InitProtocol.signalCommand(signal);
        if (!closed) {
            sendControl(command);
        }
    }

    /** Asks init for a copy of {@code guestPath}; see {@link dev.arrow.spi.MicroVmSession#copyFromGuest}. */
    @Override
    public CompletableFuture<Void> copyFromGuest(String guestPath, long maxBytes, GuestFileReceiver receiver) {
        if (files == null) {
            return GuestStdio.super.copyFromGuest(guestPath, maxBytes, receiver);
        }
        if (closed) {
            return CompletableFuture.failedFuture(new EOFException(name + ": the session is closed"));
        }
        return files.copy(guestPath, maxBytes, receiver);
    }

    /** Writes one whole control line (lines from several threads do not interleave). */
    private void sendControl(String line) {
        try {
            sendLine(control, line);
        } catch (IOException e) {
            LOG.debug("{}: \"{}\" did not reach the guest (it has ended): {}", name, line.strip(), e.toString());
        }
    }

    private static void sendLine(OutputStream control, String line) throws IOException {
        synchronized (control) {
            control.write(line.getBytes(StandardCharsets.UTF_8));
            control.flush();
        }
    }

    /**
     * Writes {@code bytes} to init's control port (a launch message or command lines); blocks while the
     * port's buffer is full, that is until the guest has read enough of it.
     *
     * @throws IOException if the guest has ended or the session is closed
     */
    void sendControl(byte[] bytes) throws IOException {
        if (closed) {
            throw new IOException(name + ": the session is closed");
        }
        control.write(bytes);
        control.flush();
    }

    /**
     * Stops the pumps (closing the guest streams they read; bytes not yet delivered are dropped),
     * waits briefly for them and closes stdin and the control stream. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Pump p : List.of(stdoutPump, stderrPump)) {
            closeQuietly(p.source);
        }
        for (Pump p : List.of(stdoutPump, stderrPump)) {
            p.join();
        }
        if (files != null) {
            files.close();
        }
        closeQuietly(stdin);
        closeQuietly(control);
        closeQuietly(serial);
    }

    private void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            LOG.debug("{}: closing a console stream failed: {}", name, e.toString());
        }
    }

    /**
     * Moves one guest stream into its sink. On a console port it runs on a {@link GuestOutputThreads} thread while the
     * port has something to read and leaves when it is empty, to come back when the port calls it
     * ({@link ConsolePort#callWhenReadable}); one run at a time, so the bytes keep their order. A bare stream (tests)
     * keeps its thread until the stream ends.
     */
    private final class Pump {
        private static final long JOIN_MILLIS = 5_000;
        final InputStream source;
        /** Where {@link #source} comes from; null for a bare stream. */
        private final ConsolePort port;
        final OutputSink sink;
        /** The stream's name in logs, and its thread's while it runs ("arrow-kvm3-stdout"). */
        private final String pumpName;
        private final byte[] chunk = new byte[CHUNK];
        final CompletableFuture<Void> done = new CompletableFuture<>();
        /** The thread of the current run; null between runs. */
        private volatile Thread runner;
        /** Bytes written to the sink (only the current run writes it). */
        private volatile long delivered;

        Pump(InputStream source, ConsolePort port, OutputSink sink, String pumpName) {
            this.source = source;
            this.port = port;
            this.sink = sink;
            this.pumpName = pumpName;
        }

        /** The port's counters and what this pump delivered; empty for a bare stream. */
        Optional<GuestOutputStatistics> statistics() {
            if (port == null) {
                return Optional.empty();
            }
            long written = delivered; // before the counters: never more than the port says it handed on
            GuestOutputCounters c = port.outputCounters();
            return Optional.of(new GuestOutputStatistics(c.taken(), c.salvaged(), c.dropped(), c.read(), c.waiting(),
                    written));
        }

        void start() {
            GuestOutputThreads.shared().execute(this::run);
        }

        /** One run: delivers what the stream has, until it is empty (then asks to be called again) or ends. */
        private void run() {
            Thread thread = Thread.currentThread();
            String poolName = thread.getName();
            thread.setName(pumpName);
            runner = thread;
            boolean ended = true;
            try {
                int n;
                while (true) {
                    if (port != null && port.callWhenReadable(this::start)) {
                        ended = false; // called again once there is something to read: this run's last step
                        break;
                    }
                    n = source.read(chunk, 0, chunk.length); // does not block on a port: there is something to read
                    if (n < 0) {
                        break;
                    }
                    if (closed) {
                        LOG.warn("{}: the session was closed; {} bytes of guest output read but not delivered are dropped",
                                pumpName, n);
                        break;
                    }
                    sink.write(chunk, 0, n);
                    delivered += n;
                }
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("{}: reading the guest's output failed; the rest of it is lost", pumpName, e);
                }
            } catch (RuntimeException e) {
                LOG.error("{}: delivering the guest's output failed; the rest of it is lost", pumpName, e);
            } finally {
                runner = null;
                thread.setName(poolName);
                if (ended) {
                    done.complete(null);
                }
            }
        }

        /** Waits (bounded) until the stream has ended and been delivered or dropped; at once if never started. */
        void join() {
            if (Thread.currentThread() == runner || !started.get()) {
                done.complete(null);
                return;
            }
            try {
                done.get(JOIN_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                LOG.warn("{} did not stop within {} ms (a sink blocks?)", pumpName, JOIN_MILLIS);
            }
        }
    }
}
