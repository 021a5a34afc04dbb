package dev.arrow;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static dev.arrow.ArrowOutcome.StartFailed.Kind.EXEC_FORMAT;
import static dev.arrow.ArrowOutcome.StartFailed.Kind.NOT_EXECUTABLE;
import static dev.arrow.ArrowOutcome.StartFailed.Kind.NOT_FOUND;
import static dev.arrow.ArrowOutcome.StartFailed.Kind.OTHER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ArrowOutcomeTest {

    @Test
    void exitValuesFollowShellConventions() {
        assertThat(new ArrowOutcome.Exited(0).exitValue()).isZero();
        assertThat(new ArrowOutcome.Exited(255).exitValue()).isEqualTo(255);
        assertThat(new ArrowOutcome.Signaled(9).exitValue()).isEqualTo(137);
        assertThat(new ArrowOutcome.Signaled(15).exitValue()).isEqualTo(143);
        assertThat(new ArrowOutcome.StartFailed(NOT_FOUND, "m").exitValue()).isEqualTo(127);
        assertThat(new ArrowOutcome.StartFailed(NOT_EXECUTABLE, "m").exitValue()).isEqualTo(126);
        assertThat(new ArrowOutcome.StartFailed(EXEC_FORMAT, "m").exitValue()).isEqualTo(126);
        assertThat(new ArrowOutcome.StartFailed(OTHER, "m").exitValue()).isEqualTo(125);
        assertThat(new ArrowOutcome.GuestCrashed("panic").exitValue()).isEqualTo(125);
        assertThat(new ArrowOutcome.TimedOut(Duration.ofSeconds(1)).exitValue()).isEqualTo(124);
        assertThat(new ArrowOutcome.Destroyed().exitValue()).isEqualTo(137);
    }

    @Test
    void onlyExitCodeZeroIsSuccess() {
        assertThat(new ArrowOutcome.Exited(0).isSuccess()).isTrue();
        assertThat(new ArrowOutcome.Exited(1).isSuccess()).isFalse();
        assertThat(new ArrowOutcome.Destroyed().isSuccess()).isFalse();
    }

    @Test
    void impossibleCodesAndSignalsAreRejected() {
        assertThatThrownBy(() -> new ArrowOutcome.Exited(256)).hasMessage("exit code 256 out of range 0..255");
        assertThatThrownBy(() -> new ArrowOutcome.Exited(-1)).hasMessage("exit code -1 out of range 0..255");
        assertThatThrownBy(() -> new ArrowOutcome.Signaled(0)).hasMessage("signal 0 out of range 1..64");
        assertThatThrownBy(() -> new ArrowOutcome.Signaled(65)).hasMessage("signal 65 out of range 1..64");
    }
}
