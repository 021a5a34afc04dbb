package dev.arrow;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BootPhaseTest {

    @Test
    void theGuestPhasesAreThoseBetweenInitsStartAndItsHalt() {
        assertThat(Arrays.stream(BootPhase.values()).filter(BootPhase::isGuestPhase)).containsExactly(
                BootPhase.INIT_STARTED, BootPhase.IMAGE_CHECKED, BootPhase.APP_EXECUTED, BootPhase.APP_EXITED,
                BootPhase.GUEST_HALTING);
    }

    @Test
    void labelsAreLowerCaseWithDashes() {
        assertThat(BootPhase.FIRST_KVM_RUN.label()).isEqualTo("first-kvm-run");
        assertThat(BootPhase.START.label()).isEqualTo("start");
    }
}
