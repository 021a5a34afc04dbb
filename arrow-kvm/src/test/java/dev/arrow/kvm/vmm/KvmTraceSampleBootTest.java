package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.diagnostics.KvmTraceSample;
import dev.arrow.kvm.x86.KernelCommandLine;
import dev.arrow.testing.BootTest;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Tier 4: {@link KvmTraceSample} against the kernel's real KVM trace events, sampled from the vCPU
 * of a Linux guest that is booting (and so entering and leaving the guest all the time). Needs a
 * KVM that boots Linux and tracing asked for ({@code -Darrow.diagnostics.kvmTrace=true}, as root
 * with tracefs), which the lab's boot tests have.
 */
@BootTest
class KvmTraceSampleBootTest {
    @Test
    void aBootingGuestsVcpuShowsEntriesExitsAndTheirReasons() throws Exception {
        Assumptions.assumeTrue(KvmTraceSample.enabled(), KvmTraceSample.sample(0, Duration.ZERO));
        VmConfig config = VmConfig.builder()
                .kernel(LinuxBootTest.guestKernel())
                .initrd(Initramfs.cpio())
                .commandLine(KernelCommandLine.of("console=ttyS0", "reboot=k", "panic=-1"))
                .memoryBytes(256L << 20)
                .vcpuCount(1)
                .serialOutput(new ByteArrayOutputStream())
                .build();
        try (RunningVm vm = VmBuilder.start(config)) {
            int tid = 0;
            for (long deadline = System.nanoTime() + 10_000_000_000L; tid == 0 && System.nanoTime() < deadline; ) {
                tid = vm.vcpuThreadInKvmRun(0);
            }
            assertThat(tid).as("vCPU 0's thread inside KVM_RUN").isNotZero();
            String sample = KvmTraceSample.sample(tid, Duration.ofMillis(300));
            System.out.println(sample);
            assertThat(sample).startsWith("kvm trace 300 ms: ").contains("kvm_entry ").contains("kvm_exit ")
                    .contains("; exits: ").containsPattern("\\(0x[0-9a-f]+ x[0-9]+");
            assertThat(vm.awaitExit(LinuxBootTest.TIMEOUT)).as("the boot ends").isPresent();
        }
    }
}
