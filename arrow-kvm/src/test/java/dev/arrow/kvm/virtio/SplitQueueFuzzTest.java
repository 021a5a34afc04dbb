package dev.arrow.kvm.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A million random descriptor chains, many of them hostile (addresses in holes, past the end of
 * RAM or wrapping 2^64, lengths near 2^32, random flags and next indices, indirect tables of any
 * length, available indices that jump), popped and used. The only exception allowed out of the
 * queue is {@link VirtioGuestException}, and no access may leave guest RAM. It runs over heap-backed
 * guest memory and over real mmap'd guest memory ({@link MmapGuestMemory}, as the VMM gives to KVM).
 * Reproduce a failure with {@code -Darrow.fuzz.seed=<seed from the output>}.
 */
class SplitQueueFuzzTest {
    static final int CHAINS = Integer.getInteger("arrow.fuzz.chains", 1_000_000);
    static final long LOW_END = 256 << 10;
    static final long HIGH_START = 512 << 10;
    static final long HIGH_END = HIGH_START + (64 << 10);
    static final int SIZE = 16;
    static final long RINGS = 0x1000;
    static final long INDIRECT = 0x3000;
    static final long DATA = 0x4000;

    static final List<MemoryRegion> REGIONS = List.of(
            new MemoryRegion(GuestAddress.of(0), LOW_END),
            new MemoryRegion(GuestAddress.of(HIGH_START), HIGH_END - HIGH_START));

    WatchedMemory memory;
    MmapGuestMemory mapped;
    final QueueLayout layout = new QueueLayout(SIZE, GuestAddress.of(RINGS), GuestAddress.of(RINGS + 0x100),
            GuestAddress.of(RINGS + 0x200));
    final byte[] scratch = new byte[64];
    SplittableRandom random;

    @AfterEach
    void unmap() {
        if (mapped != null) {
            mapped.close();
        }
    }

    @Test
    void aMillionRandomChainsOnlyEverRaiseGuestErrorsAndStayInsideGuestMemory() {
        run(new HeapGuestMemory(REGIONS), "heap");
    }

    @Test
    void aMillionRandomChainsOverMmapdGuestMemoryOnlyEverRaiseGuestErrorsAndStayInsideIt() {
        mapped = MmapGuestMemory.create(REGIONS);
        run(mapped, "mmap");
    }

    private void run(GuestMemory guestMemory, String backing) {
        memory = new WatchedMemory(guestMemory);
        long seed = Long.getLong("arrow.fuzz.seed", System.nanoTime());
        random = new SplittableRandom(seed);
        long guestErrors = 0;
        long chainsUsed = 0;
        Map<String, Long> caught = new TreeMap<>();
        QueueDriver driver = null;
        SplitQueue queue = null;
        long start = System.nanoTime();
        for (int i = 0; i < CHAINS; i++) {
            if (queue == null) {
                driver = new QueueDriver(memory, layout);
                long features = VirtioFeatures.VERSION_1
                        | (random.nextInt(4) != 0 ? VirtioFeatures.INDIRECT_DESC : 0)
                        | (random.nextBoolean() ? VirtioFeatures.EVENT_IDX : 0);
                long limit = switch (random.nextInt(3)) {
                    case 0 -> 4096;
                    case 1 -> SplitQueue.DEFAULT_MAX_CHAIN_BYTES;
                    default -> SplitQueue.MAX_CHAIN_BYTES;
                };
                queue = new SplitQueue(memory, layout, features, limit, "fuzz queue");
            }
            try {
                mutate(driver);
                DescriptorChain chain = queue.pop();
                if (chain != null) {
                    exercise(chain);
                    queue.addUsed(chain);
                    chainsUsed++;
                }
                queue.needsNotification();
                queue.hasAvailable();
            } catch (VirtioGuestException expected) {
                guestErrors++;
                caught.merge(category(expected.getMessage()), 1L, Long::sum);
                queue = null;
            } catch (RuntimeException | AssertionError e) {
                throw new AssertionError("seed " + seed + ", chain " + i + ": " + e, e);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("virtio queue fuzz (" + backing + "): %d chains in %.2f s (%.0f chains/s), %d used, %d guest errors %s, "
                        + "%d memory accesses, seed %d%n",
                CHAINS, seconds, CHAINS / seconds, chainsUsed, guestErrors, caught, memory.accesses(), seed);
        assertThat(memory.violations()).as("accesses outside guest RAM (seed %d)", seed).isEmpty();
        assertThat(chainsUsed).as("well-formed chains were exercised (seed %d)", seed).isGreaterThan(CHAINS / 20);
        assertThat(guestErrors).as("hostile chains were caught (seed %d)", seed).isGreaterThan(CHAINS / 20);
        if (CHAINS >= 1_000_000) {
            assertThat(caught.keySet()).as("every kind of hostile chain was met (seed %d)", seed)
                    .containsAll(List.of(CATEGORIES));
        }
    }

    static final String[] CATEGORIES = {"a loop?", "not inside guest RAM", "entries ahead", "names descriptor",
        "links to descriptor", "device-readable buffer after", "describes more than", "nests an indirect",
        "both INDIRECT and NEXT", "positive multiple of 16", "VIRTIO_F_INDIRECT_DESC"};

    private static String category(String message) {
        for (String c : CATEGORIES) {
            if (message.contains(c)) {
                return c;
            }
        }
        return message;
    }

    /** Writes 1..4 random descriptors, sometimes an indirect table, and publishes 0..2 heads. */
    private void mutate(QueueDriver driver) {
        int writes = 1 + random.nextInt(4);
        for (int w = 0; w < writes; w++) {
            int flags = flags();
            long address = address();
            long length = length();
            if ((flags & SplitQueue.DESC_F_INDIRECT) != 0 && random.nextBoolean()) {
                address = INDIRECT;
                length = 16L * (1 + random.nextInt(8));
                writeIndirectTable((int) (length / 16));
            }
            driver.writeDescriptor(random.nextInt(SIZE), address, length, flags, next(SIZE));
        }
        int roll = random.nextInt(100);
        if (roll < 2) {
            driver.setAvailIdx(random.nextInt(0x10000));
        } else {
            int heads = roll < 10 ? 0 : roll < 90 ? 1 : 2;
            for (int h = 0; h < heads; h++) {
                driver.publish(random.nextInt(50) == 0 ? random.nextInt(0x10000) : random.nextInt(SIZE));
            }
        }
        if (random.nextInt(50) == 0) {
            driver.setUsedEvent(random.nextInt(0x10000));
            driver.setAvailFlags(random.nextInt(4));
        }
        if (random.nextInt(100) == 0) {
            driver.setUsedIdx(random.nextInt(0x10000));
        }
    }

    private void writeIndirectTable(int entries) {
        for (int e = 0; e < entries; e++) {
            QueueDriver.writeDescriptor(memory, GuestAddress.of(INDIRECT), e, address(), length(), flags(), next(entries));
        }
    }

    private void exercise(DescriptorChain chain) {
        long readable = chain.readableLength();
        long writable = chain.writableLength();
        int read = chain.read(scratch, 0, random.nextInt(scratch.length + 1));
        assertThat((long) read).isLessThanOrEqualTo(readable);
        chain.skip(random.nextInt(1 << 16));
        assertThat(chain.bytesRead()).isLessThanOrEqualTo(readable);
        int written = chain.write(scratch, 0, random.nextInt(scratch.length + 1));
        assertThat((long) written).isLessThanOrEqualTo(writable);
        for (int i = 0; i < chain.descriptorCount(); i++) {
            assertThat(memory.isValid(chain.address(i), chain.length(i))).isTrue();
        }
    }

    private long address() {
        return switch (random.nextInt(12)) {
            case 0, 1, 2, 3, 4 -> DATA + random.nextInt((int) (LOW_END - DATA));
            case 5 -> HIGH_START + random.nextInt((int) (HIGH_END - HIGH_START));
            case 6 -> LOW_END - random.nextInt(64);
            case 7 -> LOW_END + random.nextInt((int) (HIGH_START - LOW_END));
            case 8 -> HIGH_END - random.nextInt(64);
            case 9 -> random.nextLong();
            case 10 -> -1L - random.nextInt(4096);
            default -> new long[] {0, RINGS, INDIRECT, 1L << 63, 0xFFFF_FFFFL}[random.nextInt(5)];
        };
    }

    private long length() {
        return switch (random.nextInt(10)) {
            case 0, 1, 2, 3 -> random.nextInt(128);
            case 4 -> random.nextInt(70_000);
            case 5 -> 0;
            case 6 -> 0xFFFF_FFFFL - random.nextInt(16);
            case 7 -> Integer.toUnsignedLong(random.nextInt());
            case 8 -> 16L * random.nextInt(5000);
            default -> LOW_END;
        };
    }

    private int flags() {
        if (random.nextInt(8) == 0) {
            return random.nextInt(0x10000);
        }
        int flags = random.nextInt(3) == 0 ? 0 : SplitQueue.DESC_F_NEXT;
        if (random.nextInt(3) == 0) {
            flags |= SplitQueue.DESC_F_WRITE;
        }
        if (random.nextInt(8) == 0) {
            flags |= SplitQueue.DESC_F_INDIRECT;
        }
        return flags;
    }

    private int next(int tableSize) {
        return random.nextInt(16) == 0 ? random.nextInt(0x10000) : random.nextInt(tableSize + 1);
    }
}
