package dev.arrow.internal;

import dev.arrow.IoRedirectException;
import dev.arrow.Output;
import dev.arrow.spi.OutputSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * Routes one output stream of the guest (stdout or stderr) to its {@link Output}: the {@link OutputSink}
 * given to the backend. Owned by one {@code ArrowProcess}, which calls {@link #finish()} when the guest
 * has ended, {@link #abort()} before killing it and {@link #release()} when closed.
 */
public abstract class GuestOutput implements OutputSink {

    private static final Logger LOG = LoggerFactory.getLogger(GuestOutput.class);

    /** Capacity of the buffer of a piped stream; like a Linux pipe. */
    public static final int PIPE_CAPACITY = 64 * 1024;

    final String name;
    private final CompletableFuture<Void> drained = new CompletableFuture<>();

    GuestOutput(String name) {
        this.name = name;
    }

    /**
     * Opens the route for {@code output}.
     *
     * @param name      e.g. "arrow-7-stdout", used for thread names and logs
     * @param inherited where {@link Output#inherit()} writes ({@code System.out} or {@code System.err})
     * @throws IoRedirectException if an output file cannot be opened
     */
    public static GuestOutput open(Output output, String name, PrintStream inherited) {
        if (output instanceof Output.Pipe) {
            return new Piped(name);
        } else if (output instanceof Output.Inherit) {
            return new Inherited(name, inherited);
        } else if (output instanceof Output.ToFile f) {
            return new ToFile(name, f.file(), f.append());
        } else if (output instanceof Output.Discard) {
            return new Discarded(name);
        } else {
            return new ToLines(name, (Output.Lines) output);
        }
    }

    /** The stream the user reads: the pipe's reading side, or an empty stream if not piped. */
    public InputStream userStream() {
        return InputStream.nullInputStream();
    }

    /** Completes once every byte written before {@link #finish()} was delivered to its destination. */
    public CompletableFuture<Void> drained() {
        return drained;
    }

    /** Whether {@code thread} delivers this stream's output to user code (a line consumer). */
    public boolean isDeliveryThread(Thread thread) {
        return false;
    }

    /** The guest has ended: no more writes are taken; the destination sees the end of the stream. */
    public abstract void finish();

    /** Unblocks a writer stuck on a full pipe and drops later writes; delivered bytes stay readable. */
    public abstract void abort();

    /** Closes the user-facing stream and stops delivery. Idempotent. */
    public abstract void release();

    void drainedNow() {
        drained.complete(null);
    }

    /** To {@code getInputStream()} / {@code getErrorStream()}. */
    private static final class Piped extends GuestOutput {
        private final BlockingWriterPipe pipe = new BlockingWriterPipe(PIPE_CAPACITY);

        Piped(String name) {
            super(name);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) {
            pipe.write(bytes, offset, length);
        }

        @Override
        public InputStream userStream() {
            return pipe.source();
        }

        @Override
        public void finish() {
            pipe.closeWriter();
            drainedNow();
        }

        @Override
        public void abort() {
            pipe.discardFurtherWrites();
        }

        @Override
        public void release() {
            pipe.closeWriter();
            pipe.source().close();
            drainedNow();
        }
    }

    /** Through a pipe to a thread that hands lines to the user's consumer. */
    private static final class ToLines extends GuestOutput {
        private final BlockingWriterPipe pipe = new BlockingWriterPipe(PIPE_CAPACITY);
        private final Thread pump;

        ToLines(String name, Output.Lines lines) {
            super(name);
            pump = new Thread(() -> pump(lines), name + "-lines");
            pump.setDaemon(true);
            pump.start();
        }

        private void pump(Output.Lines lines) {
            boolean[] failed = {false};
            LineSplitter splitter = new LineSplitter(Output.Lines.MAX_LINE_BYTES, line -> {
                if (failed[0]) {
                    return;
                }
                try {
                    lines.lineConsumer().accept(line);
                } catch (RuntimeException | Error e) {
                    failed[0] = true;
                    LOG.warn("{}: the line consumer threw; discarding the rest of the stream", name, e);
                }
            });
            byte[] chunk = new byte[8192];
            InputStream in = pipe.source();
            try {
                int n;
                while ((n = in.read(chunk, 0, chunk.length)) >= 0) {
                    splitter.accept(chunk, 0, n);
                }
                splitter.finish();
            } catch (IOException e) {
                LOG.debug("{}: line delivery stopped: {}", name, e.toString());
            } finally {
                drainedNow();
            }
        }

        @Override
        public void write(byte[] bytes, int offset, int length) {
            pipe.write(bytes, offset, length);
        }

        @Override
        public boolean isDeliveryThread(Thread thread) {
            return thread == pump;
        }

        @Override
        public void finish() {
            pipe.closeWriter();
        }

        @Override
        public void abort() {
            pipe.discardFurtherWrites();
        }

        @Override
        public void release() {
            pipe.closeWriter();
            pipe.source().close();
            if (Thread.currentThread() != pump) {
                pump.interrupt();
            }
        }
    }

    /** Base of the destinations written directly on the backend's thread. */
    private abstract static class Direct extends GuestOutput {
        private volatile boolean accepting = true;
        private boolean ended;

        Direct(String name) {
            super(name);
        }

        @Override
        public final void write(byte[] bytes, int offset, int length) {
            if (!accepting) {
                return;
            }
            try {
                target().write(bytes, offset, length);
            } catch (IOException e) {
                if (accepting) {
                    accepting = false;
                    LOG.warn("{}: writing guest output failed; discarding the rest of the stream", name, e);
                }
            }
        }

        abstract OutputStream target();

        /** Flushes or closes the target at the end of the stream. */
        abstract void end() throws IOException;

        @Override
        public final synchronized void finish() {
            accepting = false;
            if (!ended) {
                ended = true;
                try {
                    end();
                } catch (IOException e) {
                    LOG.warn("{}: finishing guest output failed", name, e);
                }
            }
            drainedNow();
        }

        @Override
        public final void abort() {
            accepting = false;
        }

        @Override
        public final void release() {
            finish();
        }
    }

    /** To System.out / System.err. */
    private static final class Inherited extends Direct {
        private final PrintStream target;

        Inherited(String name, PrintStream target) {
            super(name);
            this.target = target;
        }

        @Override
        OutputStream target() {
            return target;
        }

        @Override
        void end() {
            target.flush();
        }
    }

    /** Into a file. */
    private static final class ToFile extends Direct {
        private final FileOutputStream out;

        ToFile(String name, Path file, boolean append) {
            super(name);
            try {
                out = new FileOutputStream(file.toFile(), append);
            } catch (IOException e) {
                throw new IoRedirectException("cannot open " + file + " for the guest's output: " + e.getMessage()
                        + "; give a writable file in an existing directory", e);
            }
        }

        @Override
        OutputStream target() {
            return out;
        }

        @Override
        void end() throws IOException {
            out.close();
        }
    }

    /** Nowhere. */
    private static final class Discarded extends Direct {
        Discarded(String name) {
            super(name);
        }

        @Override
        OutputStream target() {
            return OutputStream.nullOutputStream();
        }

        @Override
        void end() {
        }
    }
}
