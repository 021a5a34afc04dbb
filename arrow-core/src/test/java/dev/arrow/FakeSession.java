package dev.arrow;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.PortForward;
import dev.arrow.internal.BlockingWriterPipe;
import dev.arrow.internal.HostTreeWriter;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.GuestFileReceiver;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.OutputSink;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** The session of {@link FakeLauncher}: keeps count of what arrow-core asked of it. */
class FakeSession implements MicroVmSession {

    final ArrowSpec spec;
    private final OutputSink stdout;
    private final OutputSink stderr;
    private final FakeGuest guest;
    private final boolean gracefulStop;
    private final Path guestRoot;
    private final ExitCopySink exitCopies;
    final List<String> copyRequests = new CopyOnWriteArrayList<>();
    private final BlockingWriterPipe stdinPipe = new BlockingWriterPipe(4096);
    private final Stdin stdin = new Stdin();
    private final CompletableFuture<ArrowOutcome> outcome = new CompletableFuture<>();
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final Thread vcpu;
    final AtomicInteger stopCalls = new AtomicInteger();
    final AtomicInteger killCalls = new AtomicInteger();
    final AtomicInteger closeCalls = new AtomicInteger();
    final List<Integer> signals = new CopyOnWriteArrayList<>();
    volatile Map<PortForward, Integer> hostPorts = Map.of();
    volatile boolean released;
    /** How long after close {@link #released()} completes: 0 completes it in close. */
    volatile long releaseDelayMillis;
    private final CompletableFuture<Void> releasedLater = new CompletableFuture<>();
    volatile boolean stdinClosed;

    FakeSession(ArrowSpec spec, OutputSink stdout, OutputSink stderr, FakeGuest guest, boolean gracefulStop) {
        this(spec, stdout, stderr, guest, gracefulStop, null, ExitCopySink.NONE);
    }

    FakeSession(ArrowSpec spec, OutputSink stdout, OutputSink stderr, FakeGuest guest, boolean gracefulStop, Path guestRoot,
            ExitCopySink exitCopies) {
        this.spec = spec;
        this.guestRoot = guestRoot;
        this.exitCopies = exitCopies;
        this.stdout = stdout;
        this.stderr = stderr;
        this.guest = guest;
        this.gracefulStop = gracefulStop;
        this.vcpu = new Thread(this::run, "fake-vcpu");
        vcpu.setDaemon(true);
    }

    void start() {
        vcpu.start();
    }

    private void run() {
        try {
            ArrowOutcome o = guest.run(new Context());
            sendExitCopies();
            outcome.complete(o);
        } catch (InterruptedException e) {
            outcome.complete(new ArrowOutcome.Destroyed());
        } catch (Exception | AssertionError e) {
            outcome.complete(new ArrowOutcome.GuestCrashed("fake guest threw " + e));
        } finally {
            stdinPipe.source().close();
        }
    }

    /** As init does after the program ended: each copy-out path of the spec, to the exit sink. */
    private void sendExitCopies() {
        for (String path : spec.copyOutOnExit()) {
            GuestFileReceiver receiver = exitCopies.begin(path);
            IOException failure = null;
            try {
                send(path, receiver);
            } catch (IOException e) {
                failure = e;
            }
            exitCopies.end(path, failure);
        }
    }

    /** Serves a copy out of {@link FakeLauncher#guestRoot} while the fake guest runs, as init would. */
    @Override
    public CompletableFuture<Void> copyFromGuest(String guestPath, long maxBytes, GuestFileReceiver receiver) {
        copyRequests.add(guestPath);
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (outcome.isDone()) {
            done.completeExceptionally(new EOFException("the fake guest has ended"));
            return done;
        }
        try {
            send(guestPath, receiver);
            done.complete(null);
        } catch (IOException e) {
            done.completeExceptionally(e);
        }
        return done;
    }

    private void send(String guestPath, GuestFileReceiver receiver) throws IOException {
        Path source = guestRoot.resolve(guestPath.substring(1));
        if (!Files.exists(source, LinkOption.NOFOLLOW_LINKS)) {
            throw new NoSuchFileException(guestPath);
        }
        HostTreeWriter.replay(source, receiver);
    }

    /** Completes the outcome exceptionally, as a broken backend would. */
    void failOutcome(Throwable t) {
        outcome.completeExceptionally(t);
    }

    @Override
    public OutputStream stdin() {
        return stdin;
    }

    @Override
    public CompletableFuture<ArrowOutcome> outcome() {
        return outcome;
    }

    @Override
    public boolean supportsGracefulStop() {
        return gracefulStop;
    }

    @Override
    public void stop() {
        stopCalls.incrementAndGet();
        stopRequested.countDown();
    }

    @Override
    public Map<PortForward, Integer> hostPorts() {
        return hostPorts;
    }

    @Override
    public void signal(int signal) {
        signals.add(signal);
    }

    @Override
    public void kill() {
        killCalls.incrementAndGet();
        terminate();
    }

    private void terminate() {
        if (outcome.complete(new ArrowOutcome.Destroyed())) {
            vcpu.interrupt();
        }
    }

    @Override
    public void close() {
        closeCalls.incrementAndGet();
        terminate();
        vcpu.interrupt();
        try {
            vcpu.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (vcpu.isAlive()) {
            throw new AssertionError("the fake vCPU thread did not stop");
        }
        stdinPipe.source().close();
        if (releaseDelayMillis == 0) {
            released = true;
            releasedLater.complete(null);
        } else {
            CompletableFuture.runAsync(() -> {
                released = true;
                releasedLater.complete(null);
            }, CompletableFuture.delayedExecutor(releaseDelayMillis, java.util.concurrent.TimeUnit.MILLISECONDS));
        }
    }

    @Override
    public CompletableFuture<Void> released() {
        return releasedLater.copy();
    }

    private final class Stdin extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[]{(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (stdinClosed || !stdinPipe.write(b, off, len)) {
                throw new IOException("fake guest stdin is closed");
            }
        }

        @Override
        public void close() {
            stdinClosed = true;
            stdinPipe.closeWriter();
        }
    }

    /** What a fake guest program can do. */
    final class Context {
        ArrowSpec spec() {
            return spec;
        }

        void out(String text) {
            out(text.getBytes(StandardCharsets.UTF_8));
        }

        void out(byte[] bytes) {
            stdout.write(bytes, 0, bytes.length);
        }

        void err(String text) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            stderr.write(bytes, 0, bytes.length);
        }

        InputStream stdin() {
            return stdinPipe.source();
        }

        /** Blocks until arrow-core asks the program to stop. */
        void awaitStop() throws InterruptedException {
            stopRequested.await();
        }

        /** Runs until killed. */
        ArrowOutcome runForever() throws InterruptedException {
            Thread.sleep(Long.MAX_VALUE);
            throw new AssertionError("unreachable");
        }
    }
}
