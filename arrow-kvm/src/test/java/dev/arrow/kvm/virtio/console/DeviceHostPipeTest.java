package dev.arrow.kvm.virtio.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DeviceHostPipeTest {
    final DeviceHostPipe pipe = new DeviceHostPipe("test", 8);
    final AtomicInteger wakeups = new AtomicInteger();

    @Test
    void aWriteTakesOnlyWhatFitsAndBytesWrapAroundInOrder() throws IOException {
        InputStream in = pipe.inputStream(wakeups::incrementAndGet);
        assertThat(pipe.tryWrite(new byte[] {1, 2, 3, 4, 5, 6}, 0, 6)).isEqualTo(6);
        assertThat(in.readNBytes(4)).containsExactly(1, 2, 3, 4);
        assertThat(pipe.tryWrite(new byte[] {7, 8, 9, 10, 11, 12, 13}, 0, 7)).isEqualTo(6);
        assertThat(pipe.available()).isEqualTo(8);
        assertThat(in.readNBytes(8)).containsExactly(5, 6, 7, 8, 9, 10, 11, 12);
    }

    @Test
    void theReaderIsWokenOnlyWhenTheWriterHadToStop() throws IOException {
        InputStream in = pipe.inputStream(wakeups::incrementAndGet);
        pipe.tryWrite(new byte[4], 0, 4);
        in.read(new byte[2]);
        assertThat(wakeups.get()).as("nobody was waiting").isZero();
        pipe.tryWrite(new byte[10], 0, 10);
        in.read(new byte[1]);
        assertThat(wakeups.get()).isEqualTo(1);
        in.read(new byte[1]);
        assertThat(wakeups.get()).as("told once").isEqualTo(1);
        pipe.tryWrite(new byte[2], 0, 2);
        assertThat(pipe.spaceOrWait()).isZero();
        in.read();
        assertThat(wakeups.get()).isEqualTo(2);
    }

    @Test
    void aReaderWaitsForDataAndSeesEndOfFileAfterTheLastByte() throws Exception {
        InputStream in = pipe.inputStream(wakeups::incrementAndGet);
        CompletableFuture<Integer> first = CompletableFuture.supplyAsync(() -> {
            try {
                return in.read();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(100);
        assertThat(first).isNotDone();
        pipe.tryWrite(new byte[] {42, 43}, 0, 2);
        assertThat(first.get(5, TimeUnit.SECONDS)).isEqualTo(42);
        pipe.closeWriter();
        assertThat(in.read()).isEqualTo(43);
        assertThat(in.read()).isEqualTo(-1);
        assertThat(pipe.isDrained()).isTrue();
        assertThat(pipe.tryWrite(new byte[1], 0, 1)).as("nothing after the end").isZero();
    }

    @Test
    void closingTheReaderDropsBufferedBytesAndDiscardsLaterOnes() throws IOException {
        InputStream in = pipe.inputStream(wakeups::incrementAndGet);
        pipe.tryWrite(new byte[5], 0, 5);
        in.close();
        assertThat(wakeups.get()).as("the device is told so it can drain the guest").isEqualTo(1);
        assertThat(pipe.tryWrite(new byte[100], 0, 100)).isEqualTo(100);
        assertThat(pipe.discardedBytes()).isEqualTo(105);
        assertThat(pipe.spaceOrWait()).isPositive();
        assertThatThrownBy(in::read).isInstanceOf(IOException.class).hasMessageContaining("closed");
    }

    @Test
    void aWriterBlocksWhileFullAndResumesWhenTheDeviceReads() throws Exception {
        OutputStream out = pipe.outputStream(wakeups::incrementAndGet);
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                out.write(new byte[20]);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(100);
        assertThat(writer).isNotDone();
        assertThat(pipe.available()).isEqualTo(8);
        byte[] sink = new byte[8];
        int total = 0;
        while (total < 20) {
            total += pipe.tryRead(sink, 0, sink.length);
            Thread.onSpinWait();
        }
        writer.get(5, TimeUnit.SECONDS);
        assertThat(wakeups.get()).isGreaterThanOrEqualTo(3);
        out.close();
        assertThat(pipe.isDrained()).isTrue();
        assertThatThrownBy(() -> out.write(1)).isInstanceOf(IOException.class);
    }

    @Test
    void itBecomesReadableWithItsFirstBytesOrItsEndAndOutsideItsLock() throws Exception {
        CompletableFuture<Boolean> lockHeld = pipe.readable().thenApply(v -> Thread.holdsLock(pipe));
        assertThat(pipe.tryWrite(new byte[3], 0, 0)).isZero();
        assertThat(pipe.readable()).as("nothing to read yet").isNotDone();
        pipe.tryWrite(new byte[] {5}, 0, 1);
        assertThat(lockHeld.get()).isFalse();

        DeviceHostPipe ended = new DeviceHostPipe("ended", 8);
        ended.closeWriter();
        assertThat(ended.readable()).isDone();
        DeviceHostPipe closed = new DeviceHostPipe("closed", 8);
        closed.inputStream(wakeups::incrementAndGet).close();
        assertThat(closed.readable()).isDone();
    }

    @Test
    void aWriterFailsOnceTheReaderIsGone() {
        OutputStream out = pipe.outputStream(wakeups::incrementAndGet);
        pipe.closeReader();
        assertThatThrownBy(() -> out.write(1)).isInstanceOf(IOException.class).hasMessageContaining("gone");
    }

    @Test
    void anInterruptedReaderGetsInterruptedIoException() {
        InputStream in = pipe.inputStream(wakeups::incrementAndGet);
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(in::read).isInstanceOf(InterruptedIOException.class);
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void aReadReadyCallbackIsKeptOnlyWhileNothingCanBeReadAndRunsOnceOnTheNextWrite() throws IOException {
        InputStream in = pipe.inputStream(wakeups::incrementAndGet);
        AtomicInteger called = new AtomicInteger();
        assertThat(pipe.callWhenReadable(called::incrementAndGet)).as("empty and open: kept").isTrue();
        assertThatThrownBy(() -> pipe.callWhenReadable(called::incrementAndGet)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already waiting");
        pipe.tryWrite(new byte[] {1, 2}, 0, 2);
        assertThat(called.get()).isEqualTo(1);
        pipe.tryWrite(new byte[] {3}, 0, 1);
        assertThat(called.get()).as("once").isEqualTo(1);
        assertThat(pipe.callWhenReadable(called::incrementAndGet)).as("bytes to read: not kept").isFalse();
        assertThat(in.readNBytes(3)).containsExactly(1, 2, 3);
        assertThat(pipe.tryWrite(new byte[0], 0, 0)).isZero();
        assertThat(pipe.callWhenReadable(called::incrementAndGet)).isTrue();
        assertThat(pipe.tryWrite(new byte[0], 0, 0)).isZero();
        assertThat(called.get()).as("an empty write makes nothing readable").isEqualTo(1);
        pipe.closeWriter();
        assertThat(called.get()).as("end-of-file is readable").isEqualTo(2);
        assertThat(pipe.callWhenReadable(called::incrementAndGet)).as("ended: a read does not block").isFalse();
        assertThat(in.read()).isEqualTo(-1);
    }

    @Test
    void aReadReadyCallbackRunsWhenTheReaderIsClosed() throws IOException {
        InputStream in = pipe.inputStream(wakeups::incrementAndGet);
        AtomicInteger called = new AtomicInteger();
        assertThat(pipe.callWhenReadable(called::incrementAndGet)).isTrue();
        in.close();
        assertThat(called.get()).isEqualTo(1);
        assertThat(pipe.callWhenReadable(called::incrementAndGet)).isFalse();
    }
}
