package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.Asm;
import dev.arrow.kvm.memory.MmapGuestMemory;
import dev.arrow.kvm.sys.ProcMaps;
import dev.arrow.kvm.virtio.VirtioContext;
import dev.arrow.kvm.virtio.VirtioDevice;
import dev.arrow.kvm.virtio.VirtioMmioRegisters;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.testing.KvmTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier 2: closing a VM whose vCPU thread does not stop. The thread is kept in a device handler
 * that ignores kicks and interrupts, so it may enter the guest again once it returns: the close
 * must return anyway, must not give guest RAM's addresses back while that thread lives, and
 * everything must be released when it ends.
 */
@KvmTest
class StuckVcpuCloseTest {
    static final long MEMORY = 64 * Layout.MiB;
    static final Duration STOP_TIMEOUT = Duration.ofMillis(500);
    /** How long the cold builds' blank VMs ({@link BlankVmPool}) may stay: their keep-alive, and a margin. */
    static final Duration BLANK_VMS_GONE = BlankVmPool.KEEP_ALIVE.plusSeconds(10);

    @TempDir
    Path dir;
    final ByteArrayOutputStream serial = new ByteArrayOutputStream();

    /** A virtio device whose config-space read holds its vCPU thread until the test lets it go. */
    static final class BlockingDevice implements VirtioDevice {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch letGo = new CountDownLatch(1);
        volatile boolean closed;

        @Override
        public int deviceType() {
            return 0x7A;
        }

        @Override
        public long deviceFeatures() {
            return 0;
        }

        @Override
        public int queueCount() {
            return 1;
        }

        @Override
        public int queueMaxSize(int index) {
            return 16;
        }

        @Override
        public int configSize() {
            return 4;
        }

        @Override
        public void readConfig(int offset, byte[] data) {
            entered.countDown();
            boolean interrupted = false;
            while (true) {
                try {
                    letGo.await(); // deaf to interrupts, as a thread stuck in the kernel would be
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void writeConfig(int offset, byte[] data) {
        }

        @Override
        public void activate(VirtioContext context) {
        }

        @Override
        public void queueNotify(int index) {
        }

        @Override
        public void reset() {
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private VmConfig.Builder config(Asm code) throws IOException {
        return VmConfig.builder().kernel(TinyKernel.write(dir, code.bytes())).memoryBytes(MEMORY).serialOutput(serial);
    }

    /** Reads the config space of the device in slot 0, then prints 'x' and spins. */
    private static Asm readsItsDevice() {
        return Asm.longMode().movRbx(VirtioSlot.of(0).base() + VirtioMmioRegisters.CONFIG).movEaxFromRbxPtr()
                .movDx(Layout.SERIAL_PORT).movAl('x').outDxAl().spin();
    }

    private static Asm resets() {
        return Asm.longMode().outString(Layout.STATUS_PORT, "arrow-status exited 0\n")
                .movAl(0xFE).outAl(Layout.I8042_COMMAND_PORT).spin();
    }

    private void warmUp() throws Exception {
        try (RunningVm vm = VmBuilder.start(config(resets()).build())) {
            vm.awaitExit(Duration.ofSeconds(20)).orElseThrow();
        }
        try (RunningVm vm = VmBuilder.start(config(resets()).virtioDevice(new BlockingDevice()).build())) {
            vm.awaitExit(Duration.ofSeconds(20)).orElseThrow();
        }
    }

    private static boolean overlaps(MmapGuestMemory.HostRegion a, MmapGuestMemory.HostRegion b) {
        return a.hostAddress() < b.hostAddress() + b.region().size() && b.hostAddress() < a.hostAddress() + a.region().size();
    }

    private static void await(String what, Duration bound, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " within " + bound.toMillis() + " ms");
            }
            Thread.sleep(20);
        }
    }

    private static boolean threadsOf(RunningVm vm) {
        String prefix = "arrow-vm" + vm.id() + "-";
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith(prefix) && t.isAlive());
    }

    @Test
    void closeReturnsKeepsGuestRamReservedAndTheEndOfTheStuckThreadReleasesEverything() throws Exception {
        warmUp(); // classes, the kick signal, JNA, the kernel cache: what stays open for good
        assertThat(BlankVmPool.awaitSharedIdle(BLANK_VMS_GONE)).as("blank VM pool idle").isTrue();
        long fdsBefore = ProcMaps.openFds();
        BlockingDevice device = new BlockingDevice();
        RunningVm vm = VmBuilder.start(config(readsItsDevice()).virtioDevice(device).build());
        List<MmapGuestMemory.HostRegion> ram;
        try {
            vm.stopTimeout(STOP_TIMEOUT);
            assertThat(device.entered.await(20, TimeUnit.SECONDS)).as("the guest reached the device").isTrue();
            ram = vm.guestMemoryHostRegions();

            long start = System.nanoTime();
            vm.close();
            long took = System.nanoTime() - start;
            assertThat(Duration.ofNanos(took)).as("close with a stuck vCPU thread").isLessThan(Duration.ofSeconds(5));
            assertThat(vm.isReleased()).isFalse();
            assertThat(vm.onReleased()).isNotDone();
            assertThat(vm.isAlive()).as("its vCPU thread has not left").isTrue();
            assertThat(device.closed).as("the device its vCPU thread is in stays open").isFalse();

            ProcMaps maps = ProcMaps.read();
            for (MmapGuestMemory.HostRegion h : ram) {
                assertThat(maps.coveredWith(h.hostAddress(), h.hostAddress() + h.region().size(), "---p"))
                        .as("guest RAM %s at host 0x%x is a PROT_NONE reservation: %s", h.region(), h.hostAddress(),
                                maps.overlapping(h.hostAddress(), h.hostAddress() + h.region().size()))
                        .isTrue();
            }
            // the next VM's guest RAM, of the same size, lands elsewhere
            try (RunningVm next = VmBuilder.start(config(resets()).build())) {
                assertThat(next.awaitExit(Duration.ofSeconds(20))).isPresent();
                for (MmapGuestMemory.HostRegion n : next.guestMemoryHostRegions()) {
                    for (MmapGuestMemory.HostRegion old : ram) {
                        assertThat(overlaps(n, old)).as("new RAM at 0x%x, retired RAM at 0x%x", n.hostAddress(),
                                old.hostAddress()).isFalse();
                    }
                }
            }
            long again = System.nanoTime();
            vm.close(); // a second close does not wait for the stuck thread either
            assertThat(Duration.ofNanos(System.nanoTime() - again)).isLessThan(Duration.ofSeconds(1));
        } finally {
            device.letGo.countDown();
        }

        vm.onReleased().get(20, TimeUnit.SECONDS);
        assertThat(vm.isReleased()).isTrue();
        assertThat(vm.awaitExit(Duration.ofSeconds(5))).get().isInstanceOf(VmOutcome.Stopped.class);
        assertThat(device.closed).isTrue();
        assertThat(serial.toString()).as("the guest never ran again after the stop").isEmpty();
        ProcMaps maps = ProcMaps.read();
        for (MmapGuestMemory.HostRegion h : ram) {
            assertThat(maps.overlapping(h.hostAddress(), h.hostAddress() + h.region().size()))
                    .as("the reservation of %s is unmapped", h.region())
                    .noneMatch(m -> m.start() == h.hostAddress() && m.permissions().equals("---p"));
        }
        assertThat(BlankVmPool.awaitSharedIdle(BLANK_VMS_GONE)).as("blank VM pool idle").isTrue();
        await("the VM's fds closed", Duration.ofSeconds(10), () -> ProcMaps.openFds() <= fdsBefore + 2);
        await("the VM's threads ended", Duration.ofSeconds(10), () -> !threadsOf(vm));
    }

    @Test
    void aCloseFromTheVmsOwnVcpuThreadReleasesWhenThatThreadsLoopEnds() throws Exception {
        AtomicReference<RunningVm> self = new AtomicReference<>();
        CountDownLatch closedFromInside = new CountDownLatch(1);
        VmConfig config = config(resets()).statusListener(line -> {
            RunningVm vm;
            while ((vm = self.get()) == null) {
                Thread.onSpinWait();
            }
            vm.close(); // on the vCPU thread, inside the status port's handler
            closedFromInside.countDown();
        }).build();
        RunningVm vm = VmBuilder.start(config);
        self.set(vm);
        try {
            assertThat(closedFromInside.await(20, TimeUnit.SECONDS)).as("close returned on the vCPU thread").isTrue();
            vm.onReleased().get(20, TimeUnit.SECONDS);
            assertThat(vm.awaitExit(Duration.ofSeconds(5))).get().isInstanceOf(VmOutcome.Stopped.class);
            assertThat(vm.guestMemoryHostRegions()).isNotEmpty();
        } finally {
            vm.close();
        }
        assertThat(vm.isReleased()).isTrue();
        await("the VM's threads ended", Duration.ofSeconds(10), () -> !threadsOf(vm));
    }
}
