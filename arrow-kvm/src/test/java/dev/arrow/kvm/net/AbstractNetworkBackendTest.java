package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What every backend does the same way: the reader, failure reporting and the order of close, over a queue as transport. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AbstractNetworkBackendTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    /** A backend whose host side is a queue of frames the test puts; it records what the skeleton asks of it. */
    static final class QueueBackend extends AbstractNetworkBackend {
        /** Put by {@link #interruptReader()}: the reader's read returns -1. */
        static final byte[] WAKE = new byte[0];

        final BlockingQueue<byte[]> fromHost = new LinkedBlockingQueue<>();
        final BlockingQueue<Object> readErrors = new LinkedBlockingQueue<>();
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<Integer> seen = new CopyOnWriteArrayList<>();
        final List<Integer> transmitted = new CopyOnWriteArrayList<>();
        volatile Thread readerThread;

        QueueBackend() {
            super(4);
        }

        @Override
        public String describe() {
            return "queue";
        }

        @Override
        String readerName() {
            return "test-reader";
        }

        @Override
        int readFrame(ByteBuffer slot) throws IOException, InterruptedException {
            readerThread = Thread.currentThread();
            Object error = readErrors.poll();
            if (error instanceof IOException e) {
                throw e;
            }
            if (error instanceof RuntimeException e) {
                throw e;
            }
            byte[] frame = fromHost.take();
            if (frame == WAKE) {
                events.add("reader woke");
                return -1;
            }
            slot.put(frame);
            return frame.length;
        }

        @Override
        void received(ByteBuffer slot, int length) {
            seen.add(length);
        }

        @Override
        boolean transmit(ByteBuffer frame) {
            transmitted.add(frame.remaining());
            return true;
        }

        /** Lets the reader end before {@link #interruptReader} goes on, as a closing thread that loses the race does. */
        volatile boolean readerEndsFirst;

        @Override
        void interruptReader() {
            if (readerEndsFirst) {
                try {
                    readerThread.join(WAIT.toMillis());
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }
            if (events.contains("releaseReaderResources")) {
                throw new IllegalStateException("the wakeup is closed"); // as TapBackend's eventfd says
            }
            events.add("interruptReader");
            fromHost.add(WAKE);
        }

        @Override
        void closeTransport() {
            events.add("closeTransport");
        }

        @Override
        void releaseReaderResources() {
            events.add("releaseReaderResources");
        }

        @Override
        public long framesSent() {
            return transmitted.size();
        }

        @Override
        public long framesDroppedOnSend() {
            return 0;
        }
    }

    final QueueBackend backend = new QueueBackend();
    final FrameCollector frames = new FrameCollector(backend);

    @AfterEach
    void close() {
        backend.close();
    }

    @Test
    void closeWakesTheReaderWaitsForItThenClosesTheTransportAndReleasesWhatTheReaderUsedLast() throws Exception {
        backend.start(frames);
        awaitReader(Thread.State.WAITING); // in the transport
        backend.close();
        assertThat(backend.events).containsExactly("interruptReader", "reader woke", "closeTransport",
                "releaseReaderResources");
        assertThat(backend.isHealthy()).isFalse();
        assertThat(backend.inbox().isClosed()).isTrue();
        backend.close(); // idempotent
        assertThat(backend.events).hasSize(4);
    }

    /**
     * A reader that waits for a free slot leaves as soon as close() closes the inbox, before close()
     * wakes it: what waking uses (TapBackend's eventfd) must still be there. TapBackend's reader used
     * to release it on its way out, and close() then failed on the closed eventfd.
     */
    @Test
    void aReaderThatEndsBeforeCloseWakesItLeavesWhatWakingUses() throws Exception {
        backend.start(new NetworkBackend.Listener() {
            @Override
            public void framesAvailable() {
                // a guest that takes no frames
            }

            @Override
            public void failed(String reason) {
                frames.failed(reason);
            }
        });
        for (int i = 0; i < backend.inbox().capacity(); i++) {
            backend.fromHost.add(new byte[60]);
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (backend.inbox().size() < backend.inbox().capacity()) {
            assertThat(System.nanoTime()).as("the inbox fills").isLessThan(deadline);
            Thread.sleep(5);
        }
        awaitReader(Thread.State.WAITING); // for a free slot
        backend.readerEndsFirst = true;
        backend.close();
        assertThat(backend.readerThread.isAlive()).isFalse();
        assertThat(backend.events).containsExactly("interruptReader", "closeTransport", "releaseReaderResources");
    }

    @Test
    void aBackendNeverStartedReleasesEverythingAtCloseAndCannotStartAfter() {
        backend.close();
        assertThat(backend.events).containsExactly("interruptReader", "closeTransport", "releaseReaderResources");
        assertThatThrownBy(() -> backend.start(frames)).isInstanceOf(IllegalStateException.class)
                .hasMessage("queue is closed");
    }

    @Test
    void aReaderBlockedOnTheDevicesLockIsNotWaitedForAndReleasesWhatItUsedWhenItEnds() throws Exception {
        Object deviceLock = new Object();
        backend.start(new NetworkBackend.Listener() {
            @Override
            public void framesAvailable() {
                synchronized (deviceLock) { // the device's transport lock, held by the closing thread
                    frames.framesAvailable();
                }
            }

            @Override
            public void failed(String reason) {
                frames.failed(reason);
            }
        });
        long took;
        synchronized (deviceLock) {
            backend.fromHost.add(new byte[60]);
            awaitReader(Thread.State.BLOCKED);
            long t0 = System.nanoTime();
            backend.close();
            took = System.nanoTime() - t0;
            assertThat(backend.events).containsExactly("interruptReader", "closeTransport");
        }
        assertThat(Duration.ofNanos(took)).isLessThan(Duration.ofMillis(AbstractNetworkBackend.CLOSE_WAIT_MILLIS));
        backend.readerThread.join(WAIT.toMillis());
        assertThat(backend.events).containsExactly("interruptReader", "closeTransport", "releaseReaderResources");
    }

    private void awaitReader(Thread.State state) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (backend.readerThread == null || backend.readerThread.getState() != state) {
            assertThat(System.nanoTime()).as("the reader is " + state).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    @Test
    void framesShorterThanAnEthernetHeaderAreDroppedAndCountedTheOthersReachTheDevice() throws Exception {
        backend.start(frames);
        backend.fromHost.add(new byte[13]);
        backend.fromHost.add(new byte[60]);
        assertThat(frames.await(f -> true, WAIT, "frame")).hasSize(60);
        assertThat(backend.framesReceived()).isEqualTo(1);
        assertThat(backend.framesDroppedOnReceive()).isEqualTo(1);
        assertThat(backend.seen).containsExactly(60);
    }

    @Test
    void aFailureIsReportedOnceAndTheBackendThenSendsNothing() {
        backend.start(frames);
        backend.failed("the peer went away");
        backend.failed("and something else broke");
        assertThat(frames.failure).isEqualTo("the peer went away");
        assertThat(frames.failed.getCount()).isZero();
        assertThat(backend.isHealthy()).isFalse();
        assertThat(backend.send(ByteBuffer.allocate(60))).isFalse();
        assertThat(backend.transmitted).isEmpty();
    }

    @Test
    void aFailureAfterCloseIsNotReported() {
        backend.start(frames);
        backend.close();
        backend.failed("the peer went away as we closed");
        assertThat(frames.failure).isNull();
    }

    @Test
    void aReadErrorIsReportedInTheTransportsWords() throws Exception {
        backend.readErrors.add(new IOException("connection reset"));
        backend.start(frames);
        assertThat(frames.failed.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(frames.failure).isEqualTo("reading failed: connection reset");
        assertThat(backend.isHealthy()).isFalse();
    }

    @Test
    void anUnexpectedErrorStopsTheReaderAndIsReported() throws Exception {
        backend.readErrors.add(new IllegalStateException("a bug"));
        backend.start(frames);
        assertThat(frames.failed.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(frames.failure).isEqualTo("the reader stopped: java.lang.IllegalStateException: a bug");
    }

    @Test
    void aListenerThatThrowsDoesNotStopTheReader() throws Exception {
        List<String> told = new CopyOnWriteArrayList<>();
        backend.start(new NetworkBackend.Listener() {
            @Override
            public void framesAvailable() {
                told.add("frames");
                backend.inbox().peek();
                backend.inbox().release();
                throw new IllegalStateException("a device bug");
            }

            @Override
            public void failed(String reason) {
                told.add("failed");
            }
        });
        backend.fromHost.add(new byte[60]);
        backend.fromHost.add(new byte[60]);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (backend.framesReceived() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(backend.framesReceived()).isEqualTo(2);
        assertThat(backend.isHealthy()).isTrue();
        assertThat(told).doesNotContain("failed");
    }

    @Test
    void sendTakesOnlyFramesOfAnEthernetFramesSizeAndStartOnlyOnce() {
        backend.start(frames);
        assertThatThrownBy(() -> backend.send(ByteBuffer.allocate(13))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> backend.send(ByteBuffer.allocate(NetworkBackend.MAX_FRAME_BYTES + 1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(backend.send(ByteBuffer.allocate(14))).isTrue();
        assertThat(backend.transmitted).containsExactly(14);
        assertThatThrownBy(() -> backend.start(frames)).isInstanceOf(IllegalStateException.class)
                .hasMessage("queue is already started");
    }
}
