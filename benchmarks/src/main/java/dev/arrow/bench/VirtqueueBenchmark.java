package dev.arrow.bench;

import dev.arrow.kvm.device.InterruptTrigger;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.net.MacAddress;
import dev.arrow.kvm.net.testing.FakeBackend;
import dev.arrow.kvm.virtio.DescriptorChain;
import dev.arrow.kvm.virtio.GuestErrorListener;
import dev.arrow.kvm.virtio.QueueLayout;
import dev.arrow.kvm.virtio.SplitQueue;
import dev.arrow.kvm.virtio.VirtioFeatures;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import dev.arrow.kvm.virtio.net.VirtioNet;
import dev.arrow.kvm.virtio.net.VirtioNetHeader;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.QueueDriver.Buffer;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The device side of virtio without a VM: the guest's driver is the Java queue simulator
 * ({@link QueueDriver}, {@link VirtioMmioDriver}) writing rings into native guest memory
 * ({@link MmapGuestMemory}, as the VMM maps it), so what is timed is Arrow's own per-chain cost:
 * validating and walking a chain and returning it ({@link #popAndReturn}), and a whole virtio-net
 * transmission through the virtio-mmio transport, from QueueNotify to the frame in the backend and
 * the used entry back ({@link #netTransmit}). One operation is one chain, the simulated driver's
 * own work (writing the chain, reading the used ring) included. No VM exits, no
 * interrupts (counted, not delivered): the figures bound what the device side adds to each one.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class VirtqueueBenchmark {

    /**
     * A chain shape as {@link Queue#chain} names it: {@code COUNTxBYTES} descriptors, in the
     * descriptor table or ({@code indirect-COUNTxBYTES}) through an indirect table.
     */
    record ChainShape(boolean indirect, int count, int bytes) {
        private static final String INDIRECT = "indirect-";

        /** @throws IllegalArgumentException for a name not of that form */
        static ChainShape parse(String name) {
            boolean indirect = name.startsWith(INDIRECT);
            String[] parts = name.substring(indirect ? INDIRECT.length() : 0).split("x");
            try {
                if (parts.length == 2) {
                    return new ChainShape(indirect, Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException("not a chain shape (COUNTxBYTES or indirect-COUNTxBYTES): " + name);
        }

        /** Bytes one chain of this shape carries. */
        long payloadBytes() {
            return (long) count * bytes;
        }
    }

    /** Chain shapes for {@link #popAndReturn}: descriptors x bytes, direct or through an indirect table. */
    @State(Scope.Thread)
    public static class Queue {
        @Param({"1x1514", "4x4096", "indirect-16x4096"})
        public String chain;

        MmapGuestMemory memory;
        QueueDriver driver;
        SplitQueue queue;
        GuestArena arena;
        /** Where each operation's indirect table goes; emptied after each operation. */
        GuestArena tables;
        List<Buffer> buffers;
        boolean indirect;

        @Setup(Level.Trial)
        public void setUp() {
            memory = MmapGuestMemory.forRam(16L << 20);
            arena = new GuestArena(memory, GuestAddress.of(0x1000), 6L << 20);
            tables = new GuestArena(memory, GuestAddress.of(7L << 20), 1L << 20);
            driver = QueueDriver.create(arena, 256);
            queue = new SplitQueue(memory, driver.layout(), VirtioFeatures.VERSION_1 | VirtioFeatures.INDIRECT_DESC,
                    SplitQueue.DEFAULT_MAX_CHAIN_BYTES, "bench");
            ChainShape shape = ChainShape.parse(chain);
            indirect = shape.indirect();
            buffers = new ArrayList<>();
            for (int i = 0; i < shape.count(); i++) {
                buffers.add(Buffer.readable(arena.allocate(shape.bytes()), shape.bytes()));
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            memory.close();
        }
    }

    @Benchmark
    public long popAndReturn(Queue q) {
        if (q.indirect) {
            q.driver.addIndirect(q.tables, q.buffers);
        } else {
            q.driver.add(q.buffers);
        }
        DescriptorChain c = q.queue.pop();
        long length = c.readableLength();
        q.queue.addUsed(c.headIndex(), 0);
        QueueDriver.UsedElement used = q.driver.pollUsed();
        q.tables.reset();
        return length + used.id();
    }

    /** A virtio-net card on a backend that counts what it is sent, driven through its transport. */
    @State(Scope.Thread)
    public static class Net {
        @Param({"1514", "65520"})
        public int frameBytes;

        MmapGuestMemory memory;
        FakeBackend backend;
        VirtioNet net;
        VirtioMmioTransport transport;
        VirtioMmioDriver driver;
        QueueDriver tx;
        List<Buffer> chain;
        long interrupts;

        @Setup(Level.Trial)
        public void setUp() {
            memory = MmapGuestMemory.forRam(16L << 20);
            GuestArena arena = new GuestArena(memory, GuestAddress.of(0x1000), 7L << 20);
            backend = new FakeBackend(8);
            backend.keepSent = false;
            net = new VirtioNet(MacAddress.parse("02:41:52:52:4f:57"), 65520, backend);
            InterruptTrigger interrupt = () -> interrupts++;
            transport = new VirtioMmioTransport("bench-net", net, memory, interrupt, GuestErrorListener.NONE, Runnable::run);
            driver = new VirtioMmioDriver(transport, arena);
            tx = driver.initialize(VirtioNet.OFFERED_FEATURES | VirtioFeatures.EVENT_IDX, 2, 256).get(VirtioNet.TRANSMIT_QUEUE);
            byte[] frame = new byte[frameBytes];
            for (int i = 0; i < frame.length; i++) {
                frame[i] = (byte) i;
            }
            chain = List.of(Buffer.readable(arena.put(new byte[VirtioNetHeader.SIZE]), VirtioNetHeader.SIZE),
                    Buffer.readable(arena.put(frame), frame.length));
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            long sent = backend.sentCount;
            transport.close();
            memory.close();
            if (net.txFrames() != sent || net.txDropped() != 0) {
                throw new IllegalStateException("virtio-net sent " + net.txFrames() + " frames, the backend got " + sent
                        + ", dropped " + net.txDropped());
            }
        }
    }

    @Benchmark
    public long netTransmit(Net n) {
        n.tx.add(n.chain);
        n.driver.notifyQueue(VirtioNet.TRANSMIT_QUEUE);
        QueueDriver.UsedElement used = n.tx.pollUsed();
        if (used == null) {
            throw new IllegalStateException("virtio-net did not return the transmit chain: " + n.transport.failure());
        }
        return used.id();
    }
}
