package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.BootPhase;
import dev.arrow.image.init.InitProtocol;
import dev.arrow.kvm.vmm.BootEvent;
import dev.arrow.kvm.vmm.ExitKind;
import dev.arrow.spi.BootEvents;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** How the KVM backend feeds the boot timeline and the statistics (no VM needed: tier 1). */
class KvmSessionTelemetryTest {
    final List<String> reports = new CopyOnWriteArrayList<>();
    final BootEvents events = new BootEvents() {
        @Override
        public void host(BootPhase phase, long nanoTime) {
            reports.add("host " + phase.label());
        }

        @Override
        public void guest(BootPhase phase, long guestUptimeNanos, long nanoTime) {
            reports.add("guest " + phase.label() + " " + guestUptimeNanos);
        }
    };

    @Test
    void initMarksGoToTheTimelineAndOtherLinesDoNot() {
        KvmSession session = new KvmSession((b, o, l) -> { }, events, 64L << 20);
        session.onStatusLine("arrow-mark init-start 2002925000");
        session.onStatusLine("arrow-mark app-exec x");          // malformed: ignored
        session.onStatusLine("arrow-mark net-up 5");            // init's own telemetry: no phase
        session.onStatusLine("arrow-status exited 0");
        session.onStatusLine("arrow-mark halt 9");
        assertThat(reports).containsExactly("guest init-started 2002925000", "guest guest-halting 9");
    }

    @Test
    void initsNetUpMarkRunsTheNetworkUpAction() {
        KvmSession session = new KvmSession((b, o, l) -> { }, events, 64L << 20);
        List<String> ran = new CopyOnWriteArrayList<>();
        session.whenNetworkUp(() -> ran.add("released"));
        session.onStatusLine("arrow-mark init-start 1");
        assertThat(ran).isEmpty();
        session.onStatusLine("arrow-mark net-up 5");
        assertThat(ran).containsExactly("released");
    }

    @Test
    void everyGuestPhaseIsReportedByOneOfInitsMarks() {
        List<String> marks = List.of(InitProtocol.MARK_INIT_START, InitProtocol.MARK_IMAGE_CHECKED,
                InitProtocol.MARK_NET_UP, InitProtocol.MARK_APP_EXEC, InitProtocol.MARK_APP_EXIT, InitProtocol.MARK_HALT);
        assertThat(marks.stream().flatMap(m -> InitBootMarks.phaseOf(m).stream()))
                .containsExactlyInAnyOrderElementsOf(
                        Arrays.stream(BootPhase.values()).filter(BootPhase::isGuestPhase).toList());
        assertThat(InitBootMarks.phaseOf("exited")).isEmpty();
    }

    @Test
    void noStatisticsBeforeTheVmExists() {
        assertThat(new KvmSession((b, o, l) -> { }, events, 1).statistics()).isEmpty();
    }

    @Test
    void everyVmmMilestoneIsADistinctHostPhase() {
        assertThat(Arrays.stream(BootEvent.values()).map(KvmLauncher::phaseOf))
                .doesNotHaveDuplicates().noneMatch(BootPhase::isGuestPhase)
                .containsExactly(BootPhase.VM_CREATED, BootPhase.KERNEL_LOADED, BootPhase.FIRST_KVM_RUN);
    }

    @Test
    void exitKindsHaveDistinctReportNames() {
        assertThat(Arrays.stream(ExitKind.values()).map(KvmSession::kindName)).doesNotHaveDuplicates()
                .contains("io-out", "mmio-read", "hlt", "intr");
    }
}
