package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FrameInboxTest {

    static void put(FrameInbox inbox, int value, int length) throws InterruptedException {
        int slot = inbox.claim();
        ByteBuffer b = inbox.slot(slot);
        for (int i = 0; i < length; i++) {
            b.put((byte) value);
        }
        inbox.publish(length);
    }

    @Test
    void framesComeOutInOrderWithTheirLengths() throws InterruptedException {
        FrameInbox inbox = new FrameInbox(3, 100);
        put(inbox, 1, 10);
        put(inbox, 2, 20);
        ByteBuffer first = inbox.peek();
        assertThat(first.remaining()).isEqualTo(10);
        assertThat(first.get(0)).isEqualTo((byte) 1);
        inbox.release();
        put(inbox, 3, 30);
        put(inbox, 4, 40); // wraps around the slots
        assertThat(inbox.peek().remaining()).isEqualTo(20);
        inbox.release();
        assertThat(inbox.peek().get(29)).isEqualTo((byte) 3);
        inbox.release();
        assertThat(inbox.peek().remaining()).isEqualTo(40);
        inbox.release();
        assertThat(inbox.peek()).isNull();
    }

    @Test
    void buffersAreAllocatedOnlyForTheMostFramesThatEverWaitedAtOnce() throws InterruptedException {
        FrameInbox inbox = new FrameInbox(64, 100);
        assertThat(inbox.allocatedSlots()).isZero();
        for (int round = 0; round < 200; round++) { // one frame at a time, round the ring three times
            put(inbox, round, 10);
            assertThat(inbox.peek().get(0)).isEqualTo((byte) round);
            inbox.release();
        }
        assertThat(inbox.allocatedSlots()).isEqualTo(1);
        for (int i = 0; i < 5; i++) {
            put(inbox, i, 10);
        }
        assertThat(inbox.allocatedSlots()).isEqualTo(5);
        ByteBuffer first = inbox.peek();
        assertThat(first.isDirect()).isTrue();
        assertThat(first.capacity()).isEqualTo(100);
        assertThat(first.get(0)).isZero();
        for (int i = 0; i < 5; i++) {
            inbox.release();
        }
        for (int i = 0; i < 5; i++) {
            put(inbox, 7, 10);
        }
        assertThat(inbox.allocatedSlots()).as("the released buffers are reused").isEqualTo(5);
    }

    @Test
    void anAbandonedClaimKeepsItsBufferForTheNextClaim() throws InterruptedException {
        FrameInbox inbox = new FrameInbox(4, 100);
        int slot = inbox.claim();
        ByteBuffer b = inbox.slot(slot);
        inbox.abandon();
        assertThat(inbox.slot(inbox.claim())).isSameAs(b);
        assertThat(inbox.allocatedSlots()).isEqualTo(1);
        assertThatThrownBy(() -> inbox.slot((slot + 1) % 4)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("neither claimed nor queued");
    }

    @Test
    void onlyThePublicationIntoAnEmptyInboxAsksForTheConsumer() throws InterruptedException {
        FrameInbox inbox = new FrameInbox(4, 100);
        inbox.claim();
        assertThat(inbox.publish(1)).isTrue();
        inbox.claim();
        assertThat(inbox.publish(1)).isFalse();
        inbox.release();
        inbox.release();
        inbox.claim();
        assertThat(inbox.publish(1)).isTrue();
    }

    @Test
    void theProducerWaitsWhileTheInboxIsFullAndResumesWhenAFrameIsReleased() throws Exception {
        FrameInbox inbox = new FrameInbox(2, 100);
        put(inbox, 1, 1);
        put(inbox, 2, 1);
        CompletableFuture<Integer> claim = CompletableFuture.supplyAsync(() -> {
            try {
                return inbox.claim();
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(100);
        assertThat(claim).isNotDone();
        inbox.release();
        assertThat(claim.get(5, TimeUnit.SECONDS)).isEqualTo(0);
    }

    @Test
    void closingWakesAWaitingProducerForGood() throws Exception {
        FrameInbox inbox = new FrameInbox(1, 100);
        put(inbox, 1, 1);
        CompletableFuture<Integer> claim = CompletableFuture.supplyAsync(() -> {
            try {
                return inbox.claim();
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(50);
        inbox.close();
        assertThat(claim.get(5, TimeUnit.SECONDS)).isEqualTo(-1);
        assertThat(inbox.peek()).isNull();
        assertThat(inbox.claim()).isEqualTo(-1);
    }

    @Test
    void anAbandonedClaimQueuesNothing() throws InterruptedException {
        FrameInbox inbox = new FrameInbox(1, 100);
        inbox.claim();
        inbox.abandon();
        assertThat(inbox.peek()).isNull();
        assertThat(inbox.claim()).isZero();
    }

    @Test
    void misuseIsRefused() throws InterruptedException {
        FrameInbox inbox = new FrameInbox(2, 100);
        assertThatThrownBy(inbox::release).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> inbox.publish(1)).isInstanceOf(IllegalStateException.class);
        inbox.claim();
        assertThatThrownBy(inbox::claim).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> inbox.publish(101)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FrameInbox(0, 100)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void localFramesComeBeforeTheProducersAndAreReleasedAsShown() throws InterruptedException {
        FrameInbox inbox = new FrameInbox(4, 100);
        assertThat(inbox.offerLocal(ByteBuffer.wrap(new byte[] {7, 7, 7}))).as("the inbox was empty: tell").isTrue();
        put(inbox, 1, 10);
        assertThat(inbox.size()).isEqualTo(2);
        ByteBuffer first = inbox.peek();
        assertThat(first.remaining()).isEqualTo(3);
        assertThat(first.get(0)).isEqualTo((byte) 7);
        inbox.release();
        assertThat(inbox.peek().remaining()).as("the producer's frame").isEqualTo(10);
        assertThat(inbox.offerLocal(ByteBuffer.wrap(new byte[5]))).as("not empty: no need to tell").isFalse();
        inbox.release(); // releases the producer's frame the last peek showed, not the new local one
        assertThat(inbox.peek().remaining()).isEqualTo(5);
        inbox.release();
        assertThat(inbox.peek()).isNull();
        assertThat(inbox.size()).isZero();
    }

    @Test
    void atMostLocalCapacityLocalFramesWaitAndNoneAfterClose() {
        FrameInbox inbox = new FrameInbox(2, 100);
        for (int i = 0; i < FrameInbox.LOCAL_CAPACITY; i++) {
            inbox.offerLocal(ByteBuffer.wrap(new byte[] {(byte) i}));
        }
        assertThat(inbox.offerLocal(ByteBuffer.wrap(new byte[1]))).isFalse();
        assertThat(inbox.localDropped()).isEqualTo(1);
        assertThat(inbox.size()).isEqualTo(FrameInbox.LOCAL_CAPACITY);
        inbox.close();
        assertThat(inbox.peek()).isNull();
        assertThat(inbox.offerLocal(ByteBuffer.wrap(new byte[1]))).isFalse();
        assertThat(inbox.localDropped()).isEqualTo(2);
        assertThatThrownBy(() -> new FrameInbox(2, 10).offerLocal(ByteBuffer.allocate(11)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aLocalFrameIsACopy() {
        FrameInbox inbox = new FrameInbox(2, 100);
        byte[] frame = {1, 2, 3};
        inbox.offerLocal(ByteBuffer.wrap(frame));
        frame[0] = 9;
        assertThat(inbox.peek().get(0)).isEqualTo((byte) 1);
    }
}
