package dev.arrow.kvm.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.util.Objects;

/**
 * The framing of passt's stream socket (QEMU's "stream"/"socket" netdev protocol): every
 * Ethernet frame is preceded by its length as a 4-byte big-endian integer, nothing else.
 *
 * <p>Reading is buffered: one {@code read} usually brings several frames, and a frame split
 * across reads is reassembled. A length of zero or above the limit, or an end of stream inside a
 * frame, is a {@link FrameStreamException}. Not thread-safe; one reader thread owns an instance.
 */
public final class PasstFrameCodec {
    /** Bytes of the length prefix. */
    public static final int HEADER_BYTES = 4;

    private final ReadableByteChannel channel;
    private final ByteBuffer buffer;
    private final int maxFrameBytes;

    /**
     * @param channel       the stream, in blocking mode
     * @param bufferBytes   size of the read buffer (at least {@value #HEADER_BYTES})
     * @param maxFrameBytes largest frame accepted
     */
    public PasstFrameCodec(ReadableByteChannel channel, int bufferBytes, int maxFrameBytes) {
        this.channel = Objects.requireNonNull(channel, "channel");
        if (bufferBytes < HEADER_BYTES) {
            throw new IllegalArgumentException("buffer of " + bufferBytes + " bytes cannot hold a length prefix");
        }
        if (maxFrameBytes < 1) {
            throw new IllegalArgumentException("max frame size " + maxFrameBytes + " must be positive");
        }
        this.buffer = ByteBuffer.allocateDirect(bufferBytes).order(ByteOrder.BIG_ENDIAN);
        this.buffer.limit(0);
        this.maxFrameBytes = maxFrameBytes;
    }

    /**
     * Reads the next frame into {@code dst} at its position (which advances by the frame's length).
     *
     * @return the frame's length, or -1 when the stream ended cleanly between frames
     * @throws FrameStreamException   when the peer broke the framing
     * @throws IllegalArgumentException when {@code dst} has less room than the frame limit
     * @throws IOException            when reading fails (also when the channel is closed under us)
     */
    public int readFrame(ByteBuffer dst) throws IOException {
        if (dst.remaining() < maxFrameBytes) {
            throw new IllegalArgumentException("destination has " + dst.remaining() + " bytes of room, frames may have "
                    + maxFrameBytes);
        }
        if (!fill(HEADER_BYTES)) {
            if (buffer.hasRemaining()) {
                throw new FrameStreamException("stream ended inside a frame's length prefix ("
                        + buffer.remaining() + " of " + HEADER_BYTES + " bytes)");
            }
            return -1;
        }
        int length = buffer.getInt();
        if (length <= 0 || length > maxFrameBytes) {
            throw new FrameStreamException("frame length " + Integer.toUnsignedString(length)
                    + " is outside 1.." + maxFrameBytes);
        }
        int fromBuffer = Math.min(length, buffer.remaining());
        int oldLimit = buffer.limit();
        buffer.limit(buffer.position() + fromBuffer);
        dst.put(buffer);
        buffer.limit(oldLimit);
        int missing = length - fromBuffer;
        if (missing > 0) {
            // The rest goes straight into dst: no point in staging a large frame in our buffer.
            int dstLimit = dst.limit();
            dst.limit(dst.position() + missing);
            try {
                while (dst.hasRemaining()) {
                    if (channel.read(dst) < 0) {
                        throw new FrameStreamException("stream ended inside a frame of " + length + " bytes ("
                                + dst.remaining() + " missing)");
                    }
                }
            } finally {
                dst.limit(dstLimit);
            }
        }
        return length;
    }

    /** Reads until at least {@code n} bytes are buffered; false when the stream ended first. */
    private boolean fill(int n) throws IOException {
        if (buffer.remaining() >= n) {
            return true;
        }
        buffer.compact();
        try {
            while (buffer.position() < n) {
                if (channel.read(buffer) < 0) {
                    return false;
                }
            }
        } finally {
            buffer.flip();
        }
        return true;
    }

    /**
     * The sending side: writes frames with their length prefix. Reuses its prefix buffer, so it
     * allocates nothing per frame; not thread-safe (the backend serializes senders).
     */
    public static final class Writer {
        private final GatheringByteChannel channel;
        private final ByteBuffer header = ByteBuffer.allocateDirect(HEADER_BYTES).order(ByteOrder.BIG_ENDIAN);
        private final ByteBuffer[] parts = new ByteBuffer[2];

        public Writer(GatheringByteChannel channel) {
            this.channel = Objects.requireNonNull(channel, "channel");
        }

        /** Writes the remaining bytes of {@code frame} as one frame; blocks until all is written. */
        public void write(ByteBuffer frame) throws IOException {
            header.clear();
            header.putInt(frame.remaining()).flip();
            parts[0] = header;
            parts[1] = frame;
            try {
                while (header.hasRemaining() || frame.hasRemaining()) {
                    channel.write(parts);
                }
            } finally {
                parts[1] = null;
            }
        }
    }
}
