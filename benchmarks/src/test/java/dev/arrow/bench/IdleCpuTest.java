package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IdleCpuTest {
    @Test
    void percentOfCoreIsUserPlusSystemTimeOverTheWindow() {
        IdleCpu cpu = new IdleCpu(10_000_000_000L, new ProcessCpu(20_000_000, 10_000_000, 5_000_000));
        assertThat(cpu.percentOfCore()).isCloseTo(0.30, within(1e-9));
    }

    @Test
    void theReportReadsWhatTheMeasurementWrites() throws Exception {
        IdleCpu base = new IdleCpu(10_000_000_000L, new ProcessCpu(20_000_000, 10_000_000, 0));
        IdleCpu step = new IdleCpu(10_000_000_000L, new ProcessCpu(50_000_000, 20_000_000, 30_000_000));
        String memory = Json.MAPPER.writeValueAsString(Map.of("baselineIdleCpu", base.toJson(),
                "steps", List.of(Map.of("alive", 10, "idleCpu", step.toJson()))));
        MemorySection.IdleCosts ten = MemorySection.IdleCosts.of(Json.MAPPER.readTree(memory)).get(1);
        assertThat(ten.cpuPercent()).isCloseTo(0.70, within(1e-9));
        assertThat(ten.idleCpuPercent()).isCloseTo(0.40, within(1e-9));
        assertThat(ten.idleCpuPerGoalPercent()).isCloseTo(4.0, within(1e-9));
    }

    @Test
    void aWindowOfThisProcessSeesTheTimeItsThreadsSpent() throws Exception {
        Thread spinner = new Thread(() -> {
            long end = System.nanoTime() + 1_500_000_000L;
            while (System.nanoTime() < end) {
                Thread.onSpinWait();
            }
        });
        spinner.start();
        IdleCpu cpu = IdleCpu.measure(Duration.ofSeconds(1), ProcessCpu.ticksPerSecond());
        spinner.join();
        assertThat(cpu.windowNanos()).isGreaterThanOrEqualTo(1_000_000_000L);
        // the spinner runs through the whole window; on a loaded machine it gets less than all of a core
        assertThat(cpu.percentOfCore()).isGreaterThan(10);
    }
}
