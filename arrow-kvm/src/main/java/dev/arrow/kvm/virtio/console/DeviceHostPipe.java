package dev.arrow.kvm.virtio.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A bounded byte pipe between a virtio device and a host thread. The device uses the
 * non-blocking end ({@link #tryWrite}, {@link #tryRead}); the host gets a blocking stream
 * ({@link #inputStream}, {@link #outputStream}) whose calls wait while the pipe is empty or full.
 * The pipe never holds more than its capacity, so a host that stops reading (or a guest that
 * stops reading) stops the other side instead of growing memory.
 *
 * <p>Listeners tell the device when the host side changed something it may be waiting for: the
 * input stream's listener runs when a read freed space after a {@link #tryWrite} came up short or
 * {@link #spaceOrWait()} found none (and when the stream is closed); the output stream's listener runs after every write and on
 * close. Listeners run on the host thread, outside the pipe's lock.
 *
 * <p>End of stream: {@link #closeWriter()} lets the reader drain what is buffered and then see
 * end-of-file; {@link #closeReader()} drops what is buffered and makes later {@link #tryWrite}
 * calls discard (counted in {@link #discardedBytes()}) and host writes fail.
 *
 * <p>{@link #readable()} tells a host that has not started reading yet when it should: once a read of the input
 * stream would not block. {@link #callWhenReadable} tells it again each time it asks: a host reader can leave while
 * the pipe is empty and come back when there is something to read, holding no thread in between.
 */
final class DeviceHostPipe {
    private final String name;
    private final byte[] ring;
    private int head;
    private int count;
    private boolean writerClosed;
    private boolean readerClosed;
    private boolean writerStarved;
    private long discarded;
    private long read;
    private final CompletableFuture<Void> readable = new CompletableFuture<>();
    /** Runs once when a read of the input stream would not block; see {@link #callWhenReadable}. Guarded by this. */
    private Runnable whenReadable;

    DeviceHostPipe(String name, int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("pipe capacity must be positive, got " + capacity);
        }
        this.name = name;
        this.ring = new byte[capacity];
    }

    int capacity() {
        return ring.length;
    }

    synchronized int available() {
        return count;
    }

    synchronized int space() {
        return readerClosed ? Integer.MAX_VALUE : ring.length - count;
    }

    /**
     * Like {@link #space()}, but when the pipe is full it also arranges for the input stream's
     * listener to run on the next read, so a writer that stops here is woken.
     */
    synchronized int spaceOrWait() {
        int space = space();
        if (space == 0) {
            writerStarved = true;
        }
        return space;
    }

    synchronized boolean isWriterClosed() {
        return writerClosed;
    }

    synchronized boolean isReaderClosed() {
        return readerClosed;
    }

    /** Writer closed and every byte read. */
    synchronized boolean isDrained() {
        return writerClosed && count == 0;
    }

    synchronized long discardedBytes() {
        return discarded;
    }

    /** Bytes read out of the pipe so far (by the input stream or {@link #tryRead}). */
    synchronized long readBytes() {
        return read;
    }

    /**
     * Completes once a read of the input stream would not block: the first bytes are buffered, the writer is closed
     * or the reader is. It completes outside the pipe's lock, on the thread that wrote or closed (for guest output,
     * the device's): what depends on it must not block.
     */
    CompletableFuture<Void> readable() {
        return readable;
    }

    /**
     * Arranges for {@code callback} to run once, outside the pipe's lock, as soon as a read of the input stream would
     * not block (bytes buffered, the writer closed or the reader closed), unless it would not block now: then it
     * returns false and keeps nothing. It runs on the thread that wrote or closed (for guest output, the device's):
     * it must not block. One callback at a time.
     *
     * @return true if the callback was kept (the pipe is empty and open)
     * @throws IllegalStateException if an earlier callback is still waiting
     */
    synchronized boolean callWhenReadable(Runnable callback) {
        Objects.requireNonNull(callback, "callback");
        if (count > 0 || writerClosed || readerClosed) {
            return false;
        }
        if (whenReadable != null) {
            throw new IllegalStateException(name + ": a read-ready callback is already waiting");
        }
        whenReadable = callback;
        return true;
    }

    /** A read would not block any more: completes {@link #readable()} and runs the waiting callback, outside the lock. */
    private void signalReadable() {
        readable.complete(null);
        Runnable callback;
        synchronized (this) {
            callback = whenReadable;
            whenReadable = null;
        }
        if (callback != null) {
            callback.run();
        }
    }

    /**
     * Non-blocking write: takes what fits. Once the reader is closed everything is accepted and
     * discarded; once the writer is closed nothing is accepted.
     *
     * @return bytes taken
     */
    int tryWrite(byte[] src, int offset, int length) {
        int n = put(src, offset, length);
        if (n > 0) {
            signalReadable();
        }
        return n;
    }

    /** {@link #tryWrite} under the pipe's lock. */
    private synchronized int put(byte[] src, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, src.length);
        if (writerClosed) {
            return 0;
        }
        if (readerClosed) {
            discarded += length;
            return length;
        }
        int n = Math.min(length, ring.length - count);
        int tail = (head + count) % ring.length;
        int first = Math.min(n, ring.length - tail);
        System.arraycopy(src, offset, ring, tail, first);
        System.arraycopy(src, offset + first, ring, 0, n - first);
        count += n;
        if (n < length) {
            writerStarved = true;
        }
        if (n > 0) {
            notifyAll();
        }
        return n;
    }

    /** Counts bytes the device dropped on the pipe's behalf (e.g. output after end-of-stream). */
    synchronized void addDiscarded(long bytes) {
        discarded += bytes;
    }

    /**
     * Non-blocking read.
     *
     * @return bytes copied (0 when empty)
     */
    synchronized int tryRead(byte[] dst, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, dst.length);
        int n = Math.min(length, count);
        int first = Math.min(n, ring.length - head);
        System.arraycopy(ring, head, dst, offset, first);
        System.arraycopy(ring, 0, dst, offset + first, n - first);
        head = (head + n) % ring.length;
        count -= n;
        read += n;
        if (n > 0) {
            notifyAll();
        }
        return n;
    }

    /** No more bytes will be written; the reader sees end-of-file after the buffered ones. */
    void closeWriter() {
        markWriterClosed();
        signalReadable();
    }

    /** The reader is gone: buffered bytes are dropped and later writes discarded. */
    void closeReader() {
        markReaderClosed();
        signalReadable();
    }

    /** {@link #closeWriter()} under the pipe's lock; true if it was open. */
    private synchronized boolean markWriterClosed() {
        boolean open = !writerClosed;
        writerClosed = true;
        notifyAll();
        return open;
    }

    /** {@link #closeReader()} under the pipe's lock; true if it was open. */
    private synchronized boolean markReaderClosed() {
        boolean open = !readerClosed;
        readerClosed = true;
        discarded += count;
        count = 0;
        notifyAll();
        return open;
    }

    /** Blocking reader end. {@code spaceListener} runs when a read frees space a short write wanted. */
    InputStream inputStream(Runnable spaceListener) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                int n;
                boolean wake;
                synchronized (DeviceHostPipe.this) {
                    while (count == 0 && !writerClosed && !readerClosed) {
                        waitForChange();
                    }
                    if (readerClosed) {
                        throw new IOException(name + ": stream closed");
                    }
                    if (count == 0) {
                        return -1;
                    }
                    n = tryRead(b, off, len);
                    wake = writerStarved;
                    writerStarved = false;
                }
                if (wake) {
                    spaceListener.run();
                }
                return n;
            }

            @Override
            public int available() {
                synchronized (DeviceHostPipe.this) {
                    return readerClosed ? 0 : count;
                }
            }

            @Override
            public void close() {
                if (markReaderClosed()) {
                    signalReadable();
                    spaceListener.run();
                }
            }
        };
    }

    /** Blocking writer end. {@code dataListener} runs after every write and on close. */
    OutputStream outputStream(Runnable dataListener) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                int done = 0;
                while (done < len) {
                    synchronized (DeviceHostPipe.this) {
                        while (count == ring.length && !readerClosed && !writerClosed) {
                            waitForChange();
                        }
                        if (writerClosed) {
                            throw new IOException(name + ": stream closed");
                        }
                        if (readerClosed) {
                            throw new IOException(name + ": the guest side is gone");
                        }
                        done += put(b, off + done, len - done);
                    }
                    signalReadable();
                    dataListener.run();
                }
            }

            @Override
            public void close() {
                if (markWriterClosed()) {
                    signalReadable();
                    dataListener.run();
                }
            }
        };
    }

    /** Waits on the pipe's monitor (held by the caller) for any change. */
    private void waitForChange() throws InterruptedIOException {
        try {
            wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(name + ": interrupted while waiting");
        }
    }

    @Override
    public synchronized String toString() {
        return String.format("%s pipe (%d/%d bytes%s%s)", name, count, ring.length,
                writerClosed ? ", writer closed" : "", readerClosed ? ", reader closed" : "");
    }
}
