package dev.arrow.kvm.virtio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.GuestMemory;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.memory.MemoryRegion;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.net.MacAddress;
import dev.arrow.kvm.net.testing.FakeBackend;
import dev.arrow.kvm.net.NetworkBackend;
import dev.arrow.kvm.virtio.balloon.VirtioBalloon;
import dev.arrow.kvm.virtio.console.ConsolePort;
import dev.arrow.kvm.virtio.console.StdioConsoles;
import dev.arrow.kvm.virtio.console.VirtioConsole;
import dev.arrow.kvm.virtio.net.VirtioNet;
import dev.arrow.kvm.virtio.net.VirtioNetHeader;
import dev.arrow.kvm.virtio.rng.VirtioRng;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import dev.arrow.kvm.x86.Layout;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Random chains, some well-formed and some hostile, thrown at whole devices through their
 * transport, mixed with random register writes and host stream activity: nothing may escape the
 * transport but the device's own guest errors, nothing may touch memory outside guest RAM, and a
 * failed device must come back after a driver reset. Each device runs over heap-backed guest memory
 * and over real mmap'd guest memory ({@link MmapGuestMemory}, as the VMM gives to KVM). Reproduce a
 * failure with {@code -Darrow.fuzz.seed=<seed>} (the seed is in the message).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class VirtioDeviceFuzzTest {
    static final int ROUNDS = Integer.getInteger("arrow.fuzz.deviceRounds", 200_000);
    static final long RAM = 1 << 20;

    /** Where guest RAM lives: a Java array, or an anonymous mapping as for a real VM. */
    enum Backing {
        HEAP, MMAP;

        GuestMemory create() {
            return this == HEAP ? HeapGuestMemory.ofSize(RAM) : MmapGuestMemory.create(List.of(MemoryRegion.of(0, RAM)));
        }
    }

    WatchedMemory memory;
    GuestMemory backing;
    static final int STDIN_LIMIT = 1000;
    final byte[] sink = new byte[4096];
    SplittableRandom random;
    int stdinWritten;

    @ParameterizedTest
    @EnumSource(Backing.class)
    void theConsoleSurvivesRandomChainsAndRegisterWrites(Backing kind) throws IOException {
        use(kind);
        VirtioConsole console = StdioConsoles.builder().bufferBytes(STDIN_LIMIT + 24).queueSize(16).build();
        Stats stats = run(console, 8, this::addWellFormed, () -> hostActivity(console));
        System.out.println("virtio console fuzz (" + kind + "): " + stats);
        assertThat(stats.failures).isPositive();
        assertThat(stats.reinitialized).isPositive();
    }

    @ParameterizedTest
    @EnumSource(Backing.class)
    void theEntropyDeviceSurvivesRandomChainsAndRegisterWrites(Backing kind) {
        use(kind);
        Stats stats = run(new VirtioRng(), 1, this::addWellFormed, () -> { });
        System.out.println("virtio rng fuzz (" + kind + "): " + stats);
        assertThat(stats.failures).isPositive();
        assertThat(stats.usedBuffers).isPositive();
    }

    @ParameterizedTest
    @EnumSource(Backing.class)
    void theNetworkCardSurvivesRandomChainsOnBothQueuesAndABusyNetwork(Backing kind) {
        use(kind);
        FakeBackend backend = new FakeBackend(8);
        backend.keepSent = false;
        VirtioNet net = new VirtioNet(MacAddress.parse("02:41:52:52:4f:57"), 1500, backend);
        Stats stats = run(net, 2, this::addWellFormedNet, () -> networkActivity(backend));
        System.out.printf("virtio net fuzz (" + kind + "): %s; rx %d frames (%d dropped), tx %d frames (%d dropped, %d pauses)%n",
                stats, net.rxFrames(), net.rxDropped(), net.txFrames(), net.txDropped(), net.txPauses());
        assertThat(stats.failures).isPositive();
        assertThat(stats.reinitialized).isPositive();
        assertThat(net.rxFrames()).as("frames delivered on the receive queue").isPositive();
        assertThat(net.rxDropped()).as("frames too large for the guest's buffer").isPositive();
        assertThat(net.txFrames()).as("frames sent from the transmit queue").isPositive()
                .isEqualTo(backend.sentCount);
        assertThat(net.txDropped()).as("runt or refused frames").isPositive();
        assertThat(net.txPauses()).as("transmit paused while the backend had no room").isPositive();
        assertThat(backend.closed).as("the device closes its backend").isTrue();
    }

    @ParameterizedTest
    @EnumSource(Backing.class)
    void theBalloonSurvivesRandomReportsAndRegisterWrites(Backing kind) {
        use(kind);
        VirtioBalloon balloon = new VirtioBalloon();
        // a quarter of the rounds: each report costs page-sized allocations and discards (madvise over mmap'd RAM)
        Stats stats = run(balloon, 3, ROUNDS / 4, this::addWellFormedBalloon, () -> { });
        System.out.printf("virtio balloon fuzz (%s): %s; %d reports, %d bytes discarded%n", kind, stats,
                balloon.reports(), balloon.reportedBytes());
        assertThat(stats.failures).isPositive();
        assertThat(stats.reinitialized).isPositive();
        assertThat(balloon.reports()).isPositive();
    }

    private void use(Backing kind) {
        backing = kind.create();
        memory = new WatchedMemory(backing);
    }

    @AfterEach
    void unmap() {
        if (backing instanceof MmapGuestMemory mapped) {
            mapped.close();
        }
    }

    /** What the fuzzer's driver posts as a plausible chain on queue {@code queueIndex}. */
    interface ChainSource {
        void add(QueueDriver queue, GuestArena arena, int queueIndex);
    }

    static final class Stats {
        long rounds;
        long failures;
        long reinitialized;
        long usedBuffers;
        long seed;

        @Override
        public String toString() {
            return String.format("%d rounds, %d guest errors, %d re-initializations, %d buffers used, seed %d",
                    rounds, failures, reinitialized, usedBuffers, seed);
        }
    }

    private Stats run(VirtioDevice device, int queueCount, ChainSource wellFormed, Runnable host) {
        return run(device, queueCount, ROUNDS, wellFormed, host);
    }

    private Stats run(VirtioDevice device, int queueCount, int rounds, ChainSource wellFormed, Runnable host) {
        Stats stats = new Stats();
        stats.rounds = rounds;
        stats.seed = Long.getLong("arrow.fuzz.seed", System.nanoTime());
        random = new SplittableRandom(stats.seed);
        VirtioMmioTransport transport = new VirtioMmioTransport("fuzzed", device, memory, () -> { },
                (name, error) -> stats.failures++, Runnable::run);
        GuestArena arena = new GuestArena(memory, GuestAddress.of(0x1000), RAM - 0x1000);
        VirtioMmioDriver driver = null;
        List<QueueDriver> queues = null;
        try {
            for (int round = 0; round < rounds; round++) {
                if (queues == null || (transport.status() & DeviceStatus.DEVICE_NEEDS_RESET) != 0) {
                    arena.reset();
                    driver = new VirtioMmioDriver(transport, arena);
                    queues = driver.initialize(-1L, queueCount, 16);
                    stats.reinitialized++;
                }
                int q = random.nextInt(queueCount);
                QueueDriver queue = queues.get(q);
                int roll = random.nextInt(100);
                if (roll < 85) {
                    wellFormed.add(queue, arena, q);
                } else if (roll < 97) {
                    addHostile(queue);
                } else if (roll < 98) {
                    driver.writeRegister(random.nextInt(0x40) * 4, random.nextInt());
                } else {
                    transport.write(random.nextInt(0x200), new byte[1 + random.nextInt(8)]);
                }
                driver.notifyQueue(q);
                if (random.nextInt(4) == 0) {
                    transport.notifyQueue(random.nextInt(queueCount + 2) - 1);
                }
                for (QueueDriver d : queues) {
                    while (d.pollUsed() != null) {
                        stats.usedBuffers++;
                    }
                }
                host.run();
                if (arena.remaining() < 64 << 10) {
                    queues = null; // start over with fresh memory
                }
            }
        } catch (RuntimeException | AssertionError e) {
            throw new AssertionError("seed " + stats.seed + ": " + e, e);
        }
        transport.close();
        assertThat(memory.violations()).as("seed %d", stats.seed).isEmpty();
        return stats;
    }

    private void addWellFormed(QueueDriver queue, GuestArena arena, int queueIndex) {
        if (queue.freeDescriptors() < 2) {
            return;
        }
        int length = 1 + random.nextInt(64);
        GuestAddress buffer = arena.allocate(length);
        // even queues take device-writable buffers (receive, control receive, entropy requests),
        // odd ones device-readable (transmit): mostly follow that, sometimes not
        boolean writable = (queueIndex % 2 == 0) != (random.nextInt(10) == 0);
        if (queueIndex == 3 && !writable) {
            // a plausible control message: header with a small id and a known event
            byte[] message = new byte[8];
            message[0] = (byte) random.nextInt(4);
            message[4] = (byte) random.nextInt(8);
            message[6] = (byte) random.nextInt(2);
            memory.write(buffer, message);
            length = 8;
        } else if (!writable) {
            memory.fill(buffer, length, (byte) random.nextInt());
        }
        queue.add(writable ? QueueDriver.Buffer.writable(buffer, length) : QueueDriver.Buffer.readable(buffer, length));
    }

    private void addHostile(QueueDriver queue) {
        int index = random.nextInt(queue.size());
        long address = random.nextInt(3) == 0 ? random.nextLong() : random.nextLong(RAM + 4096);
        long length = random.nextInt(3) == 0 ? Integer.toUnsignedLong(random.nextInt()) : random.nextInt(256);
        queue.writeDescriptor(index, address, length, random.nextInt(8), random.nextInt(queue.size() + 1));
        if (random.nextInt(20) == 0) {
            queue.setAvailIdx(random.nextInt(0x10000));
        } else {
            queue.publish(random.nextInt(10) == 0 ? random.nextInt(0x10000) : index);
        }
    }

    /**
     * A balloon chain: on the reporting queue 1..3 device-writable blocks of 1 or 2 whole pages, on the inflate
     * and deflate queues an array of page numbers; now and then a block turned device-readable or off its page.
     */
    private void addWellFormedBalloon(QueueDriver queue, GuestArena arena, int queueIndex) {
        int parts = 1 + random.nextInt(3);
        if (queue.freeDescriptors() < parts) {
            return;
        }
        List<QueueDriver.Buffer> buffers = new ArrayList<>(parts);
        for (int i = 0; i < parts; i++) {
            if (queueIndex == VirtioBalloon.REPORTING_QUEUE) {
                int length = (int) (Layout.PAGE_SIZE << random.nextInt(2));
                buffers.add(QueueDriver.Buffer.writable(arena.allocate(length, Layout.PAGE_SIZE), length));
            } else {
                int length = 4 * (1 + random.nextInt(16));
                buffers.add(QueueDriver.Buffer.readable(arena.allocate(length), length));
            }
        }
        if (random.nextInt(40) == 0) {
            int i = random.nextInt(buffers.size());
            QueueDriver.Buffer b = buffers.get(i);
            buffers.set(i, random.nextBoolean() ? new QueueDriver.Buffer(b.address(), b.length(), !b.writable())
                    : new QueueDriver.Buffer(b.address().plus(8), b.length(), b.writable()));
        }
        queue.add(buffers);
    }

    /**
     * A virtio-net chain: on the receive queue 1..3 device-writable buffers (sometimes too small for
     * the next frame), on the transmit queue a header and a frame (sometimes shorter than an Ethernet
     * header) over 1..3 device-readable buffers; now and then direct, indirect or with a wrong-way buffer
     * or an offload the driver did not negotiate.
     */
    private void addWellFormedNet(QueueDriver queue, GuestArena arena, int queueIndex) {
        int parts = 1 + random.nextInt(3);
        boolean indirect = random.nextInt(5) == 0;
        if (queue.freeDescriptors() < (indirect ? 1 : parts)) {
            return;
        }
        List<QueueDriver.Buffer> buffers = new ArrayList<>(parts);
        if (queueIndex == VirtioNet.RECEIVE_QUEUE) {
            for (int i = 0; i < parts; i++) {
                int length = 1 + random.nextInt(400);
                buffers.add(QueueDriver.Buffer.writable(arena.allocate(length), length));
            }
        } else {
            byte[] chain = new byte[VirtioNetHeader.SIZE + random.nextInt(200)];
            random.nextBytes(chain);
            Arrays.fill(chain, 0, VirtioNetHeader.SIZE, (byte) 0);
            if (random.nextInt(50) == 0) {
                chain[random.nextInt(2)] = (byte) (1 + random.nextInt(255)); // flags or gso_type
            }
            int start = 0;
            for (int cut : random.ints(parts - 1, 1, chain.length).sorted().distinct().toArray()) {
                buffers.add(QueueDriver.Buffer.readable(arena.put(Arrays.copyOfRange(chain, start, cut)), cut - start));
                start = cut;
            }
            buffers.add(QueueDriver.Buffer.readable(arena.put(Arrays.copyOfRange(chain, start, chain.length)),
                    chain.length - start));
        }
        if (random.nextInt(40) == 0) {
            int i = random.nextInt(buffers.size());
            QueueDriver.Buffer b = buffers.get(i);
            buffers.set(i, new QueueDriver.Buffer(b.address(), b.length(), !b.writable()));
        }
        if (indirect) {
            queue.addIndirect(arena, buffers);
        } else {
            queue.add(buffers);
        }
    }

    /**
     * Frames arrive from the network while the inbox has room (mostly small, some larger than any
     * receive chain the fuzzer posts); the backend sometimes refuses sends, and now and then fails
     * (link down) and comes back.
     */
    private void networkActivity(FakeBackend backend) {
        if (random.nextInt(3) == 0 && backend.inbox.size() < backend.inbox.capacity()) {
            int length = random.nextInt(500) == 0
                    ? NetworkBackend.MIN_FRAME_BYTES + random.nextInt(NetworkBackend.MAX_FRAME_BYTES - 13)
                    : NetworkBackend.MIN_FRAME_BYTES + random.nextInt(600);
            backend.receive(length, (byte) random.nextInt());
        }
        if (backend.refuseSends ? random.nextInt(20) == 0 : random.nextInt(500) == 0) {
            backend.refuseSends = !backend.refuseSends; // losing frames now and then, briefly
        }
        if (backend.hasSendRoom() ? random.nextInt(300) == 0 : random.nextInt(10) == 0) {
            if (backend.hasSendRoom()) {
                backend.takeSendRoom(); // congested: the device must leave the guest's frames queued
            } else {
                backend.giveSendRoom();
            }
        }
        if (random.nextInt(20_000) == 0) {
            backend.fail("fuzzed link failure");
        } else if (!backend.healthy && random.nextInt(2_000) == 0) {
            backend.healthy = true;
        }
    }

    /** Reads what is there from the output streams and sometimes feeds stdin, never blocking. */
    private void hostActivity(VirtioConsole console) {
        try {
            for (ConsolePort port : console.ports()) {
                if (port.direction() == ConsolePort.Direction.FROM_GUEST) {
                    InputStream in = port.fromGuest();
                    int n = in.available();
                    if (n > 0) {
                        in.read(sink, 0, Math.min(n, sink.length));
                    }
                }
            }
            // stdin blocks when its buffer is full (the guest may never read): stay below it
            if (random.nextInt(200) == 0 && stdinWritten < STDIN_LIMIT) {
                int n = 1 + random.nextInt(4);
                console.port(StdioConsoles.STDIN).toGuest().write(new byte[n]);
                stdinWritten += n;
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
