package dev.arrow.kvm.virtio;

import static dev.arrow.kvm.virtio.VirtioMmioRegisters.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;

/**
 * Coverage-guided fuzzing (Jazzer) of the virtio-mmio transport: the fuzz input is a sequence of
 * register reads and writes at any offset with any size and value (mostly the real registers),
 * guest memory writes (where the driver may have put its rings) and host-side notifications, in
 * any order through the driver state machine. The device behind it pops every chain it is told
 * about, reads and writes it and returns it, so whatever layout the driver gave reaches the queue.
 * Nothing may escape the transport (guest errors go to its listener), no access may leave guest
 * RAM, MagicValue always reads "virt", and a Status write of 0 always resets the device.
 *
 * <p>A plain {@code mvn test} replays the corpus in
 * {@code src/test/resources/dev/arrow/kvm/virtio/VirtioMmioTransportGuidedFuzzTestInputs/};
 * {@code scripts/fuzz} fuzzes it.
 */
class VirtioMmioTransportGuidedFuzzTest {
    static final long RAM = 64 << 10;
    static final int[] REGISTERS = {MAGIC_VALUE, VERSION_REG, DEVICE_ID, VENDOR_ID_REG, DEVICE_FEATURES,
        DEVICE_FEATURES_SEL, DRIVER_FEATURES, DRIVER_FEATURES_SEL, QUEUE_SEL, QUEUE_NUM_MAX, QUEUE_NUM, QUEUE_READY,
        QUEUE_NOTIFY, INTERRUPT_STATUS, INTERRUPT_ACK, STATUS, QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW,
        QUEUE_DRIVER_HIGH, QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH, SHM_SEL, SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW,
        SHM_BASE_HIGH, QUEUE_RESET, CONFIG_GENERATION, CONFIG, CONFIG + 4, CONFIG + 8};

    @FuzzTest
    void anyRegisterAccessSequenceKeepsTheTransportConsistentAndInsideGuestRam(FuzzedDataProvider data) {
        HeapGuestMemory raw = HeapGuestMemory.ofSize(RAM);
        WatchedMemory memory = new WatchedMemory(raw);
        RecordingDevice device = new RecordingDevice();
        byte[] scratch = new byte[64];
        device.onNotify = index -> serve(device, index, scratch);
        int[] guestErrors = {0};
        VirtioMmioTransport transport = new VirtioMmioTransport("fuzzed", device, memory, () -> { },
                (name, error) -> guestErrors[0]++, Runnable::run);
        for (int step = 0; step < 96 && data.remainingBytes() > 0; step++) {
            switch (data.consumeInt(0, 7)) {
                case 0, 1, 2 -> writeRegister(transport, data.pickValue(REGISTERS), value(data));
                case 3 -> {
                    long offset = data.consumeBoolean() ? data.consumeLong(-8, 0x120) : data.consumeLong();
                    transport.write(offset, data.consumeBytes(data.consumeInt(0, 9)));
                }
                case 4 -> {
                    long offset = data.consumeBoolean() ? data.pickValue(REGISTERS) : data.consumeLong(-8, 0x120);
                    byte[] read = new byte[data.consumeInt(0, 9)];
                    transport.read(offset, read);
                }
                case 5 -> {
                    int at = data.consumeInt(0, (int) RAM - 1);
                    byte[] bytes = data.consumeBytes(Math.min(data.consumeInt(1, 48), (int) RAM - at));
                    raw.write(GuestAddress.of(at), bytes);
                }
                case 6 -> transport.notifyQueue(data.consumeInt(-1, 2));
                default -> {
                    writeRegister(transport, STATUS, 0);
                    assertThat(transport.status()).as("status after a reset").isZero();
                    assertThat(transport.isActive()).isFalse();
                }
            }
            assertThat(readRegister(transport, MAGIC_VALUE)).isEqualTo(MAGIC);
            if (transport.isActive()) {
                assertThat(transport.status() & DeviceStatus.DRIVER_OK).isNotZero();
            }
            device.calls.clear();
        }
        transport.guestStopped();
        transport.close();
        assertThat(memory.violations()).as("accesses outside guest RAM").isEmpty();
    }

    /** What a device does on a notification: take every chain, read it, fill it, return it. */
    private static void serve(RecordingDevice device, int index, byte[] scratch) {
        SplitQueue queue = device.context.queue(index);
        if (queue == null) {
            return;
        }
        for (int i = 0; i < 64; i++) {
            DescriptorChain chain = queue.pop();
            if (chain == null) {
                break;
            }
            chain.read(scratch, 0, scratch.length);
            chain.write(scratch, 0, scratch.length);
            queue.addUsed(chain);
        }
        if (queue.needsNotification()) {
            device.context.signalUsed();
        }
    }

    /** Mostly small values, ring addresses inside RAM and the status bits, sometimes anything. */
    private static int value(FuzzedDataProvider data) {
        return switch (data.consumeInt(0, 3)) {
            case 0 -> data.consumeInt(0, 16);
            case 1 -> data.consumeInt(0, (int) RAM + 64) & ~0xF;
            case 2 -> data.pickValue(new int[] {DeviceStatus.ACKNOWLEDGE, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER,
                DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK,
                DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK,
                DeviceStatus.FAILED, (int) (VirtioFeatures.VERSION_1 >>> 32), -1});
            default -> data.consumeInt();
        };
    }

    private static void writeRegister(VirtioMmioTransport transport, int offset, int value) {
        transport.write(offset, new byte[] {(byte) value, (byte) (value >>> 8), (byte) (value >>> 16), (byte) (value >>> 24)});
    }

    private static int readRegister(VirtioMmioTransport transport, int offset) {
        byte[] b = new byte[4];
        transport.read(offset, b);
        return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
    }
}
