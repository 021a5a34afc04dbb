package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Tier 1: when LinuxBootTest blames a stall on the kernel's KVM (and boots once more), and when not. */
class LinuxBootStallTest {
    static final String STUCK = "vCPU 1: no exit within 2000 ms of a kick; exits 18 (INTR 18); inside KVM_RUN, kernel task 77:"
            + " state R, 0 ms user, 9000 ms system; thread arrow-vm1-vcpu1 RUNNABLE";
    static final String RUNNING = "vCPU 0: rip 0xffffffff81058932 rsp 0x1 rflags 0x46 cr0 0x1 cr3 0x2 cr4 0x3,"
            + " mp state RUNNABLE, exits 18394 (IO_IN 9185, IO_OUT 9194, INTR 15)";
    static final String BLOCKED_IN_JAVA = "vCPU 1: no exit within 2000 ms of a kick; exits 5 (IO_OUT 5);"
            + " thread arrow-vm1-vcpu1 WAITING";

    static LinuxBootTest.Boot stalled(String first, String second) {
        return new LinuxBootTest.Boot(new VmOutcome.Stopped(), "", List.of(),
                "vCPUs at the timeout:\n" + first + "\none second later:\n" + second);
    }

    @Test
    void aVcpuInsideKvmRunAtBothSamplesIsTheKernels() {
        assertThat(stalled(RUNNING + "\n" + STUCK, RUNNING + "\n" + STUCK).vcpuStuckInKernel()).isTrue();
    }

    @Test
    void onceIsNotEnoughAndAVcpuBlockedInOurOwnCodeNeverIs() {
        assertThat(stalled(RUNNING + "\n" + STUCK, RUNNING + "\n" + RUNNING).vcpuStuckInKernel()).isFalse();
        assertThat(stalled(BLOCKED_IN_JAVA, BLOCKED_IN_JAVA).vcpuStuckInKernel()).isFalse();
        assertThat(new LinuxBootTest.Boot(new VmOutcome.Reset(), "", List.of(), "").vcpuStuckInKernel()).isFalse();
    }
}
