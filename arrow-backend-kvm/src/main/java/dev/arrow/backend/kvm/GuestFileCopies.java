package dev.arrow.backend.kvm;

import dev.arrow.GuestFileTooLargeException;
import dev.arrow.image.init.CopyOutDecoder;
import dev.arrow.image.init.InitProtocol;
import dev.arrow.spi.ExitCopySink;
import dev.arrow.spi.GuestFileReceiver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Copies of files out of one guest (init.c, "Copy-out"): a copy is asked for with init's
 * {@linkplain InitProtocol#copyOutCommand control line}; a thread of its own reads the frames init sends on
 * {@value InitProtocol#FILES_PORT_NAME} ({@link CopyOutDecoder}) and hands each copy to its receiver: the one
 * {@link #copy} was given, or for the spec's copy-out paths, which init sends after the app ended, the
 * {@link ExitCopySink}'s. Several threads may ask at once: init serves the copies one after the other, each under its
 * own id. {@link #done()} completes once the port's stream has ended (the guest stopped) and every copy was settled.
 *
 * <p>Most guests are never asked for a copy, so the reading thread starts only when there is something to read: at
 * the first {@link #copy}, at {@link #start()} when the spec declares copy-out paths, or when the port first has
 * bytes (a guest writing frames nobody asked for). A port that ends without a byte completes {@link #done()} without
 * a thread.
 *
 * <p>The frames come from the guest: a copy nobody asked for is read and dropped, and after a malformed frame the rest
 * of the stream is read and dropped (so that init never blocks on a full port) while every copy fails. Unread, the
 * port's bounded buffer would fill and its stream would never end, which is why its first bytes start the reader.
 */
final class GuestFileCopies {
    private static final Logger LOG = LoggerFactory.getLogger(GuestFileCopies.class);
    private static final int ENOENT = 2;
    private static final int EPERM = 1;
    private static final int EACCES = 13;
    private static final int ENOTDIR = 20;
    private static final int EFBIG = 27;

    /** Sends one control line to init. */
    @FunctionalInterface
    interface ControlLine {
        void send(String line) throws IOException;
    }

    private record Pending(String guestPath, long maxBytes, GuestFileReceiver receiver, CompletableFuture<Void> result) {
    }

    private final InputStream port;
    private final ControlLine control;
    private final List<String> declared;
    private final ExitCopySink exitCopies;
    private final String name;
    private final CompletionStage<Void> readable;
    private final Reader reader;
    /** Set by whoever decides the reading thread's fate: it starts, or it will never be needed. */
    private final AtomicBoolean readerDecided = new AtomicBoolean();
    private volatile Thread thread;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private volatile boolean ended;
    private volatile boolean closed;

    /**
     * @param port       what the guest writes on {@value InitProtocol#FILES_PORT_NAME}
     * @param readable   completes once a read of {@code port} would not block: its first bytes arrived, it ended or it
     *                   was closed ({@link dev.arrow.kvm.virtio.console.ConsolePort#fromGuestReadable()})
     * @param control    sends lines to init's control port
     * @param declared   the spec's copy-out paths, which init sends after the app ended
     * @param exitCopies receives those
     * @param exitBytes  the most file content they may hold together
     * @param name       prefix of the thread's name
     */
    GuestFileCopies(InputStream port, CompletionStage<Void> readable, ControlLine control, List<String> declared,
                    ExitCopySink exitCopies, long exitBytes, String name) {
        this.port = port;
        this.readable = readable;
        this.control = control;
        this.declared = List.copyOf(declared);
        this.exitCopies = exitCopies;
        this.name = name;
        this.reader = new Reader(exitBytes);
    }

    /** Starts the reading thread if the spec declares copy-out paths, else waits for something to read. */
    void start() {
        if (!declared.isEmpty()) {
            startReader();
        }
        readable.thenRun(this::portReadable);
    }

    /** Completes once the guest's stream has ended and every copy has been settled, or after {@link #close()}. */
    CompletableFuture<Void> done() {
        return done;
    }

    /**
     * Asks init for {@code guestPath}; see {@link dev.arrow.spi.MicroVmSession#copyFromGuest}.
     *
     * @throws IllegalArgumentException if the path cannot be asked for on a control line (too long, a newline)
     */
    CompletableFuture<Void> copy(String guestPath, long maxBytes, GuestFileReceiver receiver) {
        long id = ids.getAndIncrement() % InitProtocol.COPY_OUT_MAX_ID + 1;
        String line = InitProtocol.copyOutCommand(id, maxBytes, guestPath);
        Pending p = new Pending(guestPath, maxBytes, receiver, new CompletableFuture<>());
        pending.put(id, p);
        if (ended) { // the reader may have failed the pending copies before this one was added
            failPending(id);
            return p.result();
        }
        startReader();
        try {
            control.send(line);
        } catch (IOException e) {
            failPending(id);
        }
        return p.result();
    }

    /** Starts the reading thread, once; not after the port ended without a byte. */
    private void startReader() {
        if (readerDecided.compareAndSet(false, true)) {
            Thread t = new Thread(reader::run, name + "-files");
            t.setDaemon(true);
            thread = t;
            try {
                t.start();
            } catch (RuntimeException | Error e) {
                endAll(); // nothing will read: copies fail instead of waiting
                throw e;
            }
        }
    }

    /**
     * The port has something to read, or has ended or was closed (on the device's thread: must not block). Nobody
     * has read it before the reader starts, so nothing buffered means it ended (or was closed) without a byte.
     */
    private void portReadable() {
        int buffered;
        try {
            buffered = port.available();
        } catch (IOException e) {
            buffered = 0; // closed
        }
        if (buffered > 0) {
            startReader();
        } else if (readerDecided.compareAndSet(false, true)) {
            endAll(); // no reader will ever be needed
        }
    }

    /** Stops reading (closing the port's stream); copies not yet settled fail. Idempotent. */
    void close() {
        closed = true;
        try {
            port.close();
        } catch (IOException e) {
            LOG.debug("{}: closing the files port failed: {}", name, e.toString());
        }
        Thread t = thread;
        if (readerDecided.compareAndSet(false, true) || t == null || !t.isAlive()) {
            endAll();
        }
    }

    private void failPending(long id) {
        Pending p = pending.remove(id);
        if (p != null) {
            p.result().completeExceptionally(new EOFException("the guest stopped serving copies (its program has ended)"
                    + " before it sent " + p.guestPath()));
        }
    }

    private void endAll() {
        ended = true;
        pending.keySet().forEach(this::failPending);
        done.complete(null);
    }

    /** What init's errno for a copy of {@code guestPath} means. */
    static IOException failure(String guestPath, int errno, String message, long maxBytes) {
        String detail = "in the guest: " + message;
        return switch (errno) {
            case ENOENT, ENOTDIR -> new NoSuchFileException(guestPath, null, "no such file or directory " + detail);
            case EACCES, EPERM -> new AccessDeniedException(guestPath, null, detail);
            case EFBIG -> new GuestFileTooLargeException(guestPath, maxBytes, detail);
            default -> new FileSystemException(guestPath, null, "copying it failed " + detail + " (errno " + errno + ")");
        };
    }

    /** The reading thread's side: hands each decoded copy to its receiver. */
    private final class Reader implements CopyOutDecoder.Listener {
        private final Set<String> exitSent = new HashSet<>();
        private long exitLeft;
        private String path;            // the copy at hand, null between copies
        private GuestFileReceiver receiver; // null: dropped
        private Pending live;           // the live copy at hand, if it is one
        private long liveId;
        private boolean exit;           // the copy at hand is a copy-out path sent after the app ended
        private long maxBytes;
        private long bytes;
        private IOException failure;

        Reader(long exitBytes) {
            this.exitLeft = exitBytes;
        }

        void run() {
            try {
                new CopyOutDecoder(port).run(this);
            } catch (IOException e) {
                if (!closed && !(e instanceof EOFException)) {
                    LOG.warn("{}: {}; copies out of this guest fail from now on", name, e.getMessage());
                    drain();
                }
            } catch (RuntimeException e) {
                LOG.error("{}: reading the guest's files failed; copies out of this guest fail from now on", name, e);
                drain();
            } finally {
                if (path != null) {
                    end(-1, "the guest stopped in the middle of the copy");
                }
                endAll();
            }
        }

        /** Reads what the guest still writes, so that init never waits on a full port. */
        private void drain() {
            byte[] sink = new byte[CopyOutDecoder.CHUNK_BYTES];
            try {
                while (port.read(sink) >= 0) {
                    // dropped
                }
            } catch (IOException ignored) {
                // the stream has ended
            }
        }

        @Override
        public void begin(long id, String guestPath) {
            path = guestPath;
            receiver = null;
            live = null;
            exit = false;
            bytes = 0;
            failure = null;
            if (id == InitProtocol.COPY_OUT_EXIT_ID) {
                if (declared.contains(guestPath) && exitSent.add(guestPath)) {
                    try {
                        receiver = exitCopies.begin(guestPath);
                        exit = true;
                        maxBytes = exitLeft;
                    } catch (RuntimeException e) {
                        LOG.warn("{}: the copy of {} sent when the program ended cannot be kept: {}", name, guestPath, e.toString());
                    }
                } else {
                    LOG.debug("{}: dropping a copy of {} sent when the program ended: not asked for", name, guestPath);
                }
                return;
            }
            Pending p = pending.get(id);
            if (p != null && p.guestPath().equals(guestPath)) {
                live = p;
                liveId = id;
                receiver = p.receiver();
                maxBytes = p.maxBytes();
            } else {
                LOG.debug("{}: dropping copy {} of {}: not asked for", name, id, guestPath);
            }
        }

        @Override
        public void directory(String entry, int mode) {
            deliver(() -> receiver.directory(entry, mode));
        }

        @Override
        public void file(String entry, int mode) {
            deliver(() -> receiver.file(entry, mode));
        }

        @Override
        public void content(byte[] data, int offset, int length) {
            deliver(() -> {
                if (length > maxBytes - bytes) {
                    throw new GuestFileTooLargeException(path, maxBytes, "the guest sent more than it was allowed");
                }
                bytes += length;
                receiver.content(data, offset, length);
            });
        }

        @Override
        public void symlink(String entry, String target) {
            deliver(() -> receiver.symlink(entry, target));
        }

        @Override
        public void end(int errno, String message) {
            IOException result = failure != null ? failure : errno == 0 ? null
                    : errno < 0 ? new EOFException(path + ": " + message) : failure(path, errno, message, maxBytes);
            if (live != null) {
                pending.remove(liveId);
                if (result == null) {
                    live.result().complete(null);
                } else {
                    live.result().completeExceptionally(result);
                }
            } else if (exit) {
                if (result == null) {
                    exitLeft -= bytes;
                }
                try {
                    exitCopies.end(path, result);
                } catch (RuntimeException e) {
                    LOG.warn("{}: keeping the copy of {} failed: {}", name, path, e.toString());
                }
            }
            path = null;
            receiver = null;
            live = null;
            exit = false;
        }

        private void deliver(Delivery delivery) {
            if (receiver == null || failure != null) {
                return;
            }
            try {
                delivery.run();
            } catch (IOException e) {
                failure = e;
            } catch (RuntimeException e) {
                failure = new IOException("receiving the copy of " + path + " failed: " + e, e);
            }
        }
    }

    @FunctionalInterface
    private interface Delivery {
        void run() throws IOException;
    }
}
