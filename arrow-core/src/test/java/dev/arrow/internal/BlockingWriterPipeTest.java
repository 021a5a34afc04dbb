package dev.arrow.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BlockingWriterPipeTest {

    @Test
    void bytesComeOutInOrderAcrossTheRingBoundary() throws IOException {
        BlockingWriterPipe pipe = new BlockingWriterPipe(7);
        byte[] out = new byte[5];
        for (int round = 0; round < 10; round++) {
            byte[] in = {(byte) round, 1, 2, 3, (byte) (round + 10)};
            assertThat(pipe.write(in, 0, 5)).isTrue();
            assertThat(pipe.source().readNBytes(out, 0, 5)).isEqualTo(5);
            assertThat(out).isEqualTo(in);
        }
    }

    @Test
    void aFullPipeBlocksTheWriterUntilTheReaderCatchesUp() throws Exception {
        BlockingWriterPipe pipe = new BlockingWriterPipe(16);
        byte[] data = new byte[1000];
        new Random(1).nextBytes(data);
        CompletableFuture<Boolean> writer = CompletableFuture.supplyAsync(() -> pipe.write(data, 0, data.length));
        Thread.sleep(100);
        assertThat(writer).isNotDone();
        assertThat(pipe.buffered()).isEqualTo(16);
        byte[] got = pipe.source().readNBytes(1000);
        assertThat(got).isEqualTo(data);
        assertThat(writer.get(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void closingTheWriterGivesEndOfFileAfterTheBufferedBytes() throws IOException {
        BlockingWriterPipe pipe = new BlockingWriterPipe(16);
        pipe.write(new byte[]{1, 2, 3}, 0, 3);
        pipe.closeWriter();
        assertThat(pipe.write(new byte[]{4}, 0, 1)).isFalse();
        InputStream in = pipe.source();
        assertThat(in.readAllBytes()).containsExactly(1, 2, 3);
        assertThat(in.read()).isEqualTo(-1);
    }

    @Test
    void discardingReleasesABlockedWriterAndKeepsWhatWasBuffered() throws Exception {
        BlockingWriterPipe pipe = new BlockingWriterPipe(4);
        CompletableFuture<Boolean> writer = CompletableFuture.supplyAsync(() -> pipe.write(new byte[10], 0, 10));
        Thread.sleep(100);
        assertThat(writer).isNotDone();
        pipe.discardFurtherWrites();
        assertThat(writer.get(5, TimeUnit.SECONDS)).isFalse();
        assertThat(pipe.write(new byte[]{1}, 0, 1)).isFalse();
        pipe.closeWriter();
        assertThat(pipe.source().readAllBytes()).hasSize(4);
    }

    @Test
    void closingTheReaderReleasesTheWriterAndFailsReads() throws Exception {
        BlockingWriterPipe pipe = new BlockingWriterPipe(4);
        CompletableFuture<Boolean> writer = CompletableFuture.supplyAsync(() -> pipe.write(new byte[10], 0, 10));
        Thread.sleep(100);
        pipe.source().close();
        assertThat(writer.get(5, TimeUnit.SECONDS)).isFalse();
        assertThatThrownBy(() -> pipe.source().read()).isInstanceOf(IOException.class).hasMessage("Stream closed");
        assertThatThrownBy(() -> pipe.source().available()).isInstanceOf(IOException.class);
    }

    @Test
    void aBlockedReaderCanBeInterrupted() throws Exception {
        BlockingWriterPipe pipe = new BlockingWriterPipe(4);
        CompletableFuture<Throwable> result = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try {
                pipe.source().read();
                result.complete(null);
            } catch (IOException e) {
                result.complete(e);
            }
        });
        reader.start();
        Thread.sleep(100);
        reader.interrupt();
        assertThat(result.get(5, TimeUnit.SECONDS)).isInstanceOf(InterruptedIOException.class);
    }

    @Test
    void badArgumentsAreRejected() {
        assertThatThrownBy(() -> new BlockingWriterPipe(0)).isInstanceOf(IllegalArgumentException.class);
        BlockingWriterPipe pipe = new BlockingWriterPipe(4);
        assertThatThrownBy(() -> pipe.write(new byte[2], 1, 2)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> pipe.source().read(new byte[2], -1, 1)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
