package dev.arrow;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BootPhaseTest {

    @Test
    void guestPhasesAreTheMarksInitReports() {
        assertThat(BootPhase.ofGuestMark("init-start")).contains(BootPhase.INIT_STARTED);
        assertThat(BootPhase.ofGuestMark("app-exec")).contains(BootPhase.APP_EXECUTED);
        assertThat(BootPhase.ofGuestMark("app-exit")).contains(BootPhase.APP_EXITED);
        assertThat(BootPhase.ofGuestMark("halt")).contains(BootPhase.GUEST_HALTING);
        assertThat(BootPhase.ofGuestMark("exited")).isEmpty();
        assertThat(BootPhase.FIRST_KVM_RUN.isGuestPhase()).isFalse();
        assertThat(BootPhase.FIRST_KVM_RUN.guestMark()).isEmpty();
    }

    @Test
    void labelsAreLowerCaseWithDashes() {
        assertThat(BootPhase.FIRST_KVM_RUN.label()).isEqualTo("first-kvm-run");
        assertThat(BootPhase.START.label()).isEqualTo("start");
    }
}
