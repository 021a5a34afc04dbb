package dev.arrow.internal;

import dev.arrow.OutputFrame;
import dev.arrow.spi.OutputSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Taps the guest program's output on its way to its {@code Output} routes: cuts each stream into lines
 * ({@link OutputFrame}s of at most {@link OutputFrame#MAX_LINE_BYTES}), keeps the last ones
 * ({@link OutputTail}), shows each to the watchers (arrow-core's readiness checks: called on the
 * backend's thread, they must be quick) and hands it to the user's log consumers on a thread of its own,
 * through a bounded queue (a consumer slower than the guest slows the guest down, like a pipe). Owned by
 * one {@code ArrowProcess}, which calls {@link #finish()} when the guest has ended, {@link #abort()} before
 * killing it and {@link #release()} when closed.
 */
public final class OutputTap {

    private static final Logger LOG = LoggerFactory.getLogger(OutputTap.class);

    /** Lines {@link #logs()} keeps per stream at most. */
    public static final int TAIL_LINES = 1000;
    /** Bytes {@link #logs()} keeps per stream at most. */
    public static final int TAIL_BYTES = 64 * 1024;
    /** Frames waiting for the log consumers at most. */
    static final int QUEUE_FRAMES = 1024;
    private static final OutputFrame END = new OutputFrame(OutputFrame.Stream.STDOUT, "");

    private final String name;
    private final List<Consumer<OutputFrame>> consumers;
    private final List<Consumer<OutputFrame>> watchers;
    private final OutputTail tail = new OutputTail(TAIL_LINES, TAIL_BYTES);
    private final List<Splitter> splitters = new CopyOnWriteArrayList<>();
    private final BlockingQueue<OutputFrame> queue = new ArrayBlockingQueue<>(QUEUE_FRAMES);
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private final Thread delivery;
    private volatile boolean ended;
    private volatile boolean aborted;

    /**
     * @param name      e.g. "arrow-7", for the delivery thread's name and logs
     * @param consumers the user's log consumers, each called with every frame on the delivery thread
     * @param watchers  called with every frame on the backend's thread; must be quick and must not throw
     */
    public OutputTap(String name, List<Consumer<OutputFrame>> consumers, List<Consumer<OutputFrame>> watchers) {
        this.name = name;
        this.consumers = List.copyOf(consumers);
        this.watchers = List.copyOf(watchers);
        if (this.consumers.isEmpty()) {
            delivery = null;
        } else {
            delivery = new Thread(this::deliver, name + "-logs");
            delivery.setDaemon(true);
            delivery.start();
        }
    }

    /** {@code sink}, whose bytes are also cut into lines tagged {@code stream} (each call has its own line buffer). */
    public OutputSink tap(OutputFrame.Stream stream, OutputSink sink) {
        Splitter splitter = new Splitter(stream);
        splitters.add(splitter);
        return (bytes, offset, length) -> {
            splitter.accept(bytes, offset, length);
            sink.write(bytes, offset, length);
        };
    }

    /** The last lines printed so far, bounded per stream ({@link #TAIL_LINES}, {@link #TAIL_BYTES}). */
    public List<OutputFrame> logs() {
        return tail.snapshot();
    }

    /** Completes once every line was handed to the log consumers (at once when there are none). */
    public CompletableFuture<Void> drained() {
        return drained;
    }

    /** Whether {@code thread} calls the log consumers. */
    public boolean isDeliveryThread(Thread thread) {
        return thread == delivery;
    }

    /** The guest has ended: last lines without a terminator are delivered; later bytes are ignored. */
    public void finish() {
        if (ended) {
            return;
        }
        ended = true;
        for (Splitter s : splitters) {
            s.finish();
        }
        if (delivery == null) {
            drained.complete(null);
        } else {
            enqueue(END);
        }
    }

    /** Frames not yet queued for the consumers are dropped from now on, so that a writer never blocks again. */
    public void abort() {
        aborted = true;
    }

    /** Stops delivery (frames still queued are dropped). Idempotent. */
    public void release() {
        aborted = true;
        ended = true;
        if (delivery != null && Thread.currentThread() != delivery) {
            delivery.interrupt();
        }
        if (delivery == null) {
            drained.complete(null);
        }
    }

    private void frame(OutputFrame frame) {
        tail.add(frame);
        for (Consumer<OutputFrame> w : watchers) {
            w.accept(frame);
        }
        if (delivery != null) {
            enqueue(frame);
        }
    }

    private void enqueue(OutputFrame frame) {
        try {
            while (!aborted || frame == END) {
                if (queue.offer(frame, 100, TimeUnit.MILLISECONDS)) {
                    return;
                }
                if (frame == END && aborted) {
                    queue.clear();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void deliver() {
        boolean[] failed = new boolean[consumers.size()];
        try {
            while (true) {
                OutputFrame frame = queue.take();
                if (frame == END) {
                    return;
                }
                for (int i = 0; i < failed.length; i++) {
                    if (!failed[i]) {
                        try {
                            consumers.get(i).accept(frame);
                        } catch (RuntimeException | Error e) {
                            failed[i] = true;
                            LOG.warn("{}: a log consumer threw; it gets no more lines", name, e);
                        }
                    }
                }
            }
        } catch (InterruptedException e) {
            LOG.debug("{}: log delivery stopped", name);
        } finally {
            drained.complete(null);
        }
    }

    /** One stream's line buffer; writes come from one backend thread at a time, finish from another. */
    private final class Splitter {
        private final LineSplitter lines;

        Splitter(OutputFrame.Stream stream) {
            this.lines = new LineSplitter(OutputFrame.MAX_LINE_BYTES, line -> frame(new OutputFrame(stream, line)));
        }

        synchronized void accept(byte[] bytes, int offset, int length) {
            if (!ended) {
                lines.accept(bytes, offset, length);
            }
        }

        synchronized void finish() {
            lines.finish();
        }
    }
}
