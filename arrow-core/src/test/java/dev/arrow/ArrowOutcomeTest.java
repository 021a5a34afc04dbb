package dev.arrow;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

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
        assertThat(new ArrowOutcome.StartFailed(NOT_FOUND, "m").exitValue()).isEqualTo(383);
        assertThat(new ArrowOutcome.StartFailed(NOT_EXECUTABLE, "m").exitValue()).isEqualTo(382);
        assertThat(new ArrowOutcome.StartFailed(EXEC_FORMAT, "m").exitValue()).isEqualTo(382);
        assertThat(new ArrowOutcome.StartFailed(OTHER, "m").exitValue()).isEqualTo(381);
        assertThat(new ArrowOutcome.GuestCrashed("panic").exitValue()).isEqualTo(381);
        assertThat(new ArrowOutcome.TimedOut(Duration.ofSeconds(1)).exitValue()).isEqualTo(380);
        assertThat(new ArrowOutcome.Destroyed().exitValue()).isEqualTo(393);
    }

    @Test
    void arrowsOwnOutcomesNeverCollideWithTheProgramsAndKeepTheShellNumberInTheLowByte() {
        List<ArrowOutcome> own = List.of(new ArrowOutcome.StartFailed(NOT_FOUND, "m"),
                new ArrowOutcome.StartFailed(OTHER, "m"), new ArrowOutcome.GuestCrashed("panic"),
                new ArrowOutcome.TimedOut(Duration.ofSeconds(1)), new ArrowOutcome.Destroyed());
        for (ArrowOutcome o : own) {
            assertThat(o.exitValue()).as("%s", o).isGreaterThan(255);
        }
        assertThat(own).extracting(o -> o.exitValue() & 0xFF).containsExactly(127, 125, 125, 124, 137);
        for (int signal = 1; signal <= 64; signal++) {
            assertThat(new ArrowOutcome.Signaled(signal).exitValue()).isBetween(129, 192);
        }
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
