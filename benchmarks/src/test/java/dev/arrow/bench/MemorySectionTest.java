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
    void aFileFromBeforeTheSmapsFiguresShowsRssAndDashes() throws Exception {
        String text = MemorySection.render("6", json(OLD_MEMORY), LAB);
        assertThat(text).contains("| 1 | 14.25 | – | – | – | **–** |", "| 1 | 6.08 | – | – | **–** | – | 3206 | 6.0 | 1.7 |",
                "| 1 | – | – | – | – | – |");
    }

    @Test
    void withoutAFileTheSectionSaysSo() {
        assertThat(MemorySection.render("6", null, LAB)).contains("Not measured in this run");
    }
}
