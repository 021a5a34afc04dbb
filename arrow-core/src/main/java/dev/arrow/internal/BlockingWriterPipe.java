package dev.arrow.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A byte pipe with a fixed-size ring buffer between one writing side (the backend, through
 * {@link #write}) and one reading side ({@link #source()}). A full buffer blocks the writer until the
 * reader catches up; {@link #discardFurtherWrites()} and closing the reader release a blocked writer and
 * make later writes drop their bytes. Unlike {@link java.io.PipedInputStream} it does not care which
 * threads read or write.
 */
public final class BlockingWriterPipe {

    private final byte[] buffer;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final Condition writable = lock.newCondition();
    private final Source source = new Source();
    private int head;
    private int count;
    private boolean writerClosed;
    private boolean discarding;
    private boolean readerClosed;

    public BlockingWriterPipe(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity " + capacity + " must be positive");
        }
        buffer = new byte[capacity];
    }

    /**
     * Appends bytes, blocking while the buffer is full. Returns at once, dropping the bytes, once the writer
     * was closed, further writes are discarded or the reader was closed. If the writing thread is interrupted
     * while blocked, the rest of the bytes are dropped and the interrupt status is kept.
     *
     * @return whether all bytes were taken
     */
    public boolean write(byte[] bytes, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, bytes.length);
        lock.lock();
        try {
            int done = 0;
            while (done < length) {
                while (count == buffer.length && accepting()) {
                    try {
                        writable.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                }
                if (!accepting()) {
                    return false;
                }
                int tail = (head + count) % buffer.length;
                int n = Math.min(length - done, Math.min(buffer.length - count, buffer.length - tail));
                System.arraycopy(bytes, offset + done, buffer, tail, n);
                count += n;
                done += n;
                readable.signalAll();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private boolean accepting() {
        return !writerClosed && !discarding && !readerClosed;
    }

    /** Ends the stream: the reader sees end-of-file after the buffered bytes. */
    public void closeWriter() {
        lock.lock();
        try {
            writerClosed = true;
            readable.signalAll();
            writable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Releases a blocked writer and drops all later writes; buffered bytes stay readable. */
    public void discardFurtherWrites() {
        lock.lock();
        try {
            discarding = true;
            writable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Bytes buffered now. */
    public int buffered() {
        lock.lock();
        try {
            return count;
        } finally {
            lock.unlock();
        }
    }

    /** The reading side. Closing it drops the buffer and makes later reads fail with "Stream closed". */
    public Source source() {
        return source;
    }

    /** The reading side of the pipe; {@link #close()} does not throw. */
    public final class Source extends InputStream {

        private Source() {
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] bytes, int offset, int length) throws IOException {
            Objects.checkFromIndexSize(offset, length, bytes.length);
            lock.lock();
            try {
                if (length == 0 && !readerClosed) {
                    return 0;
                }
                while (count == 0 && !writerClosed && !readerClosed) {
                    try {
                        readable.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted while waiting for guest output");
                    }
                }
                if (readerClosed) {
                    throw new IOException("Stream closed");
                }
                if (count == 0) {
                    return -1;
                }
                int n = Math.min(length, Math.min(count, buffer.length - head));
                System.arraycopy(buffer, head, bytes, offset, n);
                head = (head + n) % buffer.length;
                count -= n;
                writable.signalAll();
                return n;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public int available() throws IOException {
            lock.lock();
            try {
                if (readerClosed) {
                    throw new IOException("Stream closed");
                }
                return count;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void close() {
            lock.lock();
            try {
                readerClosed = true;
                count = 0;
                readable.signalAll();
                writable.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }
}
