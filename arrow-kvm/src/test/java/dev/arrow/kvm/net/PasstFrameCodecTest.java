package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PasstFrameCodecTest {
    static final int MAX = NetworkBackend.MAX_FRAME_BYTES;

    /** A channel that hands out {@code data} in chunks of the given sizes (cycling), then ends. */
    static final class ChunkedChannel implements ReadableByteChannel {
        private final byte[] data;
        private final int[] chunks;
        private int pos;
        private int call;
        int reads;

        ChunkedChannel(byte[] data, int... chunks) {
            this.data = data;
            this.chunks = chunks;
        }

        @Override
        public int read(ByteBuffer dst) {
            reads++;
            if (pos == data.length) {
                return -1;
            }
            int n = Math.min(Math.min(chunks[call++ % chunks.length], dst.remaining()), data.length - pos);
            dst.put(data, pos, n);
            pos += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    /** A gathering channel over a byte stream that accepts at most {@code max} bytes per write call. */
    static final class TrickleChannel implements java.nio.channels.GatheringByteChannel {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final WritableByteChannel target = Channels.newChannel(out);
        private final int max;

        TrickleChannel(int max) {
            this.max = max;
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            for (int i = offset; i < offset + length; i++) {
                if (srcs[i].hasRemaining()) {
                    return write(srcs[i]);
                }
            }
            return 0;
        }

        @Override
        public long write(ByteBuffer[] srcs) throws IOException {
            return write(srcs, 0, srcs.length);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            ByteBuffer part = src.duplicate();
            part.limit(part.position() + Math.min(max, part.remaining()));
            int n = target.write(part);
            src.position(src.position() + n);
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    static byte[] frame(int length, int seed) {
        byte[] f = new byte[length];
        new Random(seed).nextBytes(f);
        return f;
    }

    static byte[] encode(byte[]... frames) throws IOException {
        TrickleChannel ch = new TrickleChannel(Integer.MAX_VALUE);
        PasstFrameCodec.Writer w = new PasstFrameCodec.Writer(ch);
        for (byte[] f : frames) {
            w.write(ByteBuffer.wrap(f));
        }
        return ch.out.toByteArray();
    }

    static List<byte[]> decodeAll(PasstFrameCodec codec) throws IOException {
        List<byte[]> out = new ArrayList<>();
        ByteBuffer dst = ByteBuffer.allocate(MAX);
        int n;
        while ((n = codec.readFrame(dst.clear())) >= 0) {
            assertThat(dst.position()).isEqualTo(n);
            out.add(Arrays.copyOf(dst.array(), n));
        }
        return out;
    }

    @Test
    void eachFrameIsPrecededByItsBigEndianLength() throws IOException {
        byte[] bytes = encode(new byte[] {1, 2, 3}, frame(0x1234, 1));
        assertThat(Arrays.copyOfRange(bytes, 0, 7)).containsExactly(0, 0, 0, 3, 1, 2, 3);
        assertThat(Arrays.copyOfRange(bytes, 7, 11)).containsExactly(0, 0, 0x12, 0x34);
        assertThat(bytes).hasSize(7 + 4 + 0x1234);
    }

    @Test
    void writerFinishesFramesWhenTheChannelTakesOnlyAFewBytesPerCall() throws IOException {
        TrickleChannel ch = new TrickleChannel(3);
        PasstFrameCodec.Writer w = new PasstFrameCodec.Writer(ch);
        byte[] f = frame(1000, 2);
        w.write(ByteBuffer.wrap(f));
        w.write(ByteBuffer.wrap(f));
        assertThat(ch.out.toByteArray()).isEqualTo(encode(f, f));
    }

    @Test
    void framesSplitAcrossReadsAtEveryPossibleBoundaryAreReassembled() throws IOException {
        byte[][] frames = {frame(14, 1), frame(1514, 2), frame(60, 3), frame(MAX, 4), frame(100, 5)};
        byte[] stream = encode(frames);
        for (int[] chunks : new int[][] {{1}, {2}, {3}, {5, 1}, {4}, {4096}, {7, 13, 1}, {65536}, {stream.length}}) {
            PasstFrameCodec codec = new PasstFrameCodec(new ChunkedChannel(stream, chunks), 1024, MAX);
            List<byte[]> got = decodeAll(codec);
            assertThat(got).as("chunks %s", Arrays.toString(chunks)).hasSize(frames.length);
            for (int i = 0; i < frames.length; i++) {
                assertThat(got.get(i)).isEqualTo(frames[i]);
            }
        }
    }

    @Test
    void manySmallFramesAreDecodedFromFewReads() throws IOException {
        byte[][] frames = new byte[200][];
        for (int i = 0; i < frames.length; i++) {
            frames[i] = frame(60 + i, i);
        }
        ChunkedChannel ch = new ChunkedChannel(encode(frames), 1 << 20);
        List<byte[]> got = decodeAll(new PasstFrameCodec(ch, 256 * 1024, MAX));
        assertThat(got).hasSize(200);
        assertThat(ch.reads).as("one read for the whole stream, one for the end").isEqualTo(2);
    }

    @Test
    void aLengthAboveTheLimitIsRejected() {
        byte[] stream = {0, 1, 0, 0x12, 9, 9};
        PasstFrameCodec codec = new PasstFrameCodec(new ChunkedChannel(stream, 100), 1024, MAX);
        assertThatThrownBy(() -> codec.readFrame(ByteBuffer.allocate(MAX)))
                .isInstanceOf(FrameStreamException.class).hasMessageContaining("frame length 65554 is outside 1..65553");
    }

    @Test
    void aNegativeLookingLengthIsRejectedAsTooLarge() {
        byte[] stream = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        PasstFrameCodec codec = new PasstFrameCodec(new ChunkedChannel(stream, 100), 1024, MAX);
        assertThatThrownBy(() -> codec.readFrame(ByteBuffer.allocate(MAX)))
                .isInstanceOf(FrameStreamException.class).hasMessageContaining("frame length 4294967295");
    }

    @Test
    void aZeroLengthIsRejected() {
        PasstFrameCodec codec = new PasstFrameCodec(new ChunkedChannel(new byte[4], 100), 1024, MAX);
        assertThatThrownBy(() -> codec.readFrame(ByteBuffer.allocate(MAX)))
                .isInstanceOf(FrameStreamException.class).hasMessageContaining("frame length 0");
    }

    @Test
    void anEndInsideAFrameOrItsPrefixIsAnErrorButAnEndBetweenFramesIsNot() throws IOException {
        byte[] stream = encode(frame(100, 1));
        PasstFrameCodec clean = new PasstFrameCodec(new ChunkedChannel(stream, 7), 1024, MAX);
        assertThat(decodeAll(clean)).hasSize(1);

        PasstFrameCodec inPrefix = new PasstFrameCodec(new ChunkedChannel(Arrays.copyOf(stream, 2), 7), 1024, MAX);
        assertThatThrownBy(() -> inPrefix.readFrame(ByteBuffer.allocate(MAX)))
                .isInstanceOf(FrameStreamException.class).hasMessageContaining("inside a frame's length prefix (2 of 4");

        PasstFrameCodec inFrame = new PasstFrameCodec(new ChunkedChannel(Arrays.copyOf(stream, 50), 7), 16, MAX);
        assertThatThrownBy(() -> inFrame.readFrame(ByteBuffer.allocate(MAX)))
                .isInstanceOf(FrameStreamException.class).hasMessageContaining("inside a frame of 100 bytes (54 missing)");
    }

    @Test
    void theDestinationMustHaveRoomForTheLargestFrame() {
        PasstFrameCodec codec = new PasstFrameCodec(new ChunkedChannel(new byte[0], 1), 1024, MAX);
        assertThatThrownBy(() -> codec.readFrame(ByteBuffer.allocate(1500))).isInstanceOf(IllegalArgumentException.class);
    }
}
