package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.Asm;
import dev.arrow.kvm.Kvm;
import dev.arrow.kvm.sys.KvmCapability;
import dev.arrow.kvm.virtio.VirtioContext;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioMmioRegisters;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.testing.KvmTest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier 2: virtio devices placed and wired by the builder, driven by a tiny guest that reads their
 * registers at their slots and activates two queues: QueueNotify of the queue the device says is
 * notified often reaches it through the VM's doorbell (an ioeventfd) and event loop (or as an MMIO
 * exit where KVM has no ioeventfd), that of the other queue as an MMIO exit on the vCPU thread.
 */
@KvmTest
class VirtioWiringTest {
    @TempDir
    Path dir;
    final ByteArrayOutputStream serial = new ByteArrayOutputStream();

    /** A device of a made-up type with two queues, queue 1 notified often, that records its notifications. */
    static final class Recorder implements VirtioDevice {
        final int type;
        final List<String> notified = new CopyOnWriteArrayList<>();
        volatile boolean closed;
        /** How long close() takes, as a backend that stops a process does. */
        volatile long closeMillis;

        Recorder(int type) {
            this.type = type;
        }

        @Override
        public int deviceType() {
            return type;
        }

        @Override
        public long deviceFeatures() {
            return 0;
        }

        @Override
        public int queueCount() {
            return 2;
        }

        @Override
        public int queueMaxSize(int index) {
            return 16;
        }

        @Override
        public boolean notifiesOften(int index) {
            return index == 1;
        }

        @Override
        public int configSize() {
            return 0;
        }

        @Override
        public void readConfig(int offset, byte[] data) {
        }

        @Override
        public void writeConfig(int offset, byte[] data) {
        }

        @Override
        public void activate(VirtioContext context) {
        }

        @Override
        public void queueNotify(int index) {
            notified.add(index + "@" + Thread.currentThread().getName());
        }

        @Override
        public void reset() {
        }

        @Override
        public void close() {
            try {
                Thread.sleep(closeMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            closed = true;
        }
    }

    private static Asm write32(Asm a, long address, int value) {
        return a.movRbx(address).movEax(value).movToRbxPtrEax();
    }

    /** Reads a 32-bit register and sends its low byte to the serial port. */
    private static Asm echoLowByte(Asm a, long address) {
        return a.movRbx(address).movEaxFromRbxPtr().movDx(Layout.SERIAL_PORT).outDxAl();
    }

    /**
     * Device ids of both slots and the magic's first byte, then queues 0 and 1 of slot 0 set up, a
     * buffer made available in each (descriptor 0: the avail ring's index 1, its entry 0) and both notified.
     */
    private static Asm driver() {
        long b = VirtioSlot.of(0).base();
        Asm a = Asm.longMode();
        echoLowByte(a, b + VirtioMmioRegisters.DEVICE_ID);
        echoLowByte(a, VirtioSlot.of(1).base() + VirtioMmioRegisters.DEVICE_ID);
        echoLowByte(a, b + VirtioMmioRegisters.MAGIC_VALUE);
        write32(a, b + VirtioMmioRegisters.STATUS, 1);                  // ACKNOWLEDGE
        write32(a, b + VirtioMmioRegisters.STATUS, 3);                  // DRIVER
        write32(a, b + VirtioMmioRegisters.DRIVER_FEATURES_SEL, 1);
        write32(a, b + VirtioMmioRegisters.DRIVER_FEATURES, 1);         // VIRTIO_F_VERSION_1 (bit 32)
        write32(a, b + VirtioMmioRegisters.STATUS, 0xB);                // FEATURES_OK
        for (int queue = 0; queue < 2; queue++) {
            long rings = 0x20_0000 + queue * 0x1_0000L;
            write32(a, rings + 0x1000, 1 << 16);                          // avail: flags 0, idx 1
            write32(a, b + VirtioMmioRegisters.QUEUE_SEL, queue);
            write32(a, b + VirtioMmioRegisters.QUEUE_NUM, 8);
            write32(a, b + VirtioMmioRegisters.QUEUE_DESC_LOW, (int) rings);
            write32(a, b + VirtioMmioRegisters.QUEUE_DRIVER_LOW, (int) rings + 0x1000);
            write32(a, b + VirtioMmioRegisters.QUEUE_DEVICE_LOW, (int) rings + 0x2000);
            write32(a, b + VirtioMmioRegisters.QUEUE_READY, 1);
        }
        write32(a, b + VirtioMmioRegisters.STATUS, 0xF);                // DRIVER_OK
        write32(a, b + VirtioMmioRegisters.QUEUE_NOTIFY, 0);
        write32(a, b + VirtioMmioRegisters.QUEUE_NOTIFY, 1);
        return a.outString(Layout.STATUS_PORT, "arrow-status exited 0\n")
                .movAl(0xFE).outAl(Layout.I8042_COMMAND_PORT)
                .spin();
    }

    @Test
    void devicesSitAtTheirSlotsAndQueueNotificationsReachThem() throws Exception {
        boolean ioeventfd;
        ioeventfd = Kvm.shared().hasCapability(KvmCapability.IOEVENTFD);
        Recorder first = new Recorder('A');
        Recorder second = new Recorder('B');
        VmConfig config = VmConfig.builder().kernel(TinyKernel.write(dir, driver().bytes()))
                .memoryBytes(64 * Layout.MiB).serialOutput(serial)
                .virtioDevice(first).virtioDevice(second).build();
        String loopThread;
        try (RunningVm vm = VmBuilder.start(config)) {
            VmOutcome outcome = vm.awaitExit(Duration.ofSeconds(20)).orElseThrow();
            assertThat(outcome).as(outcome.describe()).isInstanceOf(VmOutcome.Reset.class);
            assertThat(serial.toString(StandardCharsets.US_ASCII)).isEqualTo("ABv");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (first.notified.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            loopThread = "arrow-vm" + vm.id() + "-virtio";
            String vcpuThread = "arrow-vm" + vm.id() + "-vcpu0";
            assertThat(first.notified).containsExactlyInAnyOrder("0@" + vcpuThread,
                    "1@" + (ioeventfd ? loopThread : vcpuThread));
            assertThat(second.notified).isEmpty();
            assertThat(Thread.getAllStackTraces().keySet()).anyMatch(t -> t.getName().equals(loopThread));
        }
        assertThat(first.closed).as("closing the VM closes its devices").isTrue();
        assertThat(second.closed).isTrue();
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals(loopThread));
    }
    /**
     * Two threads close the VM at once (as an arrow's own close and its end-of-guest handler may):
     * the one that finds the close under way returns only when the devices are closed, so what
     * they hold (a forwarded port, a passt process) is released when either call returns.
     */
    @Test
    void aSecondCloseWaitsUntilTheFirstHasClosedTheDevices() throws Exception {
        Recorder slow = new Recorder('A');
        slow.closeMillis = 500;
        VmConfig config = VmConfig.builder().kernel(TinyKernel.write(dir, Asm.longMode().spin().bytes()))
                .memoryBytes(64 * Layout.MiB).serialOutput(serial).virtioDevice(slow).build();
        RunningVm vm = VmBuilder.start(config);
        java.util.concurrent.CountDownLatch firstStarted = new java.util.concurrent.CountDownLatch(1);
        Thread first = new Thread(() -> {
            firstStarted.countDown();
            vm.close();
        }, "first-closer");
        first.start();
        firstStarted.await();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (first.getState() == Thread.State.RUNNABLE && vm.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(1); // let the first close begin: it stops the guest first
        }
        vm.close();
        assertThat(slow.closed).as("the device was closed when the second close() returned").isTrue();
        assertThat(vm.isReleased()).isTrue();
        first.join(10_000);
        assertThat(first.isAlive()).isFalse();
    }
}
