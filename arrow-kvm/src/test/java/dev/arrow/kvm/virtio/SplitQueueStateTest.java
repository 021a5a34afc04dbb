package dev.arrow.kvm.virtio;

import static dev.arrow.kvm.virtio.testing.QueueDriver.Buffer.readable;
import static dev.arrow.kvm.virtio.testing.QueueDriver.Buffer.writable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The device side of a split queue captured mid-transfer and continued over a copy of guest memory. */
class SplitQueueStateTest {
    static final long FEATURES = VirtioFeatures.VERSION_1 | VirtioFeatures.INDIRECT_DESC | VirtioFeatures.EVENT_IDX;

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(1 << 20);
    final MirroredMemory driverView = new MirroredMemory(memory);
    final GuestArena arena = new GuestArena(driverView, GuestAddress.of(0x1000), (1 << 20) - 0x1000);
    final QueueDriver driver = QueueDriver.create(arena, 8);
    final SplitQueue queue = new SplitQueue(memory, driver.layout(), FEATURES, SplitQueue.DEFAULT_MAX_CHAIN_BYTES, "q");

    static SplitQueue.State state(QueueLayout layout, int nextAvail, int nextUsed) {
        return new SplitQueue.State(layout, true, true, nextAvail, nextUsed, 0, false, 0);
    }

    GuestAddress text(String s) {
        return arena.put(s.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void aFreshQueueRoundTrips() {
        SplitQueue.State state = queue.state();

        assertThat(SplitQueue.restore(memory, state, SplitQueue.DEFAULT_MAX_CHAIN_BYTES, "q").state()).isEqualTo(state);
        assertThat(state.eventIdx()).isTrue();
        assertThat(state.nextAvail()).isZero();
    }

    @Test
    void aQueueCapturedMidTransferContinuesLikeTheOriginal() {
        driver.add(List.of(readable(text("one"), 3), writable(arena.allocate(8), 8)));
        driver.add(readable(text("two"), 3));
        driver.add(readable(text("three"), 5));
        DescriptorChain first = queue.pop();
        queue.addUsed(first.headIndex(), 4);
        assertThat(queue.needsNotification()).isTrue();
        DescriptorChain held = queue.pop(); // taken, not returned yet
        queue.addUsed(queue.pop().headIndex(), 0); // returned, notification not checked yet

        SplitQueue.State state = queue.state();
        assertThat(state.nextAvail()).isEqualTo(3);
        assertThat(state.nextUsed()).isEqualTo(2);
        assertThat(state.unsignalledUsed()).isEqualTo(1);
        HeapGuestMemory copy = MirroredMemory.copyOf(memory);
        byte[] before = copy.read(GuestAddress.of(0), (int) copy.size());
        SplitQueue restored = SplitQueue.restore(copy, state, SplitQueue.DEFAULT_MAX_CHAIN_BYTES, "q");
        assertThat(copy.read(GuestAddress.of(0), (int) copy.size())).as("restoring writes no guest memory").isEqualTo(before);
        assertThat(restored.state()).isEqualTo(state);
        driverView.mirrorTo(copy);

        // The held chain is walked again from the copy; then both go on the same way.
        assertThat(restored.reopen(held.headIndex()).readableLength()).isEqualTo(held.readableLength());
        driver.add(writable(arena.allocate(16), 16));
        driver.setUsedEvent(3);
        List<List<Object>> steps = new java.util.ArrayList<>();
        for (SplitQueue q : List.of(queue, restored)) {
            q.addUsed(held.headIndex(), 0);
            boolean notifyAtThree = q.needsNotification(); // used idx 1 -> 3 does not pass used_event 3
            DescriptorChain next = q.pop();
            boolean empty = q.pop() == null; // publishes avail_event
            q.addUsed(next.headIndex(), 16);
            steps.add(List.of(notifyAtThree, next.headIndex(), empty, q.needsNotification()));
        }
        assertThat(steps.get(0)).isEqualTo(List.of(false, 4, true, true));
        assertThat(steps.get(1)).isEqualTo(steps.get(0));
        assertThat(restored.state()).isEqualTo(queue.state());
        assertThat(copy.read(GuestAddress.of(0), (int) copy.size()))
                .as("used ring, avail_event and buffers identical").isEqualTo(memory.read(GuestAddress.of(0), (int) memory.size()));
    }

    @Test
    void restoringRefusesRingsOutsideTheGivenMemory() {
        SplitQueue.State state = queue.state();
        HeapGuestMemory small = HeapGuestMemory.ofSize(0x1000);

        assertThatThrownBy(() -> SplitQueue.restore(small, state, SplitQueue.DEFAULT_MAX_CHAIN_BYTES, "q"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not inside guest RAM");
    }

    @Test
    void reopeningRefusesAHeadOutsideTheQueue() {
        assertThatThrownBy(() -> queue.reopen(8)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("head 8 outside queue of 8");
    }

    @Test
    void aDisabledQueueHasNoState() {
        queue.disable();

        assertThatThrownBy(queue::state).isInstanceOf(IllegalStateException.class).hasMessageContaining("disabled");
    }

    @Test
    void hostileQueueStatesAreRefused() {
        QueueLayout layout = driver.layout();
        QueueLayout sizeThree = new QueueLayout(3, layout.descriptorTable(), layout.availableRing(), layout.usedRing());
        QueueLayout overflowing = new QueueLayout(8, GuestAddress.of(0xFFFF_FFFF_FFFF_FFF0L), layout.availableRing(),
                layout.usedRing());
        QueueLayout misaligned = new QueueLayout(8, layout.descriptorTable(), layout.availableRing(),
                layout.usedRing().plus(2));

        assertThatThrownBy(() -> state(sizeThree, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("size 3 is not a power of two");
        assertThatThrownBy(() -> state(overflowing, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("descriptor table at 0xfffffffffffffff0 (128 bytes) runs past the end of the address space");
        assertThatThrownBy(() -> state(misaligned, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("used ring").hasMessageContaining("not 4-byte aligned");
        assertThatThrownBy(() -> state(layout, 0x10000, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nextAvail 65536 is not a 16-bit ring index");
        assertThatThrownBy(() -> state(layout, 9, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("next available index 9 is 9 entries ahead of the used index 0, more than the queue size 8");
        assertThatThrownBy(() -> state(layout, 0, 1)).as("the used index ahead of the available one wraps to 65535 ahead")
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("65535 entries ahead");
        assertThatThrownBy(() -> new SplitQueue.State(layout, true, true, 0, 0, 5, false, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("without a notification check");
        assertThatThrownBy(() -> new SplitQueue.State(layout, true, true, 0, 0, 0, false, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative");
        assertThatThrownBy(() -> new SplitQueue.State(null, true, true, 0, 0, 0, false, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layout is required");
    }
}
