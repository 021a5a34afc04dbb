package dev.arrow.kvm.virtio;

import static dev.arrow.kvm.virtio.VirtioMmioRegisters.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.virtio.testing.GuestArena;
import dev.arrow.kvm.virtio.testing.QueueDriver;
import dev.arrow.kvm.virtio.testing.VirtioMmioDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class VirtioMmioTransportTest {
    final HeapGuestMemory memory = HeapGuestMemory.ofSize(1 << 20);
    final GuestArena arena = new GuestArena(memory, GuestAddress.of(0x10000), 0x80000);
    final RecordingDevice device = new RecordingDevice();
    final AtomicInteger interrupts = new AtomicInteger();
    final List<String> reported = new ArrayList<>();
    final List<Runnable> deferred = new ArrayList<>();
    final VirtioMmioTransport transport = new VirtioMmioTransport("test-device", device, memory,
            interrupts::incrementAndGet, (name, error) -> reported.add(name + ": " + error.getMessage()), deferred::add);
    final VirtioMmioDriver driver = new VirtioMmioDriver(transport, arena);

    static final long OFFERED = 0b101 | VirtioFeatures.VERSION_1 | VirtioFeatures.INDIRECT_DESC | VirtioFeatures.EVENT_IDX;

    int read(int offset, int width) {
        byte[] b = new byte[width];
        transport.read(offset, b);
        long v = 0;
        for (int i = width - 1; i >= 0; i--) {
            v = v << 8 | (b[i] & 0xff);
        }
        return (int) v;
    }

    @Test
    void identifiesAsAModernVirtioMmioDevice() {
        assertThat(driver.readRegister(MAGIC_VALUE)).isEqualTo(0x74726976);
        assertThat(driver.readRegister(VERSION_REG)).isEqualTo(2);
        assertThat(driver.readRegister(DEVICE_ID)).isEqualTo(42);
        assertThat(driver.readRegister(VENDOR_ID_REG)).isEqualTo(VENDOR_ID);
        assertThat(driver.readRegister(STATUS)).isZero();
        assertThat(driver.readRegister(SHM_LEN_LOW)).as("no shared memory regions").isEqualTo(-1);
        assertThat(driver.readRegister(SHM_BASE_HIGH)).isEqualTo(-1);
    }

    @Test
    void offersDeviceFeaturesPlusVersion1AndTheRingFeatures() {
        assertThat(driver.deviceFeatures()).isEqualTo(OFFERED);
        driver.writeRegister(DEVICE_FEATURES_SEL, 2);
        assertThat(driver.readRegister(DEVICE_FEATURES)).isZero();
    }

    @Test
    void featuresOkIsKeptForAnAcceptableSubset() {
        driver.initialize(0b100 | VirtioFeatures.EVENT_IDX, 2, 16);
        assertThat(transport.driverFeatures()).isEqualTo(0b100 | VirtioFeatures.EVENT_IDX | VirtioFeatures.VERSION_1);
        assertThat(driver.status()).isEqualTo(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER
                | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK);
        assertThat(device.calls).contains("activate");
        assertThat(device.context.features()).isEqualTo(transport.driverFeatures());
    }

    @Test
    void featuresOkIsRefusedWithoutVersion1() {
        negotiate(0b1);
        assertThat(driver.status() & DeviceStatus.FEATURES_OK).isZero();
    }

    @Test
    void featuresOkIsRefusedForFeaturesTheDeviceDoesNotOffer() {
        negotiate(VirtioFeatures.VERSION_1 | 0b10);
        assertThat(driver.status() & DeviceStatus.FEATURES_OK).isZero();
        driver.reset();
        driver.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        driver.writeRegister(DRIVER_FEATURES_SEL, 1);
        driver.writeRegister(DRIVER_FEATURES, 1);
        driver.writeRegister(DRIVER_FEATURES_SEL, 2);
        driver.writeRegister(DRIVER_FEATURES, 1); // a bit beyond 64
        driver.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
        assertThat(driver.status() & DeviceStatus.FEATURES_OK).isZero();
    }

    @Test
    void driverFeaturesCannotChangeAfterFeaturesOk() {
        negotiate(VirtioFeatures.VERSION_1);
        driver.writeRegister(DRIVER_FEATURES_SEL, 0);
        driver.writeRegister(DRIVER_FEATURES, 0b1);
        assertThat(transport.driverFeatures()).isEqualTo(VirtioFeatures.VERSION_1);
    }

    @Test
    void driverOkWithoutFeaturesOkIsAGuestError() {
        driver.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        driver.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.DRIVER_OK);
        assertThat(driver.status() & DeviceStatus.DEVICE_NEEDS_RESET).isNotZero();
        assertThat(reported).singleElement().asString().contains("DRIVER_OK without FEATURES_OK");
        assertThat(device.calls).doesNotContain("activate");
    }

    @Test
    void clearingStatusBitsIsAGuestError() {
        negotiate(VirtioFeatures.VERSION_1);
        driver.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE);
        assertThat(driver.status() & DeviceStatus.DEVICE_NEEDS_RESET).isNotZero();
        assertThat(reported).singleElement().asString().contains("cleared status bits DRIVER|FEATURES_OK");
    }

    @Test
    void queuesAreSetUpValidatedAndNotificationsReachTheDevice() {
        List<QueueDriver> queues = driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        assertThat(queues.get(0).size()).isEqualTo(16);
        assertThat(queues.get(1).size()).as("capped by QueueNumMax").isEqualTo(4);
        driver.writeRegister(QUEUE_SEL, 1);
        assertThat(driver.readRegister(QUEUE_READY)).isEqualTo(1);
        assertThat(driver.readRegister(QUEUE_NUM_MAX)).isEqualTo(4);
        driver.writeRegister(QUEUE_SEL, 7);
        assertThat(driver.readRegister(QUEUE_NUM_MAX)).as("no such queue").isZero();

        driver.notifyQueue(1);
        transport.notifyQueue(0); // the ioeventfd path
        driver.notifyQueue(5);    // no such queue: ignored

        assertThat(device.calls).containsSubsequence("activate", "notify 1", "notify 0");
        assertThat(device.calls).doesNotContain("notify 5");
        assertThat(device.context.queue(0).size()).isEqualTo(16);
        assertThat(device.context.queue(1).layout()).isEqualTo(queues.get(1).layout());
    }

    /** The event loop's path when its doorbell rang for one of several queues: only a queue with buffers was notified. */
    @Test
    void aPolledQueueReachesTheDeviceOnlyWhenItHoldsBuffers() {
        List<QueueDriver> queues = driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        transport.pollQueue(0);
        transport.pollQueue(1);
        assertThat(device.calls).noneMatch(c -> c.startsWith("notify"));

        queues.get(1).add(QueueDriver.Buffer.readable(arena.put(new byte[] {1}), 1));
        transport.pollQueue(0);
        transport.pollQueue(1);
        transport.pollQueue(7); // no such queue: ignored
        assertThat(device.calls.stream().filter(c -> c.startsWith("notify")).toList()).containsExactly("notify 1");
    }

    @Test
    void aPolledQueueWithAnImpossibleAvailableIndexFailsTheDevice() {
        List<QueueDriver> queues = driver.initialize(VirtioFeatures.VERSION_1, 1, 16);
        queues.get(0).setAvailIdx(100); // more entries than the queue holds
        transport.pollQueue(0);
        assertThat(driver.status() & DeviceStatus.DEVICE_NEEDS_RESET).isNotZero();
        assertThat(reported).singleElement().asString().contains("available index 100");
    }

    @Test
    void notificationsBeforeDriverOkAreIgnored() {
        negotiate(VirtioFeatures.VERSION_1);
        driver.setUpQueue(0, QueueDriver.create(arena, 16));
        driver.notifyQueue(0);
        transport.notifyQueue(0);
        transport.pollQueue(0);
        assertThat(device.calls).noneMatch(c -> c.startsWith("notify"));
    }

    @Test
    void anInvalidQueueLayoutFailsTheDeviceWithAConfigInterrupt() {
        negotiate(VirtioFeatures.VERSION_1);
        driver.writeRegister(QUEUE_SEL, 0);
        driver.writeRegister(QUEUE_NUM, 16);
        driver.writeRegister(QUEUE_DESC_LOW, 0x10008); // not 16-byte aligned
        driver.writeRegister(QUEUE_DRIVER_LOW, 0x11000);
        driver.writeRegister(QUEUE_DEVICE_LOW, 0x12000);
        driver.writeRegister(QUEUE_READY, 1);
        assertThat(driver.readRegister(QUEUE_READY)).isZero();
        assertThat(driver.status() & DeviceStatus.DEVICE_NEEDS_RESET).isNotZero();
        assertThat(reported).singleElement().asString().contains("test-device: queue 0: descriptor table at 0x10008");
        assertThat(transport.failure()).isNotNull();
    }

    @Test
    void queueSizesAboveTheMaximumOrNotPowersOfTwoAreRefused() {
        for (int size : new int[] {0, 3, 32, 1 << 16}) {
            driver.reset();
            reported.clear();
            negotiate(VirtioFeatures.VERSION_1);
            QueueDriver q = QueueDriver.create(arena, 16);
            driver.setUpQueue(0, q);
            driver.reset();
            negotiate(VirtioFeatures.VERSION_1);
            driver.writeRegister(QUEUE_SEL, 0);
            driver.writeRegister(QUEUE_NUM, size);
            driver.writeRegister(QUEUE_DESC_LOW, (int) q.layout().descriptorTable().value());
            driver.writeRegister(QUEUE_DRIVER_LOW, (int) q.layout().availableRing().value());
            driver.writeRegister(QUEUE_DEVICE_LOW, (int) q.layout().usedRing().value());
            driver.writeRegister(QUEUE_READY, 1);
            assertThat(reported).as("size %d", size).singleElement().asString().contains("power of two between 1 and 16");
        }
    }

    @Test
    void queueRegistersCannotBeRewrittenWhileTheQueueIsReady() {
        List<QueueDriver> queues = driver.initialize(VirtioFeatures.VERSION_1, 1, 16);
        driver.writeRegister(QUEUE_SEL, 0);
        driver.writeRegister(QUEUE_DESC_LOW, 0x40);
        driver.writeRegister(QUEUE_NUM, 2);
        assertThat(device.context.queue(0).layout()).isEqualTo(queues.get(0).layout());
    }

    @Test
    void disablingAQueueStopsTheDeviceFromUsingIt() {
        driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        SplitQueue q = device.context.queue(0);
        driver.writeRegister(QUEUE_SEL, 0);
        driver.writeRegister(QUEUE_READY, 0);
        assertThat(driver.readRegister(QUEUE_READY)).isZero();
        assertThat(q.isEnabled()).isFalse();
        assertThat(device.context.queue(0)).isNull();
        driver.notifyQueue(0);
        assertThat(device.calls).doesNotContain("notify 0");
    }

    @Test
    void aGuestErrorFromTheDeviceStopsItUntilTheDriverResets() {
        device.onNotify = index -> {
            throw new VirtioGuestException("bad chain");
        };
        driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        VirtioContext context = device.context;
        driver.notifyQueue(0);

        assertThat(driver.status() & DeviceStatus.DEVICE_NEEDS_RESET).isNotZero();
        assertThat(driver.readRegister(INTERRUPT_STATUS)).isEqualTo(INTERRUPT_CONFIG_CHANGE);
        assertThat(interrupts.get()).isEqualTo(1);
        assertThat(reported).containsExactly("test-device: bad chain");
        assertThat(context.isLive()).isFalse();
        assertThat(context.queue(0)).isNull();
        driver.notifyQueue(0);
        assertThat(device.calls.stream().filter(c -> c.equals("notify 0")).count()).isEqualTo(1);

        device.onNotify = index -> { };
        driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        assertThat(transport.failure()).isNull();
        driver.notifyQueue(0);
        assertThat(device.calls.stream().filter(c -> c.equals("notify 0")).count()).isEqualTo(2);
    }

    @Test
    void guestMemoryErrorsFromDeviceCodeBecomeGuestErrors() {
        device.onNotify = index -> memory.readInt(GuestAddress.of(1 << 20));
        driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        driver.notifyQueue(0);
        assertThat(reported).singleElement().asString().contains("outside guest RAM");
    }

    @Test
    void resetReturnsToThePowerOnState() {
        driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        device.context.signalUsed();
        driver.reset();
        assertThat(driver.status()).isZero();
        assertThat(driver.readRegister(INTERRUPT_STATUS)).isZero();
        driver.writeRegister(QUEUE_SEL, 0);
        assertThat(driver.readRegister(QUEUE_READY)).isZero();
        assertThat(transport.driverFeatures()).isZero();
        assertThat(transport.isActive()).isFalse();
        assertThat(device.calls).endsWith("reset");
    }

    @Test
    void itsStateNamesAnUnacknowledgedInterruptAndEachQueuesIndices() {
        assertThat(transport.describeState()).isEqualTo("not active, interrupt status 0x0");
        driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        device.context.signalUsed();
        assertThat(transport.describeState()).startsWith("active, interrupt status 0x1; ")
                .contains("test-device queue 0: avail idx 0 (device at 0), used idx 0",
                        "test-device queue 1: avail idx 0 (device at 0), used idx 0");
        driver.writeRegister(INTERRUPT_ACK, INTERRUPT_USED_BUFFER);
        assertThat(transport.describeState()).startsWith("active, interrupt status 0x0; ");
    }

    @Test
    void interruptsSetStatusBitsUntilAcknowledged() {
        driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        device.context.signalUsed();
        device.context.signalConfigChange();
        assertThat(interrupts.get()).isEqualTo(2);
        assertThat(driver.readRegister(INTERRUPT_STATUS)).isEqualTo(INTERRUPT_USED_BUFFER | INTERRUPT_CONFIG_CHANGE);
        assertThat(driver.readRegister(CONFIG_GENERATION)).isEqualTo(1);
        driver.writeRegister(INTERRUPT_ACK, INTERRUPT_USED_BUFFER);
        assertThat(driver.readRegister(INTERRUPT_STATUS)).isEqualTo(INTERRUPT_CONFIG_CHANGE);
        assertThat(driver.acknowledgeInterrupt()).isEqualTo(INTERRUPT_CONFIG_CHANGE);
        assertThat(driver.readRegister(INTERRUPT_STATUS)).isZero();
    }

    @Test
    void accessesOfTheWrongWidthOrAlignmentAreIgnored() {
        driver.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE);
        for (int width : new int[] {1, 2, 8}) {
            byte[] b = new byte[width];
            java.util.Arrays.fill(b, (byte) 0x55);
            transport.read(MAGIC_VALUE, b);
            assertThat(b).as("width %d", width).containsOnly(0);
            transport.write(STATUS, new byte[width]);
        }
        assertThat(driver.status()).isEqualTo(DeviceStatus.ACKNOWLEDGE);
        assertThat(read(MAGIC_VALUE + 1, 4)).isZero();
        transport.write(STATUS + 2, new byte[4]);
        transport.write(-4, new byte[4]);
        transport.read(Long.MIN_VALUE, new byte[4]);
        transport.write(0x200, new byte[4]); // past the config space
        transport.read(0x0f0, new byte[0]);
        assertThat(driver.status()).isEqualTo(DeviceStatus.ACKNOWLEDGE);
        assertThat(driver.readRegister(QUEUE_NOTIFY)).as("write-only register").isZero();
        driver.writeRegister(MAGIC_VALUE, 0); // read-only register
        assertThat(driver.readRegister(MAGIC_VALUE)).isEqualTo(MAGIC);
    }

    @Test
    void theConfigSpaceAcceptsSmallAccessesInsideItsSizeOnly() {
        assertThat(read(CONFIG, 1)).isEqualTo(1);
        assertThat(read(CONFIG + 2, 2)).isEqualTo(0x0403);
        assertThat(read(CONFIG + 4, 4)).isEqualTo(0x08070605);
        byte[] eight = new byte[8];
        transport.read(CONFIG + 2, eight);
        assertThat(eight).containsExactly(3, 4, 5, 6, 7, 8, 9, 10);
        assertThat(read(CONFIG + 8, 4)).as("crosses the end").isZero();
        assertThat(read(CONFIG + 10, 1)).as("past the end").isZero();
        transport.read(CONFIG, new byte[3]);
        transport.write(CONFIG + 9, new byte[] {77});
        assertThat(read(CONFIG + 9, 1)).isEqualTo(77);
        transport.write(CONFIG + 9, new byte[] {1, 2});
        assertThat(device.calls).containsExactly("readConfig 0/1", "readConfig 2/2", "readConfig 4/4", "readConfig 2/8",
                "writeConfig 9/1", "readConfig 9/1");
    }

    @Test
    void hostTasksRunUnderTheTransportAndAreDroppedOnceTheContextIsStale() {
        driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        VirtioContext context = device.context;
        List<String> ran = new ArrayList<>();
        context.submit(() -> ran.add("first"));
        context.submit(() -> {
            throw new VirtioGuestException("found while doing host work");
        });
        context.submit(() -> ran.add("after failure"));
        deferred.forEach(Runnable::run);
        assertThat(ran).containsExactly("first");
        assertThat(reported).containsExactly("test-device: found while doing host work");
    }

    @Test
    void guestStoppedReachesTheDeviceAndCloseStopsEverything() {
        driver.initialize(VirtioFeatures.VERSION_1, 2, 16);
        VirtioContext context = device.context;
        transport.guestStopped();
        transport.close();
        transport.close();
        assertThat(device.calls).containsSubsequence("guestStopped", "reset", "close");
        assertThat(device.calls.stream().filter("close"::equals).count()).isEqualTo(1);
        assertThat(context.isLive()).isFalse();
        assertThat(driver.readRegister(MAGIC_VALUE)).as("a closed transport reads as zeros").isZero();
        transport.notifyQueue(0);
        context.signalUsed();
        assertThat(interrupts.get()).isZero();
        assertThat(device.calls).endsWith("close");
    }

    private void negotiate(long features) {
        driver.writeRegister(STATUS, 0);
        driver.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE);
        driver.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        driver.writeRegister(DRIVER_FEATURES_SEL, 0);
        driver.writeRegister(DRIVER_FEATURES, (int) features);
        driver.writeRegister(DRIVER_FEATURES_SEL, 1);
        driver.writeRegister(DRIVER_FEATURES, (int) (features >>> 32));
        driver.writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
    }
}
