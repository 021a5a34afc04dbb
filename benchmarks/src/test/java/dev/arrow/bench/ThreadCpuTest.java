package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {
    private static ProcessCpu cpu(long nanos) {
        return new ProcessCpu(nanos, 0, 0);
    }

    @Test
    void sumsThreadsOfOneNameAndCountsNewThreadsFromZero() {
        ThreadCpu before = new ThreadCpu(Map.of("1 main", cpu(100), "2 C2 CompilerThre", cpu(50), "3 C2 CompilerThre", cpu(0)));
        ThreadCpu after = new ThreadCpu(Map.of("1 main", cpu(130), "2 C2 CompilerThre", cpu(90), "3 C2 CompilerThre", cpu(20),
                "4 arrow-vcpu-0", cpu(500), "5 idle", cpu(0)));
        List<Map.Entry<String, Long>> used = after.since(before, 5);
        assertThat(used).containsExactly(Map.entry("arrow-vcpu-0", 500L), Map.entry("C2 CompilerThre", 60L),
                Map.entry("main", 30L));
    }

    @Test
    void theRestIsSummedUnderOthers() {
        ThreadCpu before = new ThreadCpu(Map.of());
        ThreadCpu after = new ThreadCpu(Map.of("1 a", cpu(40), "2 b", cpu(30), "3 c", cpu(20), "4 d", cpu(10)));
        assertThat(after.since(before, 2)).containsExactly(Map.entry("a", 40L), Map.entry("b", 30L), Map.entry("others", 30L));
        assertThat(ThreadCpu.describe(after.since(before, 1))).isEqualTo("a 0.00 s, others 0.00 s");
    }

    @Test
    void readsThisProcessesThreadsIncludingTheCurrentOne() throws Exception {
        long spin = System.nanoTime() + 50_000_000;
        while (System.nanoTime() < spin) {
            Thread.onSpinWait();
        }
        ThreadCpu now = ThreadCpu.read(ProcessHandle.current().pid(), ProcessCpu.ticksPerSecond());
        assertThat(now.byThread()).isNotEmpty();
        assertThat(now.byThread()).as("a JVM runs several threads").hasSizeGreaterThan(1);
        assertThat(now.byThread().values()).anyMatch(c -> c.totalNanos() > 0);
    }
}
