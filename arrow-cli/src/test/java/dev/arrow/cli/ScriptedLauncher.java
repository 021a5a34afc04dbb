package dev.arrow.cli;

import dev.arrow.ArrowOutcome;
import dev.arrow.TemplatePoint;
import dev.arrow.config.ArrowSpec;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.BootEvents;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.GuestFileReceiver;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.spi.MicroVmTemplate;
import dev.arrow.spi.OutputSink;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.util.Map;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A backend for the command's tests that boots nothing: each launch prints {@code greeting} to the program's
 * stdout, then the guest either ends at once with {@code outcome} or, when that is null, runs until asked to stop
 * (SIGTERM: {@link ArrowOutcome.Signaled} 15, unless it ignores that) or killed ({@link ArrowOutcome.Destroyed}). It can also fail the
 * launch with an exception. Counts the stops and kills it was asked for.
 */
final class ScriptedLauncher implements ArrowLauncher {
    final AtomicInteger stops = new AtomicInteger();
    final AtomicInteger kills = new AtomicInteger();
    final AtomicInteger templates = new AtomicInteger();
    final AtomicInteger clones = new AtomicInteger();
    private final String greeting;
    private final ArrowOutcome outcome;
    private final Supplier<RuntimeException> failure;
    private final boolean stopEnds;
    volatile ArrowSpec launched;
    /** The guest's files by path: each copy-out path of a launch that ended by itself is sent as the file found here. */
    volatile Map<String, byte[]> guestFiles = Map.of();

    private ScriptedLauncher(String greeting, ArrowOutcome outcome, Supplier<RuntimeException> failure, boolean stopEnds) {
        this.greeting = greeting;
        this.outcome = outcome;
        this.failure = failure;
        this.stopEnds = stopEnds;
    }

    /** A guest that prints {@code greeting} and ends with {@code outcome}. */
    static ScriptedLauncher endingWith(String greeting, ArrowOutcome outcome) {
        return new ScriptedLauncher(greeting, outcome, null, true);
    }

    /** A guest that prints {@code greeting} and runs until stopped or killed. */
    static ScriptedLauncher runningUntilStopped(String greeting) {
        return new ScriptedLauncher(greeting, null, null, true);
    }

    /** A guest that prints {@code greeting}, does not stop when asked (a program ignoring SIGTERM) and runs until killed. */
    static ScriptedLauncher ignoringStop(String greeting) {
        return new ScriptedLauncher(greeting, null, null, false);
    }

    /** A launch that fails with {@code failure}. */
    static ScriptedLauncher failingWith(Supplier<RuntimeException> failure) {
        return new ScriptedLauncher("", null, failure, true);
    }

    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr, BootEvents events,
            ExitCopySink exitCopies) {
        MicroVmSession session = launch(spec, stdout, stderr);
        if (outcome != null) { // the guest ended by itself: as init does, it sent the copy-out paths first
            for (String path : spec.copyOutOnExit()) {
                GuestFileReceiver receiver = exitCopies.begin(path);
                byte[] content = guestFiles.get(path);
                IOException failure = null;
                try {
                    if (content == null) {
                        throw new NoSuchFileException(path);
                    }
                    receiver.file("", 0644);
                    receiver.content(content, 0, content.length);
                } catch (IOException e) {
                    failure = e;
                }
                exitCopies.end(path, failure);
            }
        }
        return session;
    }

    @Override
    public MicroVmSession launch(ArrowSpec spec, OutputSink stdout, OutputSink stderr) {
        launched = spec;
        if (failure != null) {
            throw failure.get();
        }
        byte[] bytes = greeting.getBytes(StandardCharsets.UTF_8);
        stdout.write(bytes, 0, bytes.length);
        return new Session();
    }

    /** A template whose clones behave as this launcher's launches do; counts the templates and clones made. */
    @Override
    public MicroVmTemplate template(ArrowSpec spec, TemplatePoint point, OutputSink stdout, OutputSink stderr,
            BootEvents events) {
        templates.incrementAndGet();
        return new MicroVmTemplate() {
            @Override
            public MicroVmSession startClone(ArrowSpec cloneSpec, OutputSink out, OutputSink err, BootEvents ev) {
                clones.incrementAndGet();
                return launch(cloneSpec, out, err);
            }

            @Override
            public void close() {
            }
        };
    }

    private final class Session implements MicroVmSession {
        private final CompletableFuture<ArrowOutcome> end = new CompletableFuture<>();

        Session() {
            if (outcome != null) {
                end.complete(outcome);
            }
        }

        @Override
        public OutputStream stdin() {
            return OutputStream.nullOutputStream();
        }

        @Override
        public CompletableFuture<ArrowOutcome> outcome() {
            return end;
        }

        @Override
        public boolean supportsGracefulStop() {
            return true;
        }

        @Override
        public void stop() {
            stops.incrementAndGet();
            if (stopEnds) {
                end.complete(new ArrowOutcome.Signaled(15));
            }
        }

        @Override
        public void kill() {
            kills.incrementAndGet();
            end.complete(new ArrowOutcome.Destroyed());
        }

        @Override
        public void close() {
            end.complete(new ArrowOutcome.Destroyed());
        }
    }
}
