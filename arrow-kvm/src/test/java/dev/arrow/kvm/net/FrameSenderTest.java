package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The transmit queue that keeps a congested host peer from blocking the device's thread. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FrameSenderTest {

    private static ByteBuffer frame(int length, int fill) {
        ByteBuffer b = ByteBuffer.allocate(length);
        for (int i = 0; i < length; i++) {
            b.put((byte) fill);
        }
        return b.flip();
    }

    /** A bound of the largest frame plus 10 000 bytes: room for one such frame while at most 10 000 are queued. */
    static final long BOUND = NetworkBackend.MAX_FRAME_BYTES + 10_000;

    @Test
    void aBlockedPeerNeitherBlocksTheSenderNorGrowsTheQueuePastItsBound() throws Exception {
        CountDownLatch peerReads = new CountDownLatch(1);
        List<Integer> written = new CopyOnWriteArrayList<>();
        FrameSender s = new FrameSender("test-tx", f -> {
            try {
                peerReads.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            written.add(f.get(0) & 0xff);
        }, BOUND, e -> { }, () -> { });
        s.start();
        int accepted = 0;
        for (int i = 0; i < 100; i++) { // 100 x 1000 bytes against a 75 553-byte queue, peer stuck
            if (s.offer(frame(1000, i))) {
                accepted++;
            }
        }
        assertThat(accepted).isBetween(75, 76); // one may already sit in the peer's write
        assertThat(s.dropped()).isEqualTo(100 - accepted);
        assertThat(s.queuedBytes()).isLessThanOrEqualTo(BOUND);
        peerReads.countDown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (s.sent() < accepted && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(written).as("in order, the first ones").hasSize(accepted).isSorted().startsWith(0, 1, 2);
        assertThat(s.queuedBytes()).isZero();
        s.close(1000);
        assertThat(s.isAlive()).isFalse();
    }

    @Test
    void aFullQueueSaysSoAndCallsBackOnceItHasDrainedToHalf() throws Exception {
        CountDownLatch peerReads = new CountDownLatch(1);
        AtomicInteger roomCalls = new AtomicInteger();
        List<Long> queuedAtCallback = new CopyOnWriteArrayList<>();
        FrameSender[] self = new FrameSender[1];
        FrameSender s = new FrameSender("test-tx", f -> {
            try {
                peerReads.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
        }, BOUND, e -> { }, () -> {
            queuedAtCallback.add(self[0].queuedBytes()); // before the count the test waits for
            roomCalls.incrementAndGet();
        });
        self[0] = s;
        s.start();
        assertThat(s.hasRoom()).isTrue();
        int offered = 0;
        while (s.hasRoom()) { // the way the device sends: ask first, then offer
            assertThat(s.offer(frame(1000, offered))).as("a frame offered after a yes is never dropped").isTrue();
            offered++;
        }
        assertThat(offered).isBetween(10, 12);
        assertThat(s.hasRoom()).as("still no room, asked twice").isFalse();
        assertThat(roomCalls).hasValue(0);
        peerReads.countDown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (roomCalls.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(roomCalls).as("one call for the two noes").hasValue(1);
        assertThat(queuedAtCallback.get(0)).isLessThanOrEqualTo(BOUND / 2);
        assertThat(s.hasRoom()).isTrue();
        while (s.sent() < offered && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(s.dropped()).isZero();
        assertThat(roomCalls).as("no call without a no").hasValue(1);
        s.close(1000);
    }

    @Test
    void aQueueSmallerThanTheLargestFrameIsRefused() {
        assertThatThrownBy(() -> new FrameSender("test-tx", f -> { }, 1000, e -> { }, () -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot hold the largest frame");
    }

    @Test
    void theCallersBufferIsCopiedAndConsumed() throws Exception {
        AtomicReference<byte[]> got = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        FrameSender s = new FrameSender("test-tx", f -> {
            byte[] b = new byte[f.remaining()];
            f.get(b);
            got.set(b);
            done.countDown();
        }, 1 << 20, e -> { }, () -> { });
        ByteBuffer mine = frame(20, 7);
        assertThat(s.offer(mine)).isTrue();
        assertThat(mine.hasRemaining()).isFalse();
        mine.clear().put(0, (byte) 99); // reused by the caller before the frame is written
        s.start();
        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(got.get()).hasSize(20).containsOnly(7);
        s.close(1000);
    }

    @Test
    void aWriteFailureIsReportedOnceAndLaterFramesAreNotWritten() throws Exception {
        List<String> failures = new CopyOnWriteArrayList<>();
        CountDownLatch failed = new CountDownLatch(1);
        FrameSender s = new FrameSender("test-tx", f -> {
            throw new IOException("broken pipe");
        }, 1 << 20, e -> {
            failures.add(e.getMessage());
            failed.countDown();
        }, () -> { });
        s.start();
        s.offer(frame(20, 1));
        assertThat(failed.await(5, TimeUnit.SECONDS)).isTrue();
        s.offer(frame(20, 2));
        Thread.sleep(50);
        assertThat(failures).containsExactly("broken pipe");
        assertThat(s.sent()).isZero();
        s.close(1000);
        assertThat(s.isAlive()).isFalse();
    }

    @Test
    void aClosedSenderDropsFrames() {
        FrameSender s = new FrameSender("test-tx", f -> { }, 1 << 20, e -> { }, () -> { });
        s.start();
        s.close(1000);
        assertThat(s.offer(frame(20, 1))).isFalse();
        assertThat(s.dropped()).isEqualTo(1);
        assertThat(s.isAlive()).isFalse();
    }
}
