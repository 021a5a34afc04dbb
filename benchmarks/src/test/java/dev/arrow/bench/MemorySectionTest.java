package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

class MemorySectionTest {
    private static final KvmFlavour LAB = new KvmFlavour(KvmFlavour.Kind.LAB, "lab: nested KVM (kvm_amd) inside QEMU TCG");

    /**
     * One step of 10 arrows: per arrow RSS 14 MiB, Pss 8 MiB, Private_Dirty 7 MiB, of which 3 MiB in the
     * kernel image's mappings (all its own copies), guest RAM touched 3.5 MiB; host kernel 512 KiB.
     */
    static final String MEMORY = """
            {"guestMemoryMiB":64,"baselineRssBytes":600000000,"jvmArguments":["-Xms512m","-Xmx512m"],"parallelStarts":2,
             "steps":[{"alive":10,"rssBytes":700000000,"rssPerArrowBytes":14680064,
               "memoryPerArrow":{"process":{"Rss":14680064,"Pss":8388608,"Private_Dirty":7340032,"AnonHugePages":0},
                 "mappings":{"kernel image":{"Rss":4194304,"Private_Dirty":3145728,"Anonymous":3145728},
                             "template RAM":{},"anonymous":{"Private_Dirty":4194304}},
                 "hostKernel":{"KernelStack":98304,"SUnreclaim":204800,"PageTables":102400,"SecPageTables":118784,"VmallocUsed":0}},
               "heapPerArrowBytes":524288,"guestResidentPerArrowBytes":3670016,"threadsPerArrow":5.0,
               "bootWallNanos":13000000000,"exitsPerArrow":371}],
             "bootFailures":[]}
            """;

    /** A file from before ProcessMemory: RSS and guest RAM only. */
    static final String OLD_MEMORY = """
            {"guestMemoryMiB":64,"jvmArguments":[],"parallelStarts":2,
             "steps":[{"alive":1,"rssPerArrowBytes":14938112,"heapPerArrowBytes":3283064,
               "guestResidentPerArrowBytes":6373376,"threadsPerArrow":6.0,"bootWallNanos":1737508930}],
             "bootFailures":[]}
            """;

    /**
     * Fds, idle CPU and probe boots: with none alive 40 fds, 30 ms of CPU in 10 s (0.30% of a core), probes of
     * 2000, 2200 and 2100 ms; with 10 alive 240 fds, 0.60%, a 2300 ms median; with 100 alive 440 fds, 0.70%,
     * a 2500 ms median.
     */
    static final String IDLE_MEMORY = """
            {"guestMemoryMiB":64,"jvmArguments":[],"parallelStarts":2,"probesPerStep":3,"baselineOpenFds":40,
             "baselineIdleCpu":{"windowNanos":10000000000,"userNanos":20000000,"systemNanos":10000000,"guestNanos":0,
               "byThreadNanos":{"GC Thread#N":30000000}},
             "baselineProbeFirstOutputNanos":[2000000000,2200000000,2100000000],
             "steps":[{"alive":10,"openFds":240,
                "idleCpu":{"windowNanos":10000000000,"userNanos":40000000,"systemNanos":20000000,"guestNanos":10000000},
                "probeFirstOutputNanos":[2200000000,2300000000,2400000000]},
               {"alive":100,"openFds":440,
                "idleCpu":{"windowNanos":10000000000,"userNanos":60000000,"systemNanos":10000000,"guestNanos":20000000,
                  "jitCompilerNanos":20000000,
                  "byThreadNanos":{"arrow-vmN-vcpuN":50000000,"CN CompilerThre":20000000}},
                "probeFirstOutputNanos":[2500000000,2400000000,2600000000]}],
             "bootFailures":[]}
            """;

    private static JsonNode json(String text) throws Exception {
        return Json.MAPPER.readTree(text);
    }

    @Test
    void rendersPssPrivateDirtyAndTheHostKernelsShareBesideTheirGoals() throws Exception {
        String text = MemorySection.render("6", json(MEMORY), LAB);
        assertThat(text).contains("## 6. Host memory per running hello arrow (lab)",
                "| arrows alive | RSS added MiB | Pss MiB | Private_Dirty MiB | host kernel MiB | **all-in: Private_Dirty + host kernel MiB** (goal ≤ 4) |",
                "| 10 | 14.00 | 8.00 | 7.00 | 0.50 | **7.50** |");
        // VMM and JVM: 7 - 3.5 (guest RAM) - 3 (kernel image) = 0.5 MiB
        assertThat(text).contains("**VMM and JVM MiB** (goal ≤ 0.3)", "| 10 | 3.50 | 3.00 | 0.00 | **0.50** | 0.00 | 512 | 5.0 | 13.0 |");
        assertThat(text).contains("| arrows alive | KernelStack | SUnreclaim | PageTables | SecPageTables | VmallocUsed |",
                "| 10 | 96 | 200 | 100 | 116 | 0 |");
    }

    @Test
    void rendersPrivateDirtyByKindOfMappingBesidesTheGuestLargestFirstWithTheirSum() throws Exception {
        String withKinds = MEMORY.replace("\"exitsPerArrow\":371}", "\"exitsPerArrow\":371,\"privateDirtyByKindPerArrow\":"
                + "{\"guest RAM\":3670016,\"kernel image\":3145728,\"stack: arrow-vmN-vcpu\":94208,\"malloc arenas\":51200,"
                + "\"kvm_run\":8192,\"other anonymous\":-1024}}");
        String text = MemorySection.render("6", json(withKinds), LAB);
        assertThat(text).contains("| kind of mapping | 10 alive |", "| `stack: arrow-vmN-vcpu` | 92.0 |",
                "| `malloc arenas` | 50.0 |", "| `kvm_run` | 8.0 |", "| `other anonymous` | -1.0 |", "| **sum** | **149.0** |",
                "| guest RAM (smaps), for comparison | 3584.0 |");
        assertThat(text.indexOf("`stack: arrow-vmN-vcpu`")).isLessThan(text.indexOf("`malloc arenas`"));
        assertThat(text).doesNotContain("| `kernel image` |");
        assertThat(MemorySection.render("6", json(MEMORY), LAB)).doesNotContain("kind of mapping");
    }

    @Test
    void aFileFromBeforeTheSmapsFiguresShowsRssAndDashes() throws Exception {
        String text = MemorySection.render("6", json(OLD_MEMORY), LAB);
        assertThat(text).contains("| 1 | 14.25 | – | – | – | **–** |", "| 1 | 6.08 | – | – | **–** | – | 3206 | 6.0 | 1.7 |",
                "| 1 | – | – | – | – | – |");
    }

    @Test
    void rendersFdsIdleCpuAndOneMoreArrowsBootPerStepAgainstNoneAlive() throws Exception {
        String text = MemorySection.render("6", json(IDLE_MEMORY), LAB);
        assertThat(text).contains("over 10 s in which every arrow waits on stdin", "0.10% of a core over this window",
                "one more arrow started alone, 3 times, each stopped before the next: start → its first output",
                "| arrows alive | open fds | **fds per arrow** (goal ≤ 4) | CPU without the JIT and the readings, % of a core"
                        + " | JIT compilers, % of a core | the benchmark's readings, % of a core | idle arrows' CPU, % of a core"
                        + " | **per 100 idle arrows, % of a core** (goal ≤ 0.5) | one more arrow: start → first output ms (median)"
                        + " | **against the first** (goal ≤ 1.10) |",
                "| 0 | 40 | **–** | 0.30 | 0.00 | 0.00 | – | **–** | 2100 | **1.00** |",
                // (240 - 40) / 10 fds; 0.60 - 0.30 = 0.30% of a core for 10 arrows, 3.00% for 100; 2300 / 2100 ms;
                // with 100 alive 0.70% of a core, 0.20 of it the JIT compilers: 0.50 - 0.30
                "| 10 | 240 | **20.00** | 0.60 | 0.00 | 0.00 | 0.30 | **3.00** | 2300 | **1.10** |",
                "| 100 | 440 | **4.00** | 0.50 | 0.20 | 0.00 | 0.20 | **0.20** | 2500 | **1.19** |",
                "with 100 alive `arrow-vmN-vcpuN` 0.50, `CN CompilerThre` 0.20; with none alive `GC Thread#N` 0.30.");
        assertThat(text).as("a run that did not wait for the JIT does not say it did").doesNotContain("started once the JIT compilers");
        String waited = MemorySection.render("6", json(IDLE_MEMORY.replace("\"baselineOpenFds\":40,",
                "\"baselineOpenFds\":40,\"baselineJitQuietWaitNanos\":2500000000,")), LAB);
        assertThat(waited).contains("over 10 s in which every arrow waits on stdin (started once the JIT compilers had"
                + " compiled nothing for 2 s, or after 60 s of waiting for that), less the JIT compiler threads' time");
    }

    @Test
    void aFileFromBeforeTheIdleCostsSaysTheyAreNotMeasured() throws Exception {
        assertThat(MemorySection.render("6", json(MEMORY), LAB)).contains(
                "Open fds, idle CPU and the boot of one more arrow: not measured").doesNotContain("| open fds |");
        assertThat(MemorySection.IdleCosts.of(json(OLD_MEMORY))).isEmpty();
        // a step without the figures in a file that has them: dashes
        String partial = IDLE_MEMORY.replace("\"openFds\":240,", "").replace("\"probeFirstOutputNanos\":[2200000000,2300000000,2400000000]",
                "\"probeFirstOutputNanos\":[]");
        assertThat(MemorySection.render("6", json(partial), LAB)).contains("| 10 | – | **–** | 0.60 | 0.00 | 0.00 | 0.30 | **3.00** | – | **–** |");
    }

    @Test
    void withoutAFileTheSectionSaysSo() {
        assertThat(MemorySection.render("6", null, LAB)).contains("Not measured in this run");
    }
}
