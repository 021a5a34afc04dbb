package dev.arrow.kvm.virtio;

import static dev.arrow.kvm.virtio.SplitQueue.DESC_F_INDIRECT;
import static dev.arrow.kvm.virtio.SplitQueue.DESC_F_NEXT;
import static dev.arrow.kvm.virtio.SplitQueue.DESC_F_WRITE;
import static dev.arrow.kvm.virtio.testing.QueueDriver.Buffer.readable;
import static dev.arrow.kvm.virtio.testing.QueueDriver.Buffer.writable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SplitQueueTest {
    /** RAM at [0, 1 MiB) and [2 MiB, 3 MiB): a hole in between. */
    static final long LOW_END = 1 << 20;
    static final long HIGH_START = 2 << 20;
    static final long HIGH_END = 3 << 20;
    static final long ALL = VirtioFeatures.VERSION_1 | VirtioFeatures.INDIRECT_DESC;

    final WatchedMemory memory = new WatchedMemory(new HeapGuestMemory(List.of(
            new MemoryRegion(GuestAddress.of(0), LOW_END),
            new MemoryRegion(GuestAddress.of(HIGH_START), HIGH_END - HIGH_START))));
    final GuestArena arena = new GuestArena(memory, GuestAddress.of(0x1000), LOW_END - 0x1000);
    final QueueDriver driver = QueueDriver.create(arena, 8);

    SplitQueue queue(long features) {
        return new SplitQueue(memory, driver.layout(), features, SplitQueue.DEFAULT_MAX_CHAIN_BYTES, "test queue");
    }

    SplitQueue queue() {
        return queue(ALL);
    }

    GuestAddress data(String text) {
        return arena.put(text.getBytes(StandardCharsets.US_ASCII));
    }

    @AfterEach
    void noAccessLeftGuestMemory() {
        assertThat(memory.violations()).isEmpty();
    }

    // ---- well-formed chains ----

    @Test
    void aChainComesOutWithItsReadableThenWritableBuffersAndCursorsCopyAcrossThem() {
        SplitQueue q = queue();
        GuestAddress out = arena.allocate(10);
        int head = driver.add(List.of(readable(data("hello "), 6), readable(data("world"), 5), writable(out, 4),
                writable(arena.allocate(6), 6)));

        DescriptorChain chain = q.pop();

        assertThat(chain.headIndex()).isEqualTo(head);
        assertThat(chain.descriptorCount()).isEqualTo(4);
        assertThat(chain.readableCount()).isEqualTo(2);
        assertThat(chain.readableLength()).isEqualTo(11);
        assertThat(chain.writableLength()).isEqualTo(10);
        byte[] text = new byte[20];
        assertThat(chain.read(text, 0, 20)).isEqualTo(11);
        assertThat(new String(text, 0, 11, StandardCharsets.US_ASCII)).isEqualTo("hello world");
        assertThat(chain.write("abcdefghijkl".getBytes(StandardCharsets.US_ASCII), 0, 12)).isEqualTo(10);
        assertThat(new String(memory.read(out, 4), StandardCharsets.US_ASCII)).isEqualTo("abcd");
        assertThat(chain.bytesWritten()).isEqualTo(10);
        assertThat(q.pop()).isNull();
    }

    @Test
    void usedChainsReachTheDriverInOrderWithTheirLengths() {
        SplitQueue q = queue();
        int first = driver.add(writable(arena.allocate(8), 8));
        int second = driver.add(readable(data("x"), 1));
        DescriptorChain a = q.pop();
        DescriptorChain b = q.pop();
        q.addUsed(a.headIndex(), 5);
        q.addUsed(b.headIndex(), 0);

        assertThat(driver.pollUsed()).isEqualTo(new QueueDriver.UsedElement(first, 5));
        assertThat(driver.pollUsed()).isEqualTo(new QueueDriver.UsedElement(second, 0));
        assertThat(driver.pollUsed()).isNull();
        assertThat(q.nextUsedIndex()).isEqualTo(2);
    }

    @Test
    void indicesWrapAroundAt65536() {
        SplitQueue q = queue();
        for (int i = 0; i < 70_000; i++) {
            driver.add(writable(GuestAddress.of(0x800), 1));
            DescriptorChain chain = q.pop();
            q.addUsed(chain.headIndex(), 1);
            assertThat(driver.pollUsed()).isNotNull();
        }
        assertThat(q.nextAvailIndex()).isEqualTo(70_000 & 0xffff);
        assertThat(driver.usedIdx()).isEqualTo(70_000 & 0xffff);
    }

    @Test
    void anIndirectTableIsFlattenedIntoTheChain() {
        SplitQueue q = queue();
        int head = driver.addIndirect(arena, List.of(readable(data("abc"), 3), writable(arena.allocate(4), 4)));

        DescriptorChain chain = q.pop();

        assertThat(chain.headIndex()).isEqualTo(head);
        assertThat(chain.descriptorCount()).isEqualTo(2);
        assertThat(chain.readableLength()).isEqualTo(3);
        assertThat(chain.writableLength()).isEqualTo(4);
    }

    @Test
    void directDescriptorsMayBeFollowedByOneIndirectTable() {
        SplitQueue q = queue();
        GuestAddress table = arena.allocate(32, 16);
        QueueDriver.writeDescriptor(memory, table, 0, arena.allocate(4).value(), 4, DESC_F_WRITE | DESC_F_NEXT, 1);
        QueueDriver.writeDescriptor(memory, table, 1, arena.allocate(4).value(), 4, DESC_F_WRITE, 0);
        driver.writeDescriptor(0, data("hdr").value(), 3, DESC_F_NEXT, 1);
        // the WRITE flag on the descriptor that points at the table must be ignored
        driver.writeDescriptor(1, table.value(), 32, DESC_F_INDIRECT | DESC_F_WRITE, 0);
        driver.publish(0);

        DescriptorChain chain = q.pop();

        assertThat(chain.descriptorCount()).isEqualTo(3);
        assertThat(chain.readableLength()).isEqualTo(3);
        assertThat(chain.writableLength()).isEqualTo(8);
    }

    @Test
    void zeroLengthBuffersInsideRamAreAccepted() {
        SplitQueue q = queue();
        driver.add(List.of(readable(GuestAddress.of(0x2000), 0), writable(GuestAddress.of(LOW_END), 0)));
        DescriptorChain chain = q.pop();
        assertThat(chain.descriptorCount()).isEqualTo(2);
        assertThat(chain.readableLength() + chain.writableLength()).isZero();
    }

    // ---- malformed chains ----

    @Test
    void aLoopInTheDescriptorTableIsAGuestError() {
        SplitQueue q = queue();
        driver.writeDescriptor(0, 0x2000, 1, DESC_F_NEXT, 1);
        driver.writeDescriptor(1, 0x2000, 1, DESC_F_NEXT, 2);
        driver.writeDescriptor(2, 0x2000, 1, DESC_F_NEXT, 0);
        driver.publish(0);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class)
                .hasMessageContaining("longer than the queue size 8");
    }

    @Test
    void aDescriptorPointingAtItselfIsAGuestError() {
        SplitQueue q = queue();
        driver.writeDescriptor(3, 0x2000, 1, DESC_F_NEXT, 3);
        driver.publish(3);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class).hasMessageContaining("a loop?");
    }

    @Test
    void aChainUsingEveryDescriptorOnceIsStillAccepted() {
        SplitQueue q = queue();
        for (int i = 0; i < 8; i++) {
            driver.writeDescriptor(i, 0x2000, 1, i < 7 ? DESC_F_NEXT : 0, i + 1);
        }
        driver.publish(0);
        assertThat(q.pop().descriptorCount()).isEqualTo(8);
    }

    @Test
    void aHeadIndexOutsideTheTableIsAGuestError() {
        SplitQueue q = queue();
        driver.publish(8);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class).hasMessageContaining("names descriptor 8");
    }

    @Test
    void aNextIndexOutsideTheTableIsAGuestError() {
        SplitQueue q = queue();
        driver.writeDescriptor(0, 0x2000, 1, DESC_F_NEXT, 0xffff);
        driver.publish(0);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class).hasMessageContaining("links to descriptor 65535");
    }

    @Test
    void buffersOutsideGuestRamAreGuestErrors() {
        long[][] cases = {
                {LOW_END, 1},                     // just past the first region
                {LOW_END - 4, 8},                 // runs past its end
                {LOW_END + 0x1000, 16},           // in the hole
                {HIGH_END - 1, 2},                // past the last region
                {0xFFFF_FFFF_FFFF_FFF0L, 0x20},   // wraps around 2^64
                {-1L, 1},
                {0x2000, 0xFFFF_FFFFL},           // length near 2^32
                {HIGH_START - 8, 16},             // from the hole into RAM
        };
        for (long[] c : cases) {
            QueueDriver d = QueueDriver.create(arena, 4);
            SplitQueue q = new SplitQueue(memory, d.layout(), ALL, SplitQueue.MAX_CHAIN_BYTES, "q");
            d.writeDescriptor(0, c[0], c[1], 0, 0);
            d.publish(0);
            assertThatThrownBy(q::pop).as("buffer 0x%x + 0x%x", c[0], c[1])
                    .isInstanceOf(VirtioGuestException.class).hasMessageContaining("not inside guest RAM");
        }
    }

    @Test
    void aBufferSpanningTwoRegionsIsAGuestErrorEvenIfBothAreRam() {
        HeapGuestMemory adjacent = new HeapGuestMemory(List.of(
                new MemoryRegion(GuestAddress.of(0), 0x10000), new MemoryRegion(GuestAddress.of(0x10000), 0x10000)));
        WatchedMemory watched = new WatchedMemory(adjacent);
        QueueDriver d = QueueDriver.create(new GuestArena(watched, GuestAddress.of(0), 0x8000), 4);
        SplitQueue q = new SplitQueue(watched, d.layout(), ALL, SplitQueue.DEFAULT_MAX_CHAIN_BYTES, "q");
        d.writeDescriptor(0, 0xFFF0, 0x20, 0, 0);
        d.publish(0);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class);
        assertThat(watched.violations()).isEmpty();
    }

    @Test
    void chainsLongerThanTheByteLimitAreGuestErrors() {
        SplitQueue q = new SplitQueue(memory, driver.layout(), ALL, 1000, "small queue");
        driver.add(List.of(readable(GuestAddress.of(0x2000), 600), writable(GuestAddress.of(0x3000), 600)));
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class).hasMessageContaining("more than 1000 bytes");
    }

    @Test
    void totalsThatWouldWrapA32BitCounterAreCaught() {
        // 4096 valid 1 MiB buffers (all the same RAM) add up to exactly 2^32 bytes: a 32-bit
        // running total would wrap to 0; ours is 64-bit and capped below 2^32.
        int n = SplitQueue.MAX_INDIRECT_DESCRIPTORS;
        long mib = HIGH_END - HIGH_START;
        GuestAddress table = arena.allocate(16L * n, 16);
        for (int i = 0; i < n; i++) {
            QueueDriver.writeDescriptor(memory, table, i, HIGH_START, mib, i < n - 1 ? DESC_F_NEXT : 0, i + 1);
        }
        assertThat(n * mib).isEqualTo(1L << 32);
        SplitQueue q = new SplitQueue(memory, driver.layout(), ALL, SplitQueue.MAX_CHAIN_BYTES, "q");
        driver.writeDescriptor(0, table.value(), 16L * n, DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class)
                .hasMessageContaining("more than " + SplitQueue.MAX_CHAIN_BYTES + " bytes");
    }

    @Test
    void aChainJustUnderTheLimitIsAccepted() {
        long mib = HIGH_END - HIGH_START;
        SplitQueue q = new SplitQueue(memory, driver.layout(), ALL, 8 * mib, "q");
        for (int i = 0; i < 8; i++) {
            driver.writeDescriptor(i, HIGH_START, mib, i < 7 ? DESC_F_NEXT : 0, i + 1);
        }
        driver.publish(0);
        assertThat(q.pop().readableLength()).isEqualTo(8 * mib);
    }

    @Test
    void aReadableBufferAfterAWritableOneIsAGuestError() {
        SplitQueue q = queue();
        driver.add(List.of(writable(GuestAddress.of(0x2000), 4), readable(GuestAddress.of(0x3000), 4)));
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class)
                .hasMessageContaining("device-readable buffer after a device-writable one");
    }

    @Test
    void theReadableBeforeWritableRuleHoldsAcrossAnIndirectTable() {
        SplitQueue q = queue();
        GuestAddress table = arena.allocate(16, 16);
        QueueDriver.writeDescriptor(memory, table, 0, 0x3000, 4, 0, 0);
        driver.writeDescriptor(0, 0x2000, 4, DESC_F_WRITE | DESC_F_NEXT, 1);
        driver.writeDescriptor(1, table.value(), 16, DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class).hasMessageContaining("device-readable");
    }

    @Test
    void aNestedIndirectTableIsAGuestError() {
        SplitQueue q = queue();
        GuestAddress inner = arena.allocate(16, 16);
        QueueDriver.writeDescriptor(memory, inner, 0, 0x2000, 4, 0, 0);
        GuestAddress outer = arena.allocate(16, 16);
        QueueDriver.writeDescriptor(memory, outer, 0, inner.value(), 16, DESC_F_INDIRECT, 0);
        driver.writeDescriptor(0, outer.value(), 16, DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class).hasMessageContaining("nests an indirect table");
    }

    @Test
    void indirectTogetherWithNextIsAGuestError() {
        SplitQueue q = queue();
        GuestAddress table = arena.allocate(16, 16);
        QueueDriver.writeDescriptor(memory, table, 0, 0x2000, 4, 0, 0);
        driver.writeDescriptor(0, table.value(), 16, DESC_F_INDIRECT | DESC_F_NEXT, 1);
        driver.writeDescriptor(1, 0x2000, 4, 0, 0);
        driver.publish(0);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class).hasMessageContaining("both INDIRECT and NEXT");
    }

    @Test
    void indirectWithoutTheNegotiatedFeatureIsAGuestError() {
        SplitQueue q = queue(VirtioFeatures.VERSION_1);
        driver.addIndirect(arena, List.of(readable(GuestAddress.of(0x2000), 4)));
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class).hasMessageContaining("VIRTIO_F_INDIRECT_DESC");
    }

    @Test
    void indirectTablesOfBadLengthAreGuestErrors() {
        GuestAddress table = arena.allocate(16L * (SplitQueue.MAX_INDIRECT_DESCRIPTORS + 1), 16);
        long[] lengths = {0, 8, 17, 16L * (SplitQueue.MAX_INDIRECT_DESCRIPTORS + 1), 0xFFFF_FFF0L};
        for (long length : lengths) {
            QueueDriver d = QueueDriver.create(arena, 4);
            SplitQueue q = new SplitQueue(memory, d.layout(), ALL, SplitQueue.DEFAULT_MAX_CHAIN_BYTES, "q");
            d.writeDescriptor(0, table.value(), length, DESC_F_INDIRECT, 0);
            d.publish(0);
            assertThatThrownBy(q::pop).as("table length %d", length).isInstanceOf(VirtioGuestException.class)
                    .hasMessageContaining("positive multiple of 16");
        }
    }

    @Test
    void anIndirectTableOutsideRamIsAGuestError() {
        SplitQueue q = queue();
        driver.writeDescriptor(0, LOW_END - 16, 32, DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class)
                .hasMessageContaining("indirect table at 0xffff0 of 32 bytes");
    }

    @Test
    void aLoopInsideAnIndirectTableIsAGuestError() {
        SplitQueue q = queue();
        GuestAddress table = arena.allocate(48, 16);
        QueueDriver.writeDescriptor(memory, table, 0, 0x2000, 4, DESC_F_NEXT, 1);
        QueueDriver.writeDescriptor(memory, table, 1, 0x2000, 4, DESC_F_NEXT, 2);
        QueueDriver.writeDescriptor(memory, table, 2, 0x2000, 4, DESC_F_NEXT, 0);
        driver.writeDescriptor(0, table.value(), 48, DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class)
                .hasMessageContaining("more than the 3 entries of its indirect table");
    }

    @Test
    void anIndirectNextOutsideItsTableIsAGuestError() {
        SplitQueue q = queue();
        GuestAddress table = arena.allocate(32, 16);
        QueueDriver.writeDescriptor(memory, table, 0, 0x2000, 4, DESC_F_NEXT, 2);
        driver.writeDescriptor(0, table.value(), 32, DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class)
                .hasMessageContaining("outside its indirect table of 2 entries");
    }

    @Test
    void aFullSizeIndirectTableIsAccepted() {
        SplitQueue q = queue();
        int n = SplitQueue.MAX_INDIRECT_DESCRIPTORS;
        GuestAddress table = arena.allocate(16L * n, 16);
        for (int i = 0; i < n; i++) {
            QueueDriver.writeDescriptor(memory, table, i, 0x2000, 1, i < n - 1 ? DESC_F_NEXT : 0, i + 1);
        }
        driver.writeDescriptor(0, table.value(), 16L * n, DESC_F_INDIRECT, 0);
        driver.publish(0);
        assertThat(q.pop().descriptorCount()).isEqualTo(n);
    }

    // ---- ring indices ----

    @Test
    void anAvailableIndexJumpingMoreThanTheQueueSizeAheadIsAGuestError() {
        SplitQueue q = queue();
        driver.setAvailIdx(9);
        assertThatThrownBy(q::pop).isInstanceOf(VirtioGuestException.class)
                .hasMessageContaining("9 entries ahead").hasMessageContaining("queue size 8");
    }

    @Test
    void anAvailableIndexMovingBackwardsIsAGuestError() {
        SplitQueue q = queue();
        driver.add(readable(GuestAddress.of(0x2000), 1));
        driver.add(readable(GuestAddress.of(0x2000), 1));
        q.pop();
        q.pop();
        driver.setAvailIdx(1);
        assertThatThrownBy(q::hasAvailable).isInstanceOf(VirtioGuestException.class).hasMessageContaining("65535 entries ahead");
    }

    @Test
    void anAvailableIndexExactlyAQueueAheadIsFine() {
        SplitQueue q = queue();
        for (int i = 0; i < 8; i++) {
            driver.add(readable(GuestAddress.of(0x2000), 1));
        }
        for (int i = 0; i < 8; i++) {
            assertThat(q.pop()).isNotNull();
        }
        assertThat(q.pop()).isNull();
    }

    @Test
    void aGuestOverwritingTheUsedIndexDoesNotMoveTheDevice() {
        SplitQueue q = queue();
        driver.add(writable(GuestAddress.of(0x2000), 1));
        driver.add(writable(GuestAddress.of(0x2000), 1));
        DescriptorChain a = q.pop();
        DescriptorChain b = q.pop();
        q.addUsed(a.headIndex(), 1);
        driver.setUsedIdx(40_000);
        q.addUsed(b.headIndex(), 1);
        assertThat(driver.usedIdx()).isEqualTo(2);
        assertThat(q.nextUsedIndex()).isEqualTo(2);
        assertThat(driver.pollUsed().id()).isEqualTo(a.headIndex());
        assertThat(driver.pollUsed().id()).isEqualTo(b.headIndex());
    }

    @Test
    void usedEntriesOutOfRangeAreDeviceBugsNotGuestErrors() {
        SplitQueue q = queue();
        assertThatThrownBy(() -> q.addUsed(8, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> q.addUsed(0, 1L << 32)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aDisabledQueueNeitherPopsNorWrites() {
        SplitQueue q = queue();
        driver.add(readable(GuestAddress.of(0x2000), 1));
        DescriptorChain chain = q.pop();
        driver.add(readable(GuestAddress.of(0x2000), 1));
        q.disable();
        assertThat(q.pop()).isNull();
        assertThat(q.hasAvailable()).isFalse();
        q.addUsed(chain.headIndex(), 0);
        assertThat(driver.usedIdx()).isZero();
        assertThat(q.needsNotification()).isFalse();
    }

    // ---- layout ----

    @Test
    void layoutsAreValidatedAgainstSizeAlignmentAndRam() {
        QueueLayout good = driver.layout();
        GuestAddress d = good.descriptorTable();
        GuestAddress a = good.availableRing();
        GuestAddress u = good.usedRing();
        assertThatThrownBy(() -> new QueueLayout(0, d, a, u).validate(memory, 8, "q")).hasMessageContaining("power of two");
        assertThatThrownBy(() -> new QueueLayout(6, d, a, u).validate(memory, 8, "q")).hasMessageContaining("power of two");
        assertThatThrownBy(() -> new QueueLayout(16, d, a, u).validate(memory, 8, "q")).hasMessageContaining("between 1 and 8");
        assertThatThrownBy(() -> new QueueLayout(8, d.plus(8), a, u).validate(memory, 8, "q"))
                .hasMessageContaining("descriptor table").hasMessageContaining("16-byte aligned");
        assertThatThrownBy(() -> new QueueLayout(8, d, a.plus(1), u).validate(memory, 8, "q"))
                .hasMessageContaining("available ring").hasMessageContaining("2-byte aligned");
        assertThatThrownBy(() -> new QueueLayout(8, d, a, u.plus(2)).validate(memory, 8, "q"))
                .hasMessageContaining("used ring").hasMessageContaining("4-byte aligned");
        assertThatThrownBy(() -> new QueueLayout(8, GuestAddress.of(LOW_END - 64), a, u).validate(memory, 8, "q"))
                .hasMessageContaining("descriptor table").hasMessageContaining("not inside guest RAM");
        assertThatThrownBy(() -> new QueueLayout(8, d, GuestAddress.of(LOW_END + 2), u).validate(memory, 8, "q"))
                .hasMessageContaining("available ring").hasMessageContaining("not inside guest RAM");
        assertThatThrownBy(() -> new QueueLayout(8, d, a, GuestAddress.of(0xFFFF_FFFF_FFFF_FFF0L)).validate(memory, 8, "q"))
                .isInstanceOf(VirtioGuestException.class).hasMessageContaining("used ring");
        good.validate(memory, 8, "q");
    }

    // ---- notification suppression ----

    @Test
    void withoutEventIdxTheNoInterruptFlagSuppressesNotifications() {
        SplitQueue q = queue(VirtioFeatures.VERSION_1);
        assertThat(q.needsNotification()).as("nothing used yet").isFalse();
        driver.add(readable(GuestAddress.of(0x2000), 1));
        q.addUsed(q.pop().headIndex(), 0);
        assertThat(q.needsNotification()).isTrue();
        assertThat(q.needsNotification()).as("already told").isFalse();
        driver.setAvailFlags(SplitQueue.AVAIL_F_NO_INTERRUPT);
        driver.add(readable(GuestAddress.of(0x2000), 1));
        q.addUsed(q.pop().headIndex(), 0);
        assertThat(q.needsNotification()).isFalse();
    }

    @Test
    void withEventIdxTheDeviceNotifiesWhenTheUsedIndexPassesUsedEvent() {
        SplitQueue q = queue(ALL | VirtioFeatures.EVENT_IDX);
        driver.setUsedEvent(2); // interrupt me when entry 2 is used (used idx becomes 3)
        for (int i = 0; i < 4; i++) {
            driver.add(readable(GuestAddress.of(0x2000), 1));
        }
        q.addUsed(q.pop().headIndex(), 0);
        assertThat(q.needsNotification()).as("first notification is always sent").isTrue();
        q.addUsed(q.pop().headIndex(), 0);
        assertThat(q.needsNotification()).as("used idx 2 has not passed 2").isFalse();
        q.addUsed(q.pop().headIndex(), 0);
        assertThat(q.needsNotification()).as("used idx 3 passed used_event 2").isTrue();
        q.addUsed(q.pop().headIndex(), 0);
        assertThat(q.needsNotification()).isFalse();
    }

    @Test
    void withEventIdxAnEmptyPopAsksTheDriverToNotifyOnItsNextBuffer() {
        SplitQueue q = queue(ALL | VirtioFeatures.EVENT_IDX);
        assertThat(driver.availEvent()).isZero();
        driver.add(readable(GuestAddress.of(0x2000), 1));
        driver.add(readable(GuestAddress.of(0x2000), 1));
        assertThat(driver.shouldNotify(true)).as("avail_event 0 was crossed").isTrue();
        q.pop();
        q.pop();
        driver.add(readable(GuestAddress.of(0x2000), 1));
        assertThat(driver.shouldNotify(true)).as("device has not asked yet").isFalse();
        assertThat(q.pop()).isNotNull();
        assertThat(q.pop()).isNull();
        assertThat(driver.availEvent()).isEqualTo(3);
        driver.add(readable(GuestAddress.of(0x2000), 1));
        assertThat(driver.shouldNotify(true)).isTrue();
    }

    @Test
    void withEventIdxAnEmptyPopSeesBuffersThatArrivedWhileArming() {
        SplitQueue q = queue(ALL | VirtioFeatures.EVENT_IDX);
        driver.add(readable(GuestAddress.of(0x2000), 1));
        assertThat(q.pop()).isNotNull();
        driver.add(readable(GuestAddress.of(0x2000), 1));
        assertThat(q.pop()).as("the re-check after publishing avail_event finds it").isNotNull();
    }

    // ---- diagnostics ----

    @Test
    void describeStateNamesBothIndicesAndTheDriversUsedEvent() {
        SplitQueue q = queue(ALL | VirtioFeatures.EVENT_IDX);
        driver.add(readable(data("a"), 1));
        driver.add(readable(data("b"), 1));
        q.addUsed(q.pop());
        driver.setUsedEvent(5);
        assertThat(q.describeState()).isEqualTo(
                "test queue: avail idx 2 (device at 1), used idx 1, avail flags 0x0, used_event 5, last signalled at used idx none");
        assertThat(q.needsNotification()).isTrue();
        assertThat(q.describeState()).endsWith("used_event 5, last signalled at used idx 1");
    }

    @Test
    void describeStateWithoutEventIdxShowsTheFlagsOnly() {
        SplitQueue q = queue();
        driver.setAvailFlags(1);
        assertThat(q.describeState()).isEqualTo("test queue: avail idx 0 (device at 0), used idx 0, avail flags 0x1");
    }
}
