package dev.arrow.backend.kvm;

import dev.arrow.ArrowProcess;
import dev.arrow.BootPhase;
import dev.arrow.BootTimeline;
import dev.arrow.Output;
import dev.arrow.VmStatistics;
import static dev.arrow.backend.kvm.BootTestSupport.guestAppArrow;
import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.testing.BootTest;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Tier 4: the boot timeline and VM statistics of a real boot through our VMM. */
@BootTest
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BootTimelineBootTest {

    @Test
    void aHelloBootReachesEveryPhaseInOrderOnBothClocks() throws Exception {
        try (ArrowProcess p = guestAppArrow("hello", "timeline").stdout(Output.discard()).start()) {
            assertThat(p.waitFor()).isZero();
            BootTimeline t = p.timeline();
            // every phase but a clone's: a cold boot goes through the boot phases instead
            assertThat(t.entries()).extracting(BootTimeline.Entry::phase).containsAll(
                    java.util.Arrays.stream(BootPhase.values()).filter(ph -> ph != BootPhase.CLONED).toList());
            assertThat(t.reached(BootPhase.CLONED)).isFalse();
            List<BootPhase> hostOrder = List.of(BootPhase.START, BootPhase.SPEC_VALIDATED, BootPhase.IMAGE_ASSEMBLED,
                    BootPhase.VM_CREATED, BootPhase.KERNEL_LOADED, BootPhase.FIRST_KVM_RUN, BootPhase.INIT_STARTED,
                    BootPhase.APP_EXITED, BootPhase.GUEST_HALTING, BootPhase.EXITED);
            assertThat(hostOrder).extracting(ph -> t.entry(ph).orElseThrow().sinceStartNanos()).isSorted();
            assertThat(t.between(BootPhase.INIT_STARTED, BootPhase.FIRST_OUTPUT).orElseThrow()).isPositive();
            List<BootPhase> guestOrder = List.of(BootPhase.INIT_STARTED, BootPhase.IMAGE_CHECKED, BootPhase.APP_EXECUTED,
                    BootPhase.APP_EXITED,
                    BootPhase.GUEST_HALTING);
            assertThat(guestOrder).extracting(ph -> t.guestUptime(ph).orElseThrow()).isSorted();
            // the guest's clock starts after its first KVM_RUN: init cannot have started earlier by the guest's account
            assertThat(t.guestUptime(BootPhase.INIT_STARTED).orElseThrow())
                    .isLessThanOrEqualTo(t.between(BootPhase.FIRST_KVM_RUN, BootPhase.INIT_STARTED).orElseThrow());

            VmStatistics stats = p.statistics().orElseThrow();
            assertThat(stats.exitsByKind().get("io-out")).isPositive(); // console and status port bytes
            assertThat(stats.totalExits()).isGreaterThanOrEqualTo(stats.exitsByKind().get("io-out"));
            assertThat(stats.guestMemoryBytes()).isEqualTo(64L << 20);
            assertThat(stats.residentGuestBytes()).isZero(); // released once the guest ended
        }
    }

    @Test
    void aRunningArrowHasResidentGuestMemory() throws Exception {
        try (ArrowProcess p = guestAppArrow("echo-line").start()) {
            byte[] got = new byte[1];
            p.getOutputStream().write("x\n".getBytes());
            p.getOutputStream().flush();
            assertThat(p.getInputStream().read(got)).isEqualTo(1); // the app runs: the kernel is booted
            VmStatistics alive = p.statistics().orElseThrow();
            assertThat(alive.residentGuestBytes()).isPositive().isLessThanOrEqualTo(64L << 20);
            assertThat(p.waitFor()).isZero();
        }
    }
}
