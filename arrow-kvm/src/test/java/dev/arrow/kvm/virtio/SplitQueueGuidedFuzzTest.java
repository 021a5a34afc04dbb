package dev.arrow.kvm.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.memory.MemoryRegion;
import java.util.List;

/**
 * Coverage-guided fuzzing (Jazzer) of the split virtqueue: the fuzz input lays out guest memory
 * (queue size and ring addresses, descriptor tables, indirect tables, ring indices, raw bytes
 * anywhere) and then drives the device side (pop, read, skip, write, addUsed, notification
 * checks). The only exception allowed out of {@link SplitQueue} and {@link DescriptorChain} is
 * {@link VirtioGuestException}, no access may leave guest RAM, and one pop reads at most one
 * descriptor per entry of the table plus one indirect table.
 *
 * <p>A plain {@code mvn test} replays the corpus in
 * {@code src/test/resources/dev/arrow/kvm/virtio/SplitQueueGuidedFuzzTestInputs/}; {@code scripts/fuzz}
 * fuzzes it.
 */
class SplitQueueGuidedFuzzTest {
    static final long LOW_END = 64 << 10;
    static final long HIGH_START = 128 << 10;
    static final long HIGH_END = HIGH_START + (8 << 10);
    /** Addresses the fuzzer is steered to: region edges, the hole, 2^64 wrap-around. */
    static final long[] INTERESTING = {0, 0x1000, 0x2000, 0x3000, 0x4000, LOW_END - 16, LOW_END, HIGH_START,
        HIGH_END - 16, HIGH_END, 1L << 63, -16L, 0xFFFF_FFFFL};

    @FuzzTest
    void hostileQueueMemoryOnlyRaisesGuestErrorsAndStaysInsideGuestRam(FuzzedDataProvider data) {
        // the driver's writes go to raw; the device's accesses are watched
        HeapGuestMemory raw = new HeapGuestMemory(List.of(
                new MemoryRegion(GuestAddress.of(0), LOW_END),
                new MemoryRegion(GuestAddress.of(HIGH_START), HIGH_END - HIGH_START)));
        WatchedMemory memory = new WatchedMemory(raw);
        int size = 1 << data.consumeInt(0, 6);
        QueueLayout layout = data.consumeBoolean()
                ? new QueueLayout(size, GuestAddress.of(0x1000), GuestAddress.of(0x2000), GuestAddress.of(0x3000))
                : new QueueLayout(size, GuestAddress.of(address(data)), GuestAddress.of(address(data)),
                        GuestAddress.of(address(data)));
        long features = VirtioFeatures.VERSION_1
                | (data.consumeBoolean() ? VirtioFeatures.INDIRECT_DESC : 0)
                | (data.consumeBoolean() ? VirtioFeatures.EVENT_IDX : 0);
        long limit = data.pickValue(new long[] {64, 4096, SplitQueue.DEFAULT_MAX_CHAIN_BYTES, SplitQueue.MAX_CHAIN_BYTES});
        SplitQueue queue;
        try {
            queue = new SplitQueue(memory, layout, features, limit, "fuzzed queue");
        } catch (VirtioGuestException rejected) {
            assertThat(memory.violations()).isEmpty();
            return;
        }
        long availRing = layout.availableRing().value();
        byte[] scratch = new byte[256];
        try {
            for (int step = 0; step < 64 && data.remainingBytes() > 0; step++) {
                switch (data.consumeInt(0, 9)) {
                    case 0, 1 -> { // a descriptor in the queue's own table or anywhere (an indirect table)
                        long table = data.consumeBoolean() ? layout.descriptorTable().value() : address(data);
                        long entry = table + 16L * data.consumeInt(0, 63);
                        byte[] descriptor = new byte[16];
                        putLong(descriptor, 0, address(data));
                        putInt(descriptor, 8, data.consumeBoolean() ? data.consumeInt(0, 512) : data.consumeInt());
                        putShort(descriptor, 12, data.consumeBoolean() ? data.consumeInt(0, 7) : data.consumeShort());
                        putShort(descriptor, 14, data.consumeBoolean() ? data.consumeInt(0, 64) : data.consumeShort());
                        writeIfValid(raw, entry, descriptor);
                    }
                    case 2 -> { // publish a head: ring[idx % size] = head; idx++
                        int idx = Short.toUnsignedInt(raw.readShort(GuestAddress.of(availRing + 2))); // validated layout
                        writeIfValid(raw, availRing + 4 + 2L * (idx & (size - 1)),
                                shortBytes(data.consumeBoolean() ? data.consumeInt(0, size) : data.consumeShort()));
                        writeIfValid(raw, availRing + 2, shortBytes(idx + 1));
                    }
                    case 3 -> writeIfValid(raw, availRing + 2 * data.consumeInt(0, 2), shortBytes(data.consumeShort()));
                    case 4 -> writeIfValid(raw, address(data), data.consumeBytes(data.consumeInt(1, 64)));
                    case 5, 6, 7 -> {
                        long before = memory.accesses();
                        DescriptorChain chain = queue.pop();
                        assertThat(memory.accesses() - before).as("guest memory accesses of one pop")
                                .isLessThanOrEqualTo(size + SplitQueue.MAX_INDIRECT_DESCRIPTORS + 8L);
                        if (chain != null) {
                            exercise(chain, data, scratch, memory);
                            queue.addUsed(chain);
                        }
                    }
                    case 8 -> queue.needsNotification();
                    default -> {
                        queue.hasAvailable();
                        queue.describeState();
                    }
                }
            }
        } catch (VirtioGuestException expected) {
            // the guest broke the rules; the device would fail and wait for a reset
        }
        assertThat(memory.violations()).as("accesses outside guest RAM").isEmpty();
    }

    private static void exercise(DescriptorChain chain, FuzzedDataProvider data, byte[] scratch, WatchedMemory memory) {
        long readable = chain.readableLength();
        long writable = chain.writableLength();
        for (int i = 0; i < chain.descriptorCount(); i++) {
            assertThat(memory.isValid(chain.address(i), chain.length(i))).isTrue();
        }
        int read = chain.read(scratch, 0, data.consumeInt(0, scratch.length));
        assertThat((long) read).isLessThanOrEqualTo(readable);
        chain.skip(data.consumeLong());
        assertThat(chain.bytesRead()).isBetween(0L, readable);
        int written = chain.write(scratch, 0, data.consumeInt(0, scratch.length));
        assertThat((long) written).isLessThanOrEqualTo(writable);
        assertThat(chain.bytesWritten()).isBetween(0L, writable);
    }

    private static long address(FuzzedDataProvider data) {
        return switch (data.consumeInt(0, 3)) {
            case 0 -> data.consumeLong(0, LOW_END - 1);
            case 1 -> data.consumeLong(HIGH_START - 64, HIGH_END + 64);
            case 2 -> data.pickValue(INTERESTING) + data.consumeInt(-32, 32);
            default -> data.consumeLong();
        };
    }

    private static void writeIfValid(HeapGuestMemory memory, long address, byte[] bytes) {
        if (bytes.length > 0 && memory.isValid(GuestAddress.of(address), bytes.length)) {
            memory.write(GuestAddress.of(address), bytes);
        }
    }

    private static byte[] shortBytes(int value) {
        return new byte[] {(byte) value, (byte) (value >>> 8)};
    }

    private static void putShort(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }

    private static void putInt(byte[] b, int at, int v) {
        putShort(b, at, v);
        putShort(b, at + 2, v >>> 16);
    }

    private static void putLong(byte[] b, int at, long v) {
        putInt(b, at, (int) v);
        putInt(b, at + 4, (int) (v >>> 32));
    }
}
