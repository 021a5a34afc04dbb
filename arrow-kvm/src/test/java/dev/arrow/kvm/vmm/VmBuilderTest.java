package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.Asm;
import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.KvmException;
import dev.arrow.kvm.loader.KernelCache;
import dev.arrow.kvm.loader.KernelLoadException;
import dev.arrow.kvm.x86.KernelCommandLine;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.testing.KvmTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier 2: the builder and the vCPU threads, driving tiny 64-bit "kernels" (see TinyKernel)
 * through the same path a Linux boot takes.
 */
@KvmTest
class VmBuilderTest {
    static final Duration TIMEOUT = Duration.ofSeconds(20);
    static final long MEMORY = 64 * Layout.MiB;

    @TempDir
    Path dir;
    final ByteArrayOutputStream serial = new ByteArrayOutputStream();
    final List<String> status = new CopyOnWriteArrayList<>();

    private VmConfig.Builder config(Asm code) throws IOException {
        return VmConfig.builder().kernel(TinyKernel.write(dir, code.bytes())).memoryBytes(MEMORY)
                .serialOutput(serial).statusListener(status::add);
    }

    private static VmOutcome await(RunningVm vm) throws InterruptedException {
        return vm.awaitExit(TIMEOUT).orElseThrow(() -> new AssertionError("guest still running after " + TIMEOUT));
    }

    /** Prints the first command-line byte (found through the zero page) and "hi", reports, resets. */
    private static Asm politeKernel() {
        return Asm.longMode()
                .movEaxFromRsi(0x228)          // boot_params.hdr.cmd_line_ptr
                .movAlFromRaxPtr()
                .movDx(Layout.SERIAL_PORT).outDxAl()
                .movAl('h').outDxAl().movAl('i').outDxAl().movAl('\n').outDxAl()
                .outString(Layout.STATUS_PORT, "arrow-status exited 0\n")
                .movAl(0xFE).outAl(Layout.I8042_COMMAND_PORT)   // pulse the reset line
                .spin();
    }

    @Test
    void tinyKernelPrintsReportsStatusAndResetsInOrder() throws Exception {
        KernelCommandLine cmdline = KernelCommandLine.of("Zebra", "console=ttyS0");
        try (RunningVm vm = VmBuilder.start(config(politeKernel()).commandLine(cmdline).build())) {
            VmOutcome outcome = await(vm);
            assertThat(outcome).isInstanceOf(VmOutcome.Reset.class);
            assertThat(outcome.isOrderly()).isTrue();
            assertThat(serial.toString(StandardCharsets.US_ASCII)).isEqualTo("Zhi\n");
            assertThat(status).containsExactly("arrow-status exited 0");
            assertThat(vm.vcpuStates()).containsOnly(VcpuRunner.State.FINISHED);
            assertThat(vm.isAlive()).isFalse();
        }
    }

    /** Reads each of the PIT's ports and the speaker port, prints what it read on the serial port, reports, resets. */
    private static Asm pitProbingKernel() {
        Asm a = Asm.longMode();
        for (int port : ExitDispatcherTest.PIT_PORTS) {
            a.movDx(port).inAlDx().movDx(Layout.SERIAL_PORT).outDxAl();
        }
        return a.outString(Layout.STATUS_PORT, "arrow-status exited 0\n")
                .movAl(0xFE).outAl(Layout.I8042_COMMAND_PORT)
                .spin();
    }

    /** The kernel threads named kvm-pit/PID that KVM_CREATE_PIT2 starts for a VM of this process. */
    private static List<String> kvmPitThreads() throws IOException {
        String name = "kvm-pit/" + ProcessHandle.current().pid();
        List<String> found = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc"))) {
            for (Path task : tasks.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    if (Files.readString(task.resolve("comm")).trim().equals(name)) {
                        found.add(task.getFileName() + " " + name);
                    }
                } catch (IOException gone) {
                    // the task ended while we looked
                }
            }
        }
        return found;
    }

    @Test
    void aVmHasNoPitItsPortsReadAsAbsentAndNoKvmPitThreadRuns() throws Exception {
        try (RunningVm vm = VmBuilder.start(config(pitProbingKernel()).build())) {
            VmOutcome outcome = await(vm);
            assertThat(outcome).as(outcome.describe()).isInstanceOf(VmOutcome.Reset.class);
            // KVM's PIT would answer with its counters, and its speaker port never reads 0xFF (bits 6 and 7 are 0)
            byte[] ones = new byte[ExitDispatcherTest.PIT_PORTS.length];
            Arrays.fill(ones, (byte) 0xFF);
            assertThat(serial.toByteArray()).as("what the guest read at 0x40-0x43 and 0x61").isEqualTo(ones);
            assertThat(kvmPitThreads()).as("kvm-pit threads of this JVM while its VM exists").isEmpty();
        }
    }

    @Test
    void aBlankVmFromThePoolBootsLikeAFreshOneAndTheNextIsMadeAhead() throws Exception {
        System.setProperty(BlankVmPool.SIZE_PROPERTY, "1");
        try {
            for (int vcpus : new int[] {1, 2}) {
                List<String> serials = new ArrayList<>();
                long handedOut = BlankVmPool.shared().handedOut();
                for (int i = 0; i < 3; i++) { // the first makes its VM (unless one is held), the others take one
                    if (i > 0) {
                        awaitTrue("a blank VM with " + vcpus + " vCPUs held", () -> BlankVmPool.shared().held(vcpus) > 0);
                    }
                    serial.reset();
                    status.clear();
                    try (RunningVm vm = VmBuilder.start(config(politeKernel()).vcpuCount(vcpus).build())) {
                        VmOutcome outcome = await(vm);
                        assertThat(outcome).as(outcome.describe()).isInstanceOf(VmOutcome.Reset.class);
                        assertThat(status).containsExactly("arrow-status exited 0");
                        assertThat(vm.vcpuStates()).hasSize(vcpus);
                    }
                    serials.add(serial.toString(StandardCharsets.US_ASCII));
                }
                assertThat(serials.get(0)).endsWith("hi\n");
                assertThat(serials).as("%d vCPUs", vcpus).containsOnly(serials.get(0));
                assertThat(BlankVmPool.shared().handedOut() - handedOut).as("blank VMs taken from the pool")
                        .isGreaterThanOrEqualTo(2);
            }
        } finally {
            System.clearProperty(BlankVmPool.SIZE_PROPERTY);
        }
        awaitNoBlankVms(); // each held VM goes after its keep-alive, and the pool's thread with it
        assertThat(BlankVmPool.shared().held()).isZero();
    }

    @Test
    void withThePoolOffNothingIsMadeAhead() throws Exception {
        awaitNoBlankVms();
        System.setProperty(BlankVmPool.SIZE_PROPERTY, "0");
        try (RunningVm vm = VmBuilder.start(config(politeKernel()).build())) {
            assertThat(await(vm)).isInstanceOf(VmOutcome.Reset.class);
            assertThat(BlankVmPool.shared().held()).isZero();
            assertThat(BlankVmPool.awaitSharedIdle(Duration.ZERO)).as("no pool thread").isTrue();
        } finally {
            System.clearProperty(BlankVmPool.SIZE_PROPERTY);
        }
    }

    @Test
    void anInvalidPoolSizeFailsTheStartNamingTheFixAndMakesNothing() throws Exception {
        System.setProperty(BlankVmPool.SIZE_PROPERTY, "lots");
        try {
            assertThatThrownBy(() -> VmBuilder.start(config(politeKernel()).build())).isInstanceOf(KvmException.class)
                    .hasMessageContaining("-Darrow.blankVmPool=0");
        } finally {
            System.clearProperty(BlankVmPool.SIZE_PROPERTY);
        }
    }

    /**
     * Prints the byte at {@code address} as a digit, stores 1 there, prints it again, resets: a
     * guest that reads and writes its own kernel image.
     */
    private static Asm selfModifyingKernel(long address) {
        byte[] addAl0x30 = {0x04, 0x30};
        return Asm.longMode()
                .movRbx(address).movRaxFromRbxPtr().raw(addAl0x30).movDx(Layout.SERIAL_PORT).outDxAl()
                .movRax(1).movToRbxPtrRax()
                .movRaxFromRbxPtr().raw(addAl0x30).outDxAl()
                .movAl(0xFE).outAl(Layout.I8042_COMMAND_PORT)
                .spin();
    }

    /** Prints the initrd's first byte (found through the zero page's ramdisk_image) and the low byte of ramdisk_size, resets. */
    private static Asm initrdKernel() {
        return Asm.longMode()
                .movEaxFromRsi(0x218)          // boot_params.hdr.ramdisk_image
                .movAlFromRaxPtr()
                .movDx(Layout.SERIAL_PORT).outDxAl()
                .movEaxFromRsi(0x21c)          // boot_params.hdr.ramdisk_size
                .outDxAl()
                .movAl(0xFE).outAl(Layout.I8042_COMMAND_PORT)
                .spin();
    }

    @Test
    void guestsBootingOneKernelShareItsImageButNotEachOthersWrites() throws Exception {
        long inImage = TinyKernel.LOAD_ADDRESS + 0x800; // in the kernel's page, past its code
        Path image = TinyKernel.write(dir, selfModifyingKernel(inImage).bytes());
        try (KernelCache kernels = new KernelCache(2)) {
            for (int boot = 0; boot < 2; boot++) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                VmConfig c = VmConfig.builder().kernel(image).memoryBytes(MEMORY).serialOutput(out).build();
                try (RunningVm vm = VmBuilder.start(c, kernels)) {
                    assertThat(await(vm)).isInstanceOf(VmOutcome.Reset.class);
                    assertThat(out.toString(StandardCharsets.US_ASCII)).as("boot " + boot).isEqualTo("01");
                }
            }
            assertThat(kernels.loads()).as("the image was read once").isEqualTo(1);
        }
    }

    @Test
    void aStreamedInitrdIsInGuestMemoryWhereTheZeroPageSaysWhenTheGuestStarts() throws Exception {
        int size = 3 * 4096 + 5;
        byte[] initrd = new byte[size];
        initrd[0] = 'Q';
        try (RunningVm vm = VmBuilder.start(config(initrdKernel()).initrd(size, out -> {
            out.write(initrd, 0, 100);
            out.write(initrd, 100, size - 100);
        }).build())) {
            assertThat(await(vm)).isInstanceOf(VmOutcome.Reset.class);
            assertThat(serial.toByteArray()).containsExactly('Q', size & 0xFF);
        }
    }

    /** BSP code that copies {@code ap} to {@code trampoline}, then sends INIT and SIPI to APIC id 1. */
    private static Asm startSecondVcpu(int trampoline, byte[] ap, long apSource) {
        return Asm.longMode()
                .movRsi(apSource).movRdi(trampoline).movRcx(ap.length).repMovsb()
                .movRbx(Layout.LAPIC_ADDRESS + 0x310).movEax(1 << 24).movToRbxPtrEax()   // ICR high: APIC id 1
                .movRbx(Layout.LAPIC_ADDRESS + 0x300).movEax(0x4500).movToRbxPtrEax()    // INIT, assert
                .movEax(0x4600 | (trampoline >>> 12)).movToRbxPtrEax()                    // start-up IPI
                .spin();
    }

    @Test
    void secondVcpuWaitsForTheStartupIpiAndRunsTheTrampoline() throws Exception {
        int trampoline = 0x30000; // page aligned below 1 MiB: the AP starts at CS = 0x3000, IP = 0
        byte[] ap = Asm.real().outString(Layout.STATUS_PORT, "ap-started\n")
                .movAl(0xFE).outAl(Layout.I8042_COMMAND_PORT).cli().hlt().bytes();
        int bspLength = startSecondVcpu(trampoline, ap, 0).here(); // instruction sizes do not depend on values
        Asm image = startSecondVcpu(trampoline, ap, TinyKernel.LOAD_ADDRESS + bspLength).raw(ap);
        try (RunningVm vm = VmBuilder.start(config(image).vcpuCount(2).build())) {
            VmOutcome outcome = await(vm);
            assertThat(outcome).as(outcome.describe()).isInstanceOf(VmOutcome.Reset.class);
            assertThat(status).containsExactly("ap-started");
            assertThat(vm.vcpuStates()).hasSize(2).containsOnly(VcpuRunner.State.FINISHED);
        }
    }

    @Test
    void aStuckGuestsVcpusAreDescribedWhereTheyAreWithoutStoppingIt() throws Exception {
        Asm spin = Asm.longMode().spin();
        long spinAt = TinyKernel.LOAD_ADDRESS + spin.here() - 2; // the jmp to itself: 2 bytes
        try (RunningVm vm = VmBuilder.start(config(spin).vcpuCount(2).build())) {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (vm.vcpuStates().contains(VcpuRunner.State.CREATED) && System.nanoTime() < deadline) {
                Thread.sleep(10); // the threads start
            }
            String first = vm.describeVcpus(Duration.ofSeconds(5));
            String second = vm.describeVcpus(Duration.ofSeconds(5));
            assertThat(vm.isAlive()).isTrue();
            for (String report : List.of(first, second)) {
                String[] lines = report.split("\n");
                assertThat(lines).as(report).hasSize(2);
                assertThat(lines[0]).as(report).startsWith(String.format("vCPU 0: rip 0x%x ", spinAt))
                        .contains("mp state RUNNABLE").containsPattern("exits \\d+ \\(.*INTR \\d+");
                assertThat(lines[1]).as(report).startsWith("vCPU 1: rip 0x").containsPattern("mp state "
                        + "(UNINITIALIZED|INIT_RECEIVED)");
            }
        }
    }

    @Test
    void aVcpuBlockedInTheVmmIsShownWithTheJavaStackItWaitsIn() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        Asm code = Asm.longMode().outString(Layout.STATUS_PORT, "stuck\n").spin();
        VmConfig c = VmConfig.builder().kernel(TinyKernel.write(dir, code.bytes())).memoryBytes(MEMORY)
                .serialOutput(serial).statusListener(line -> {
                    try {
                        release.await(); // a device handler that never returns, until the test lets it
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }).build();
        try (RunningVm vm = VmBuilder.start(c)) {
            try {
                String report = "";
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                while (!report.contains("no exit") && System.nanoTime() < deadline) {
                    Thread.sleep(20); // until the vCPU thread has started and reached the listener
                    report = vm.describeVcpus(Duration.ofMillis(200));
                }
                assertThat(report).startsWith("vCPU 0: no exit within 200 ms of a kick; exits ")
                        .contains("IO_OUT").contains("thread arrow-vm").contains("WAITING")
                        .contains("java.util.concurrent.CountDownLatch.await");
            } finally {
                release.countDown(); // before close, which waits for the vCPU thread
            }
        }
    }

    @Test
    void exceptionBeforeAnyIdtEndsAsTripleFault() throws Exception {
        try (RunningVm vm = VmBuilder.start(config(Asm.longMode().ud2()).build())) {
            VmOutcome outcome = await(vm);
            assertThat(outcome).isInstanceOf(VmOutcome.TripleFault.class);
            assertThat(((VmOutcome.TripleFault) outcome).vcpu()).isZero();
        }
    }

    @Test
    void haltWithInterruptsOffEndsAsHalted() throws Exception {
        try (RunningVm vm = VmBuilder.start(config(Asm.longMode().cli().hlt()).vcpuCount(2).build())) {
            VmOutcome outcome = await(vm);
            assertThat(outcome).as(outcome.describe()).isInstanceOf(VmOutcome.Halted.class);
        }
    }

    /**
     * An idle vCPU (halted with interrupts on, nothing to wake it) is kicked by the idle probe once; the looks after
     * that find its thread asleep in its first blocking since ({@link ThreadBlocks}) leave it alone, instead of kicking
     * it at 1, 2, 4, 8 and 16 ticks. At most one more kick: the thread may block on something else (a JVM lock) between
     * the probe and its halt.
     */
    @Test
    void anIdleVcpuIsKickedOnceAndThenLeftAlone() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(ThreadBlocks.voluntarySwitchesOfCurrentThread() != ThreadBlocks.UNKNOWN,
                "this host's /proc shows no voluntary context switches");
        try (RunningVm vm = VmBuilder.start(config(Asm.longMode().sti().hlt().spin()).build())) {
            Thread.sleep(20 * SharedIdleProber.PERIOD.toMillis()); // looks due at 1, 2, 4, 8 and 16 ticks
            assertThat(vm.isAlive()).isTrue();
            assertThat(vm.exitCounts().get(ExitKind.INTR)).as("kicks").isBetween(1L, 2L);
        }
    }

    /**
     * A VM owns only its vCPU threads; its idle probe runs on the JVM's one prober thread, and closing one VM cancels
     * its probe and leaves the others' running (a guest halted with interrupts off is still found).
     */
    @Test
    void vmsShareOneIdleProberThreadAndOwnOnlyTheirVcpuThreads() throws Exception {
        SharedIdleProber prober = SharedIdleProber.shared();
        int probes = prober.scheduledProbes();
        try (RunningVm spinning = VmBuilder.start(config(Asm.longMode().spin()).vcpuCount(2).build())) {
            try (RunningVm other = VmBuilder.start(config(Asm.longMode().spin()).build())) {
                assertThat(threadsNamed("arrow-vm" + spinning.id() + "-")).isEqualTo(2);
                assertThat(threadsNamed("arrow-vm" + other.id() + "-")).isEqualTo(1);
                assertThat(prober.scheduledProbes()).isEqualTo(probes + 2);
                Thread.sleep(3 * SharedIdleProber.PERIOD.toMillis()); // the probes have run
                assertThat(threadsNamed("arrow-idle-probe")).isEqualTo(1);
            }
            assertThat(prober.scheduledProbes()).as("closing cancels the probe").isEqualTo(probes + 1);
            assertThat(spinning.isAlive()).isTrue();
            try (RunningVm halting = VmBuilder.start(config(Asm.longMode().cli().hlt()).build())) {
                assertThat(await(halting)).isInstanceOf(VmOutcome.Halted.class);
            }
            assertThat(threadsNamed("arrow-idle-probe")).isEqualTo(1);
        }
        assertThat(prober.scheduledProbes()).isEqualTo(probes);
    }

    private static long threadsNamed(String prefix) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().startsWith(prefix))
                .count();
    }

    @Test
    void accessOutsideRamAndDevicesIsAGuestMemoryFault() throws Exception {
        long address = 0x2000_0000L; // 512 MiB: below the MMIO hole, above the 64 MiB of RAM
        Asm code = Asm.longMode().movRbx(address).movRax(42).movToRbxPtrRax().spin();
        try (RunningVm vm = VmBuilder.start(config(code).build())) {
            VmOutcome outcome = await(vm);
            assertThat(outcome).isInstanceOf(VmOutcome.GuestMemoryFault.class);
            VmOutcome.GuestMemoryFault f = (VmOutcome.GuestMemoryFault) outcome;
            assertThat(f.address()).isEqualTo(address);
            assertThat(f.length()).isEqualTo(8);
            assertThat(f.write()).isTrue();
            assertThat(f.describe()).contains("0x20000000").contains("outside RAM");
        }
    }

    @Test
    void unclaimedAccessInTheMmioHoleIsIgnored() throws Exception {
        Asm code = Asm.longMode().movRbx(Layout.VIRTIO_MMIO_BASE).movEaxFromRbxPtr()  // no device there yet
                .movDx(Layout.SERIAL_PORT).outDxAl()                                  // reads as 0xFF
                .movAl(0xFE).outAl(Layout.I8042_COMMAND_PORT).spin();
        try (RunningVm vm = VmBuilder.start(config(code).build())) {
            assertThat(await(vm)).isInstanceOf(VmOutcome.Reset.class);
            assertThat(serial.toByteArray()).containsExactly(0xFF);
        }
    }

    @Test
    void stopEndsAGuestThatNeverExits() throws Exception {
        try (RunningVm vm = VmBuilder.start(config(Asm.longMode().spin()).vcpuCount(2).build())) {
            assertThat(vm.awaitExit(Duration.ofMillis(300))).isEmpty();
            assertThat(vm.isAlive()).isTrue();
            vm.stop();
            assertThat(await(vm)).isInstanceOf(VmOutcome.Stopped.class);
            assertThat(vm.vcpuStates()).containsOnly(VcpuRunner.State.FINISHED);
        }
    }

    @Test
    void unsupportedInstructionOnPvmIsAnInternalErrorNamingTheHost() throws Exception {
        Assumptions.assumeTrue(HostKvm.detect() == HostKvm.PVM,
                "only PVM's instruction interpreter lacks xgetbv; hardware KVM runs it");
        try (RunningVm vm = VmBuilder.start(config(Asm.longMode().xgetbv().spin()).build())) {
            VmOutcome outcome = await(vm);
            assertThat(outcome).isInstanceOf(VmOutcome.InternalError.class);
            assertThat(outcome.describe()).contains("emulation failure").contains("PVM");
        }
    }

    @Test
    void failedBuildReleasesEverythingItMade() throws Exception {
        VmConfig missing = VmConfig.builder().kernel(dir.resolve("no-such-vmlinux")).memoryBytes(MEMORY).build();
        assertThatThrownBy(() -> VmBuilder.start(missing)).isInstanceOf(KernelLoadException.class);
        awaitNoBlankVms();
        long fds = count("/proc/self/fd");
        long maps = count("/proc/self/maps");
        for (int i = 0; i < 30; i++) {
            assertThatThrownBy(() -> VmBuilder.start(missing)).isInstanceOf(KernelLoadException.class)
                    .hasMessageContaining("no-such-vmlinux");
        }
        assertThat(count("/proc/self/fd")).isLessThanOrEqualTo(fds + 2);
        assertThat(count("/proc/self/maps")).isLessThan(maps + 20);
    }

    @Test
    void closeReleasesThreadsFdsAndMappings() throws Exception {
        Asm code = politeKernel();
        try (RunningVm vm = VmBuilder.start(config(code).build())) {
            await(vm); // warm-up
        }
        awaitNoBlankVms();
        long fds = count("/proc/self/fd");
        long maps = count("/proc/self/maps");
        int probes = SharedIdleProber.shared().scheduledProbes();
        for (int i = 0; i < 20; i++) {
            RunningVm vm = VmBuilder.start(config(Asm.longMode().spin()).vcpuCount(2).build());
            vm.close(); // while the guest still runs
            assertThat(vm.isAlive()).isFalse();
        }
        awaitNoBlankVms();
        assertThat(count("/proc/self/fd")).isLessThanOrEqualTo(fds + 2);
        assertThat(count("/proc/self/maps")).isLessThan(maps + 20);
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().startsWith("arrow-vm") && t.isAlive());
        assertThat(SharedIdleProber.shared().scheduledProbes()).as("every VM's idle probe cancelled").isEqualTo(probes);
    }

    /** Waits for the blank VMs made ahead for cold builds ({@link BlankVmPool}) to be gone, and its thread. */
    private static void awaitNoBlankVms() throws InterruptedException {
        assertThat(BlankVmPool.awaitSharedIdle(BlankVmPool.KEEP_ALIVE.plusSeconds(10))).as("blank VM pool idle").isTrue();
    }

    private static void awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " within " + TIMEOUT.toSeconds() + " s");
            }
            Thread.sleep(5);
        }
    }

    private static long count(String path) throws IOException {
        Path p = Path.of(path);
        if (Files.isDirectory(p)) {
            try (Stream<Path> s = Files.list(p)) {
                return s.count();
            }
        }
        try (Stream<String> s = Files.lines(p)) {
            return s.count();
        }
    }
}
