package dev.arrow.kvm.x86;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SnapshotMsrsTest {

    @Test
    void keepsKvmsOrderAndLeavesOutWhatCannotBeCarriedOver() {
        List<Integer> kvm = List.of(Msrs.IA32_TSC, 0xc1, 0xc8, 0xc9, 0x17a, 0x17b, 0x186, Msrs.IA32_MISC_ENABLE,
                0x38f, 0x480, 0x491, 0x492, SnapshotMsrs.IA32_TSC_DEADLINE, 0x4000_0001, 0x4b56_4d01, Msrs.LSTAR,
                0xc001_0004, 0xc001_020b, 0xc001_020c);
        assertThat(SnapshotMsrs.candidates(kvm)).containsExactly(Msrs.IA32_TSC, 0xc9, 0x17a, Msrs.IA32_MISC_ENABLE,
                0x492, SnapshotMsrs.IA32_TSC_DEADLINE, 0x4b56_4d01, Msrs.LSTAR, 0xc001_020c);
    }

    @Test
    void theTscDeadlineIsRestoredLastAfterTheTsc() {
        MsrEntry deadline = new MsrEntry(SnapshotMsrs.IA32_TSC_DEADLINE, 5000);
        MsrEntry tsc = new MsrEntry(Msrs.IA32_TSC, 4000);
        MsrEntry lstar = new MsrEntry(Msrs.LSTAR, 0xffff_ffff_8100_0000L);
        assertThat(SnapshotMsrs.restoreOrder(List.of(deadline, tsc, lstar))).containsExactly(tsc, lstar, deadline);
        assertThat(SnapshotMsrs.restoreOrder(List.of(tsc, lstar))).containsExactly(tsc, lstar);
    }
}
