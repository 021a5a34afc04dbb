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
        IdleCpu cpu = new IdleCpu(10_000_000_000L, new ProcessCpu(20_000_000, 10_000_000, 5_000_000), List.of(), 0, 0);
        assertThat(cpu.percentOfCore()).isCloseTo(0.30, within(1e-9));
    }

    @Test
    void theReportReadsWhatTheMeasurementWrites() throws Exception {
        IdleCpu base = new IdleCpu(10_000_000_000L, new ProcessCpu(20_000_000, 10_000_000, 0), List.of(), 5_000_000, 1_000_000);
        IdleCpu step = new IdleCpu(10_000_000_000L, new ProcessCpu(50_000_000, 20_000_000, 30_000_000),
                List.of(Map.entry("arrow-vmN-vcpuN", 50_000_000L), Map.entry("CN CompilerThre", 15_000_000L),
                        Map.entry("others", 5_000_000L)), 15_000_000, 5_000_000);
        String memory = Json.MAPPER.writeValueAsString(Map.of("baselineIdleCpu", base.toJson(),
                "steps", List.of(Map.of("alive", 10, "idleCpu", step.toJson()))));
        MemorySection.IdleCosts ten = MemorySection.IdleCosts.of(Json.MAPPER.readTree(memory)).get(1);
        // 0.70% of a core in all, 0.15 of it the JIT compilers, 0.05 the readings; the baseline 0.30, 0.05 of it the JIT
        // and 0.01 the readings
        assertThat(ten.cpuPercent()).isCloseTo(0.50, within(1e-9));
        assertThat(ten.jitPercent()).isCloseTo(0.15, within(1e-9));
        assertThat(ten.readingPercent()).isCloseTo(0.05, within(1e-9));
        assertThat(ten.idleCpuPercent()).isCloseTo(0.26, within(1e-9));
        assertThat(ten.idleCpuPerGoalPercent()).isCloseTo(2.6, within(1e-9));
        assertThat(ten.cpuByThreadPercent()).containsExactly(Map.entry("arrow-vmN-vcpuN", 0.5),
                Map.entry("CN CompilerThre", 0.15), Map.entry("others", 0.05));
    }

    @Test
    void threadsOfTheSameKindShareOneName() {
        assertThat(IdleCpu.kind("arrow-vm12-vcpu0")).isEqualTo("arrow-vmN-vcpuN");
        assertThat(IdleCpu.kind("arrow-vm3-idle-")).isEqualTo("arrow-vmN-idle-");
        assertThat(IdleCpu.kind("main")).isEqualTo("main");
    }

    @Test
    void aWindowOfThisProcessSeesTheTimeItsThreadsSpent() throws Exception {
        Thread spinner = new Thread(() -> {
            long end = System.nanoTime() + 1_500_000_000L;
            while (System.nanoTime() < end) {
                Thread.onSpinWait();
            }
        }, "spin7");
        spinner.start();
        IdleCpu cpu = IdleCpu.measure(Duration.ofSeconds(1), ProcessCpu.ticksPerSecond());
        spinner.join();
        assertThat(cpu.windowNanos()).isGreaterThanOrEqualTo(1_000_000_000L);
        // the spinner runs through the whole window; on a loaded machine it gets less than all of a core
        assertThat(cpu.percentOfCore()).isGreaterThan(10);
        assertThat(cpu.byThread().get(0).getKey()).isEqualTo("spinN");
        assertThat(cpu.jitNanos()).as("the JIT compilers' share").isBetween(0L, cpu.used().totalNanos());
        assertThat(cpu.readingNanos()).as("the readings of every thread's counters").isPositive()
                .isLessThan(cpu.windowNanos() / 10);
    }

    @Test
    void jitCompilerThreadsShareOneKind() {
        assertThat(IdleCpu.kind("C2 CompilerThre")).isEqualTo(IdleCpu.JIT_COMPILER_KIND);
        assertThat(IdleCpu.kind("C1 CompilerThre")).isEqualTo(IdleCpu.JIT_COMPILER_KIND);
    }

    @Test
    void theWaitForAQuietJitLastsAtLeastTheQuietPeriodOrEndsAtItsLimit() throws Exception {
        long waited = IdleCpu.awaitQuietJit();
        assertThat(Math.abs(waited)).isGreaterThanOrEqualTo(IdleCpu.JIT_QUIET.toNanos());
        if (waited < 0) {
            assertThat(-waited).isGreaterThanOrEqualTo(IdleCpu.JIT_QUIET_MAX_WAIT.toNanos());
        }
    }
}
