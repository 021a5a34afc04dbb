package dev.arrow.kvm.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class StepTimesTest {
    @Test
    void eachStepLastsFromTheEndOfTheOneBefore() {
        AtomicLong clock = new AtomicLong(1_000_000);
        StepTimes times = new StepTimes(clock::get);
        clock.addAndGet(1_200_000);
        times.step("restore");
        clock.addAndGet(3_400_000);
        times.step("devices");
        assertThat(times.totalNanos()).isEqualTo(4_600_000);
        assertThat(times).hasToString("restore 1.20 ms, devices 3.40 ms (4.60 ms)");
    }

    @Test
    void noStepsIsNoTime() {
        assertThat(new StepTimes(() -> 5)).hasToString("(0.00 ms)");
    }

    @Test
    void unmeasuredStepsRecordNothing() {
        StepTimes off = StepTimes.measuredIf(false);
        off.step("restore");
        assertThat(off.totalNanos()).isZero();
        assertThat(off).hasToString("not measured");
        StepTimes on = StepTimes.measuredIf(true);
        on.step("restore");
        assertThat(on.toString()).startsWith("restore ");
    }
}
