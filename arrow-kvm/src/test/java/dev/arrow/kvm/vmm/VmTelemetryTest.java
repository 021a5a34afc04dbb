package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.Asm;
import dev.arrow.kvm.x86.Layout;
import dev.arrow.testing.KvmTest;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 2: boot milestones, exit counts and resident guest memory of tiny guests. */
@KvmTest
class VmTelemetryTest {
    static final Duration TIMEOUT = Duration.ofSeconds(20);
    /** An I/O port no device claims: writes to it are counted and ignored. */
    static final int UNCLAIMED_PORT = 0x80;

    @TempDir
    Path dir;

    record Milestone(BootEvent event, long nanoTime, String thread) {
    }

    final List<Milestone> milestones = new CopyOnWriteArrayList<>();

    private VmConfig.Builder config(Asm code) throws IOException {
        return VmConfig.builder().kernel(TinyKernel.write(dir, code.bytes())).memoryBytes(64 * Layout.MiB)
                .bootListener((event, nanos) -> milestones.add(new Milestone(event, nanos, Thread.currentThread().getName())));
    }

    /** {@code writes} writes to the unclaimed port, then a reset through the i8042 (one more port write). */
    private static Asm portWritesThenReset(int writes) {
        Asm a = Asm.longMode();
        for (int i = 0; i < writes; i++) {
            a.outAl(UNCLAIMED_PORT);
        }
        return a.movAl(0xFE).outAl(Layout.I8042_COMMAND_PORT).spin();
    }

    private static VmOutcome await(RunningVm vm) throws InterruptedException {
        return vm.awaitExit(TIMEOUT).orElseThrow(() -> new AssertionError("guest still running after " + TIMEOUT));
    }

    @Test
    void milestonesArriveOnceInBootOrderWithRisingTimes() throws Exception {
        long before = System.nanoTime();
        try (RunningVm vm = VmBuilder.start(config(portWritesThenReset(3)).build())) {
            await(vm);
        }
        assertThat(milestones).extracting(Milestone::event)
                .containsExactly(BootEvent.VM_CREATED, BootEvent.KERNEL_LOADED, BootEvent.FIRST_RUN);
        assertThat(milestones).extracting(Milestone::nanoTime).isSorted().allMatch(t -> t >= before);
        assertThat(milestones.get(2).thread()).endsWith("-vcpu0");
    }

    @Test
    void onlyTheBootVcpuReportsItsFirstRun() throws Exception {
        try (RunningVm vm = VmBuilder.start(config(portWritesThenReset(1)).vcpuCount(2).build())) {
            await(vm);
        }
        assertThat(milestones).filteredOn(m -> m.event() == BootEvent.FIRST_RUN).hasSize(1)
                .allMatch(m -> m.thread().endsWith("-vcpu0"));
    }

    @Test
    void exitsAreCountedByKindAndSurviveClose() throws Exception {
        RunningVm vm = VmBuilder.start(config(portWritesThenReset(25)).build());
        try {
            assertThat(await(vm)).isInstanceOf(VmOutcome.Reset.class);
        } finally {
            vm.close();
        }
        Map<ExitKind, Long> counts = vm.exitCounts();
        assertThat(counts).containsOnlyKeys(ExitKind.values());
        assertThat(counts.get(ExitKind.IO_OUT)).isEqualTo(26); // 25 + the reset
        assertThat(counts.get(ExitKind.IO_IN)).isZero();
        assertThat(counts.get(ExitKind.MMIO_WRITE)).isZero();
    }

    @Test
    void aThrowingListenerDoesNotStopTheGuest() throws Exception {
        VmConfig config = config(portWritesThenReset(2)).bootListener((event, nanos) -> {
            throw new IllegalStateException("listener bug");
        }).build();
        try (RunningVm vm = VmBuilder.start(config)) {
            assertThat(await(vm)).isInstanceOf(VmOutcome.Reset.class);
            assertThat(vm.exitCounts().get(ExitKind.IO_OUT)).isEqualTo(3);
        }
    }

    @Test
    void residentGuestMemoryCoversTheLoadedKernelAndIsZeroAfterClose() throws Exception {
        RunningVm vm = VmBuilder.start(config(Asm.longMode().spin()).build());
        try {
            // at least the page tables, the zero page and the kernel's page were written
            assertThat(vm.residentGuestBytes()).isGreaterThanOrEqualTo(3 * 4096L).isLessThanOrEqualTo(64 * Layout.MiB);
        } finally {
            vm.close();
        }
        assertThat(vm.residentGuestBytes()).isZero();
    }
}
