package dev.arrow.kvm.virtio.testing;

import static dev.arrow.kvm.virtio.VirtioMmioRegisters.*;

import dev.arrow.kvm.device.BusDevice;
import dev.arrow.kvm.virtio.DeviceStatus;
import dev.arrow.kvm.virtio.VirtioFeatures;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A guest driver for a virtio-mmio device, reduced to what Linux's virtio_mmio does: check magic
 * and version, reset, ACKNOWLEDGE and DRIVER, negotiate features, FEATURES_OK (read back), set up
 * each queue with a {@link QueueDriver} in guest memory, DRIVER_OK; then notify queues and
 * acknowledge interrupts. Works on any {@link BusDevice} at window offset 0.
 */
public final class VirtioMmioDriver {
    private final BusDevice device;
    private final GuestArena arena;
    private final List<QueueDriver> queues = new ArrayList<>();
    private long features;

    public VirtioMmioDriver(BusDevice device, GuestArena arena) {
        this.device = device;
        this.arena = arena;
    }

    public int readRegister(int offset) {
        byte[] b = new byte[4];
        device.read(offset, b);
        return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
    }

    public void writeRegister(int offset, int value) {
        device.write(offset, new byte[] {(byte) value, (byte) (value >>> 8), (byte) (value >>> 16), (byte) (value >>> 24)});
    }

    /** The 64 feature bits the device offers. */
    public long deviceFeatures() {
        writeRegister(DEVICE_FEATURES_SEL, 1);
        long high = Integer.toUnsignedLong(readRegister(DEVICE_FEATURES));
        writeRegister(DEVICE_FEATURES_SEL, 0);
        long low = Integer.toUnsignedLong(readRegister(DEVICE_FEATURES));
        return high << 32 | low;
    }

    /**
     * Brings the device up, accepting {@code wanted & offered} features (plus VERSION_1) and
     * setting up queues {@code 0..queueCount-1} at their maximum size, capped at {@code maxQueueSize}.
     *
     * @throws IllegalStateException if the device is not a virtio-mmio v2 device, refuses the
     *     features, or lacks a queue
     */
    public List<QueueDriver> initialize(long wanted, int queueCount, int maxQueueSize) {
        if (readRegister(MAGIC_VALUE) != MAGIC || readRegister(VERSION_REG) != VERSION) {
            throw new IllegalStateException("not a virtio-mmio version 2 device");
        }
        writeRegister(STATUS, 0);
        writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE);
        writeRegister(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        features = (deviceFeatures() & wanted) | VirtioFeatures.VERSION_1;
        writeRegister(DRIVER_FEATURES_SEL, 1);
        writeRegister(DRIVER_FEATURES, (int) (features >>> 32));
        writeRegister(DRIVER_FEATURES_SEL, 0);
        writeRegister(DRIVER_FEATURES, (int) features);
        int status = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK;
        writeRegister(STATUS, status);
        if ((readRegister(STATUS) & DeviceStatus.FEATURES_OK) == 0) {
            throw new IllegalStateException("device refused features 0x" + Long.toHexString(features));
        }
        queues.clear();
        for (int i = 0; i < queueCount; i++) {
            writeRegister(QUEUE_SEL, i);
            int max = readRegister(QUEUE_NUM_MAX);
            if (max == 0 || readRegister(QUEUE_READY) != 0) {
                throw new IllegalStateException("queue " + i + " is not available");
            }
            QueueDriver q = QueueDriver.create(arena, Math.min(max, maxQueueSize));
            setUpQueue(i, q);
            queues.add(q);
        }
        writeRegister(STATUS, status | DeviceStatus.DRIVER_OK);
        return Collections.unmodifiableList(queues);
    }

    /** Programs queue {@code index} with {@code q}'s layout and sets QueueReady. */
    public void setUpQueue(int index, QueueDriver q) {
        writeRegister(QUEUE_SEL, index);
        writeRegister(QUEUE_NUM, q.size());
        long d = q.layout().descriptorTable().value();
        long a = q.layout().availableRing().value();
        long u = q.layout().usedRing().value();
        writeRegister(QUEUE_DESC_LOW, (int) d);
        writeRegister(QUEUE_DESC_HIGH, (int) (d >>> 32));
        writeRegister(QUEUE_DRIVER_LOW, (int) a);
        writeRegister(QUEUE_DRIVER_HIGH, (int) (a >>> 32));
        writeRegister(QUEUE_DEVICE_LOW, (int) u);
        writeRegister(QUEUE_DEVICE_HIGH, (int) (u >>> 32));
        writeRegister(QUEUE_READY, 1);
    }

    /** The negotiated features. */
    public long features() {
        return features;
    }

    public QueueDriver queue(int index) {
        return queues.get(index);
    }

    /** Writes QueueNotify. */
    public void notifyQueue(int queue) {
        writeRegister(QUEUE_NOTIFY, queue);
    }

    /** Notifies {@code queue} if the device asked for it (notification suppression honoured). */
    public void kick(int queue) {
        if (queues.get(queue).shouldNotify(VirtioFeatures.has(features, VirtioFeatures.EVENT_IDX))) {
            notifyQueue(queue);
        }
    }

    /** Reads InterruptStatus, acknowledges every bit set and returns them. */
    public int acknowledgeInterrupt() {
        int bits = readRegister(INTERRUPT_STATUS);
        if (bits != 0) {
            writeRegister(INTERRUPT_ACK, bits);
        }
        return bits;
    }

    public int status() {
        return readRegister(STATUS);
    }

    public void reset() {
        writeRegister(STATUS, 0);
    }

    public byte[] readConfig(int offset, int length) {
        byte[] b = new byte[length];
        device.read(CONFIG + offset, b);
        return b;
    }
}
