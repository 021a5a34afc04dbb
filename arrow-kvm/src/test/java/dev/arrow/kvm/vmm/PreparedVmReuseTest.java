package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which endings of a clone leave its VM fit for the next clone (tier 1). */
class PreparedVmReuseTest {
    @Test
    void aGuestThatEndedOrWasStoppedLeavesItsVmReusable() {
        assertThat(PreparedVm.reusableAfter(new VmOutcome.Stopped())).isTrue();
        assertThat(PreparedVm.reusableAfter(new VmOutcome.Reset())).isTrue();
        assertThat(PreparedVm.reusableAfter(new VmOutcome.Halted())).isTrue();
        assertThat(PreparedVm.reusableAfter(new VmOutcome.Ended())).isTrue();
        assertThat(PreparedVm.reusableAfter(new VmOutcome.GuestMemoryFault(0, 0xFEE0_0000L, 4, true, ""))).isTrue();
    }

    @Test
    void aVmWhoseKernelOrVmmStateIsUndescribedIsNotReused() {
        assertThat(PreparedVm.reusableAfter(new VmOutcome.TripleFault(0, 0x1000))).isFalse();
        assertThat(PreparedVm.reusableAfter(new VmOutcome.FailEntry(0, 0x21))).isFalse();
        assertThat(PreparedVm.reusableAfter(new VmOutcome.InternalError(0, 1, "emulation", new long[0], 0, "")))
                .isFalse();
        assertThat(PreparedVm.reusableAfter(new VmOutcome.VmmError(0, new IllegalStateException("KVM_SET_REGS"))))
                .isFalse();
    }
}
