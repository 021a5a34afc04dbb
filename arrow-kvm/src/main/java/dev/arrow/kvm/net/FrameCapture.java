package dev.arrow.kvm.net;

import dev.arrow.kvm.net.NetworkBackendException.Reason;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A capture of a guest NIC's traffic: every frame the guest sends or receives, written by the
 * VMM to a host file in the classic pcap format (Ethernet link type, microsecond timestamps), which
 * Wireshark and tcpdump read. The device records frames as it moves them, so the capture does not
 * depend on the backend (passt's own {@code --pcap} dies on hosts whose clock has no vDSO: its
 * seccomp filter refuses the {@code gettimeofday} system call its capture then makes).
 *
 * <p>Thread-safe. A write that fails (a full disk) ends the capture with a warning; the network
 * goes on. Records are buffered; {@link #close()} writes out the rest. The file is written through
 * a stream, not a {@code FileChannel}: an interrupted thread (as at a VM's release) must not close
 * it and lose what is buffered.
 */
public final class FrameCapture implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FrameCapture.class);

    /** The file's first four bytes (written little-endian): classic pcap, microsecond timestamps. */
    public static final int MAGIC_MICROSECONDS = 0xa1b2c3d4;
    /** The file header's link type: Ethernet. */
    public static final int LINKTYPE_ETHERNET = 1;
    /** Bytes of the file header: magic, version, time zone, accuracy, snapshot length, link type. */
    public static final int FILE_HEADER_BYTES = 24;
    /** Bytes of each record's header: seconds, microseconds, captured length, original length. */
    public static final int RECORD_HEADER_BYTES = 16;
    /** Holds any record of a frame up to {@link NetworkBackend#MAX_FRAME_BYTES} (the snapshot length). */
    private static final int BUFFER_BYTES = 256 * 1024;

    private final Path file;
    private final OutputStream out;
    private final Clock clock;
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private long frames;
    private long bytes;
    private boolean stopped;
    private boolean closed;

    private FrameCapture(Path file, OutputStream out, Clock clock) {
        this.file = file;
        this.out = out;
        this.clock = clock;
    }

    /**
     * Creates (or replaces) {@code file} and writes the pcap header.
     *
     * @throws NetworkBackendException ({@link Reason#IO}) naming the file and what to do when its
     *     directory is missing or not writable, or the file is a directory
     */
    public static FrameCapture open(Path file) {
        return open(file, Clock.systemUTC());
    }

    static FrameCapture open(Path file, Clock clock) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(clock, "clock");
        checkTarget(file);
        OutputStream out = null;
        try {
            out = new FileOutputStream(file.toFile()); // created, or truncated
            FrameCapture capture = new FrameCapture(file, out, clock);
            capture.buffer.putInt(MAGIC_MICROSECONDS).putShort((short) 2).putShort((short) 4)
                    .putInt(0) // time zone: UTC
                    .putInt(0) // timestamp accuracy
                    .putInt(NetworkBackend.MAX_FRAME_BYTES) // snapshot length: whole frames
                    .putInt(LINKTYPE_ETHERNET);
            capture.flush();
            return capture;
        } catch (IOException e) {
            closeQuietly(out);
            if (out != null && Files.isRegularFile(file)) {
                deleteQuietly(file); // a header-less file would only mislead
            }
            throw new NetworkBackendException(Reason.IO, "cannot capture the guest's traffic to " + file + ": "
                    + e.getMessage() + "; name a file Arrow may create", e);
        }
    }

    private static void checkTarget(Path target) {
        Path dir = target.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new NetworkBackendException(Reason.IO, "cannot capture the guest's traffic to " + target + ": directory "
                    + dir + " does not exist; create it or name a file in an existing directory");
        }
        if (!Files.isWritable(dir) || Files.isDirectory(target)) {
            throw new NetworkBackendException(Reason.IO, "cannot capture the guest's traffic to " + target + ": "
                    + (Files.isDirectory(target) ? "it is a directory" : "directory " + dir + " is not writable")
                    + "; name a file Arrow may create");
        }
    }

    /**
     * Records the remaining bytes of {@code frame} (its position is left as it was).
     *
     * @throws IllegalArgumentException for more than {@link NetworkBackend#MAX_FRAME_BYTES}, the
     *     snapshot length the header promises (a caller bug)
     */
    public void record(ByteBuffer frame) {
        ByteBuffer view = frame.duplicate();
        if (view.remaining() > NetworkBackend.MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("frame of " + view.remaining() + " bytes, more than the "
                    + NetworkBackend.MAX_FRAME_BYTES + " a capture holds");
        }
        synchronized (this) {
            if (stopped) {
                return;
            }
            Instant now = clock.instant();
            int length = view.remaining();
            try {
                if (buffer.remaining() < RECORD_HEADER_BYTES + length) {
                    flush();
                }
                buffer.putInt((int) now.getEpochSecond()).putInt(now.getNano() / 1000).putInt(length).putInt(length)
                        .put(view);
                frames++;
                bytes += length;
            } catch (IOException e) {
                stopped = true;
                LOG.warn("capture of the guest's traffic to {} stopped after {} frames: {}", file, frames, e.toString());
            }
        }
    }

    /** Records {@code length} bytes of {@code frame} from {@code offset}. */
    public void record(byte[] frame, int offset, int length) {
        record(ByteBuffer.wrap(frame, offset, length));
    }

    /** Frames recorded so far. */
    public synchronized long frames() {
        return frames;
    }

    private void flush() throws IOException {
        out.write(buffer.array(), 0, buffer.position());
        buffer.clear();
    }

    /** Writes out what is buffered and closes the file. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (!stopped) {
                flush();
            }
            LOG.info("the guest's traffic ({} frames, {} bytes) is in {}", frames, bytes, file);
        } catch (IOException e) {
            LOG.warn("capture of the guest's traffic to {}: the last frames were not written: {}", file, e.toString());
        } finally {
            stopped = true;
            closeQuietly(out);
        }
    }

    /** Closes the file and deletes it: for an arrow that never started. Idempotent. */
    public synchronized void discard() {
        stopped = true;
        closed = true;
        closeQuietly(out);
        deleteQuietly(file);
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.warn("cannot delete the unused capture file {}: {}", file, e.toString());
        }
    }

    private static void closeQuietly(OutputStream out) {
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                LOG.debug("closing a capture file failed: {}", e.toString());
            }
        }
    }

    @Override
    public String toString() {
        return "capture to " + file;
    }
}
