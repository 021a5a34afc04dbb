package dev.arrow.internal;

import dev.arrow.Input;
import dev.arrow.IoRedirectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Feeds the guest program's stdin from its {@link Input}. Opened before the VM is launched (so a missing
 * input file fails {@code start()}), {@linkplain #attach attached} to the session's stdin afterwards.
 * Owned by one {@code ArrowProcess}.
 */
public abstract class GuestInput {

    private static final Logger LOG = LoggerFactory.getLogger(GuestInput.class);

    final String name;

    GuestInput(String name) {
        this.name = name;
    }

    /**
     * Opens the source for {@code input}.
     *
     * @param name e.g. "arrow-7-stdin", used for thread names and logs
     * @throws IoRedirectException if an input file cannot be opened
     */
    public static GuestInput open(Input input, String name) {
        if (input instanceof Input.Pipe) {
            return new Piped(name);
        } else if (input instanceof Input.FromFile f) {
            return new FromFile(name, f.file());
        } else {
            return new Empty(name);
        }
    }

    /** Starts feeding {@code guestStdin}, the session's stdin. Called once. */
    public abstract void attach(OutputStream guestStdin);

    /** The stream the user writes to; when stdin is not a pipe, writes fail. */
    public OutputStream userStream() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Stream closed: stdin is not a pipe; start the process with Input.pipe() to write to it");
            }
        };
    }

    /** The guest has ended: stop feeding; later user writes fail. */
    public abstract void guestEnded();

    /** Releases everything. Idempotent. */
    public void release() {
        guestEnded();
    }

    static void closeQuietly(OutputStream out, String name) {
        try {
            out.close();
        } catch (IOException e) {
            LOG.debug("{}: closing the guest's stdin failed: {}", name, e.toString());
        }
    }

    /** From {@code getOutputStream()}; unbuffered. */
    private static final class Piped extends GuestInput {
        private final UserStream stream = new UserStream();

        Piped(String name) {
            super(name);
        }

        @Override
        public void attach(OutputStream guestStdin) {
            stream.target = Objects.requireNonNull(guestStdin, "guestStdin");
        }

        @Override
        public OutputStream userStream() {
            return stream;
        }

        @Override
        public void guestEnded() {
            stream.guestEnded = true;
        }

        private final class UserStream extends OutputStream {
            volatile OutputStream target;
            volatile boolean guestEnded;
            private boolean closed;

            private OutputStream target() throws IOException {
                synchronized (this) {
                    if (closed) {
                        throw new IOException("Stream closed");
                    }
                }
                if (guestEnded) {
                    throw new IOException("Stream closed: the guest has ended");
                }
                return target;
            }

            @Override
            public void write(int b) throws IOException {
                target().write(b);
            }

            @Override
            public void write(byte[] bytes, int offset, int length) throws IOException {
                Objects.checkFromIndexSize(offset, length, bytes.length);
                target().write(bytes, offset, length);
            }

            @Override
            public void flush() throws IOException {
                if (!guestEnded) {
                    target().flush();
                }
            }

            @Override
            public void close() throws IOException {
                synchronized (this) {
                    if (closed) {
                        return;
                    }
                    closed = true;
                }
                if (!guestEnded && target != null) {
                    target.close();
                }
            }
        }
    }

    /** From a file, copied by a thread of the process. */
    private static final class FromFile extends GuestInput {
        private final InputStream in;
        private volatile Thread feeder;
        private volatile boolean ended;

        FromFile(String name, Path file) {
            super(name);
            try {
                in = new FileInputStream(file.toFile());
            } catch (IOException e) {
                throw new IoRedirectException("cannot open " + file + " for the guest's stdin: " + e.getMessage()
                        + "; give a readable file", e);
            }
        }

        @Override
        public void attach(OutputStream guestStdin) {
            Thread t = new Thread(() -> feed(guestStdin), name + "-feeder");
            t.setDaemon(true);
            feeder = t;
            t.start();
        }

        private void feed(OutputStream guestStdin) {
            try (InputStream source = in) {
                source.transferTo(guestStdin);
            } catch (IOException e) {
                if (ended) {
                    LOG.debug("{}: stdin feeding stopped: {}", name, e.toString());
                } else {
                    LOG.warn("{}: feeding the guest's stdin failed", name, e);
                }
            } finally {
                closeQuietly(guestStdin, name);
            }
        }

        @Override
        public void guestEnded() {
            ended = true;
            Thread t = feeder;
            if (t != null && t != Thread.currentThread()) {
                t.interrupt();
            }
            try {
                in.close();
            } catch (IOException e) {
                LOG.debug("{}: closing the stdin file failed: {}", name, e.toString());
            }
        }
    }

    /** Nothing: the input ends at once. */
    private static final class Empty extends GuestInput {
        Empty(String name) {
            super(name);
        }

        @Override
        public void attach(OutputStream guestStdin) {
            closeQuietly(guestStdin, name);
        }

        @Override
        public void guestEnded() {
        }
    }
}
