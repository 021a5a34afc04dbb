package dev.arrow.junit;

import dev.arrow.ArrowOutcome;
import dev.arrow.TemplatePoint;
import dev.arrow.config.ArrowSpec;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.MicroVmTemplate;
import dev.arrow.spi.OutputSink;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend for tier-1 tests of the extension: each arrow (booted or cloned) prints the backend's output on stdout
 * as it starts and then runs until it is stopped. Counts what it was asked to do; thread-safe.
 */
final class FakeBackend implements ArrowLauncher {

    private static final Path BINARY = createBinary();

    private final String output;
    final AtomicInteger boots = new AtomicInteger();
    final AtomicInteger templates = new AtomicInteger();
    final AtomicInteger closedTemplates = new AtomicInteger();
    final AtomicInteger clones = new AtomicInteger();
    /** Sessions whose release completed: each completes {@link #RELEASE_DELAY_MS} after its close, off the closer. */
    final AtomicInteger released = new AtomicInteger();
    static final long RELEASE_DELAY_MS = 200;
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger mostRunning = new AtomicInteger();

    /** A backend whose arrows print {@code output} (lines ending in {@code \n}) as they start. */
    FakeBackend(String output) {
        this.output = output;
    }

    /** A file for {@code Arrow.of}: the fake boots nothing, but arrow-core checks that the binary exists. */
    static Path binary() {
        return BINARY;
    }

    private static Path createBinary() {
        try {
            Path binary = Files.createTempFile("fake-arrow", "");
            binary.toFile().deleteOnExit();
            return Files.write(binary, new byte[] {0x7f, 'E', 'L', 'F'});
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Arrows running now, booted or cloned. */
    int running() {
        return running.get();
    }

    /** The most arrows that ran at once. */
    int mostRunning() {
        return mostRunning.get();
    }

    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr) {
        boots.incrementAndGet();
        return new Session(stdout);
    }

    @Override
    public MicroVmTemplate template(ArrowSpec spec, TemplatePoint point, OutputSink stdout, OutputSink stderr,
            BootEvents events) {
        templates.incrementAndGet();
        return new MicroVmTemplate() {
            @Override
            public MicroVmSession startClone(ArrowSpec cloneSpec, OutputSink out, OutputSink err, BootEvents ev) {
                clones.incrementAndGet();
                return new Session(out);
            }

            @Override
            public void close() {
                closedTemplates.incrementAndGet();
            }
        };
    }

    /** One fake arrow: prints the output, then runs until killed or closed. */
    private final class Session implements MicroVmSession {
        private final CompletableFuture<ArrowOutcome> outcome = new CompletableFuture<>();
        private final CompletableFuture<Void> release = new CompletableFuture<>();
        /** Set by the first release, which counts it before completing {@link #release}. */
        private final AtomicBoolean releasing = new AtomicBoolean();

        Session(OutputSink stdout) {
            int now = running.incrementAndGet();
            mostRunning.accumulateAndGet(now, Math::max);
            byte[] bytes = output.getBytes(StandardCharsets.UTF_8);
            stdout.write(bytes, 0, bytes.length);
        }

        @Override
        public OutputStream stdin() {
            return OutputStream.nullOutputStream();
        }

        @Override
        public CompletableFuture<ArrowOutcome> outcome() {
            return outcome;
        }

        @Override
        public boolean supportsGracefulStop() {
            return false;
        }

        @Override
        public void stop() {
        }

        @Override
        public void kill() {
            if (outcome.complete(new ArrowOutcome.Destroyed())) {
                running.decrementAndGet();
            }
        }

        @Override
        public void close() {
            kill();
            CompletableFuture.delayedExecutor(RELEASE_DELAY_MS, TimeUnit.MILLISECONDS).execute(() -> {
                if (releasing.compareAndSet(false, true)) {
                    released.incrementAndGet(); // counted before the future wakes whoever waits for the release
                    release.complete(null);
                }
            });
        }

        @Override
        public CompletableFuture<Void> released() {
            return release;
        }
    }
}
