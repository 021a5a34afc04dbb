package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class TemplateSectionTest {
    static final KvmFlavour LAB = new KvmFlavour(KvmFlavour.Kind.LAB, "lab: nested KVM (kvm_amd) inside QEMU TCG");
    static final KvmFlavour HARDWARE = new KvmFlavour(KvmFlavour.Kind.HARDWARE, "hardware KVM (AMD-V, kvm_amd)");

    /**
     * A warm-up pair (ignored) and two measured pairs: cold first output 1900 and 2100 ms, clones 20 and 30 ms
     * (medians 2000 against 25: 80×; per pair 95× and 70×); clones back to back on 1 and 2 threads, the first
     * with three reset → next latencies of 5, 6 and 7 ms; memory with 1 and 10 clones alive.
     */
    static final String TEMPLATE = """
            {"guestMemoryMiB":64,"hostCpus":2,"settleMillis":1000,"jvmArguments":["-Xmx512m"],
             "templateBoot":{"wallNanos":2500000000,"timeline":[]},
             "pairs":[
              {"iteration":0,"warmup":true,"cloneFirst":true,
               "cold":{"startToWaitForNanos":9000000000,"timeline":[{"phase":"first-output","sinceStartNanos":9000000000}]},
               "clone":{"startToWaitForNanos":9000000000,"timeline":[{"phase":"first-output","sinceStartNanos":1}]}},
              {"iteration":1,"warmup":false,"cloneFirst":false,
               "cold":{"startToWaitForNanos":2000000000,"timeline":[{"phase":"app-executed","sinceStartNanos":1800000000},
                 {"phase":"first-output","sinceStartNanos":1900000000}]},
               "clone":{"startToWaitForNanos":40000000,"timeline":[{"phase":"cloned","sinceStartNanos":5000000},
                 {"phase":"app-executed","sinceStartNanos":15000000},{"phase":"first-output","sinceStartNanos":20000000}]}},
              {"iteration":2,"warmup":false,"cloneFirst":true,
               "cold":{"startToWaitForNanos":2200000000,"timeline":[{"phase":"app-executed","sinceStartNanos":2000000000},
                 {"phase":"first-output","sinceStartNanos":2100000000}]},
               "clone":{"startToWaitForNanos":60000000,"timeline":[{"phase":"cloned","sinceStartNanos":6000000},
                 {"phase":"app-executed","sinceStartNanos":25000000},{"phase":"first-output","sinceStartNanos":30000000}]}}],
             "cycles":[
              {"starters":1,"clones":4,"wallNanos":200000000,"cpu":{"userNanos":300000000,"systemNanos":100000000,"guestNanos":50000000},
               "firstOutputNanos":[20000000,22000000,24000000,26000000],
               "resetToNext":[{"endToWaitedNanos":1000000,"waitedToNextStartNanos":100000,"totalNanos":5000000},
                 {"endToWaitedNanos":1000000,"waitedToNextStartNanos":100000,"totalNanos":6000000},
                 {"endToWaitedNanos":2000000,"waitedToNextStartNanos":200000,"totalNanos":7000000}]},
              {"starters":2,"clones":4,"wallNanos":100000000,"cpu":{"userNanos":300000000,"systemNanos":100000000,"guestNanos":50000000},
               "firstOutputNanos":[30000000,30000000,30000000,30000000],"resetToNext":[]}],
             "memory":{"templateBootWallNanos":2600000000,"steps":[
              {"alive":1,"rssPerCloneBytes":4194304,"threadsPerClone":4.0,"startWallNanos":50000000,"firstOutputNanos":[40000000],
               "memoryPerClone":{"process":{"Rss":4194304,"Pss":1048576,"Private_Dirty":1572864},
                 "mappings":{"template RAM":{"Pss":786432,"Private_Dirty":524288}},
                 "hostKernel":{"KernelStack":32768,"SUnreclaim":229376,"PageTables":262144,"SecPageTables":0,"VmallocUsed":0}}},
              {"alive":10,"rssPerCloneBytes":3145728,"threadsPerClone":4.0,"startWallNanos":500000000,
               "firstOutputNanos":[50000000,50000000,50000000,50000000,50000000,50000000,50000000,50000000,90000000],
               "memoryPerClone":{"process":{"Rss":3145728,"Pss":1048576,"Private_Dirty":1310720},
                 "mappings":{"template RAM":{"Pss":655360,"Private_Dirty":524288}},
                 "hostKernel":{"KernelStack":32768,"SUnreclaim":98304,"PageTables":131072,"SecPageTables":0,"VmallocUsed":0}}}]}}
            """;

    static JsonNode json(String text) throws Exception {
        return Json.MAPPER.readTree(text);
    }

    @Test
    void clonesStandBesideColdBootsWithTheirRatioAndWhatTheLabFigureImplies() throws Exception {
        String text = TemplateSection.render("10", json(TEMPLATE), LAB);
        assertThat(text).contains("## 10. Templates: clones against cold boots (lab)", "(2500.0 ms, once)",
                "2 pairs of a cold `Arrow.start()` and a clone",
                "| app exec (`app-executed`) | 1900 | 2000 | 20.0 | 25.0 | **95.0×** |",
                "| first output (`first-output`) | 2000 | 2100 | 25.0 | 30.0 | **80.0×** |",
                "| `waitFor()` returned | 2100 | 2200 | 50.0 | 60.0 | 42.0× |",
                "**Clone against cold boot, start → first output: 80.0× faster** (ratio of the medians; median of the"
                        + " per-pair ratios 82.5×; goal ≥ 50× in the lab).",
                "the lab's 25.0 ms, at the lab's slowdown of 10–100× (the notice at the top), implies 0.250–2.50 ms there:"
                        + " an estimate, not a measurement.");
        assertThat(text).contains("| 1 (to 1) | 40.0 | 40.0 |", "| 9 (to 10) | 50.0 | 90.0 |");
    }

    @Test
    void whereTheTimeGoesSplitsBothKindsOfStartWhenTheirTimelinesHaveThePhases() throws Exception {
        assertThat(TemplateSection.render("10", json(TEMPLATE), LAB)).doesNotContain("Where the time");
        String withBootPhases = TEMPLATE.replace(
                "\"cold\":{\"startToWaitForNanos\":2000000000,\"timeline\":[",
                "\"cold\":{\"startToWaitForNanos\":2000000000,\"timeline\":[{\"phase\":\"first-kvm-run\",\"sinceStartNanos\":200000000},"
                        + "{\"phase\":\"init-started\",\"sinceStartNanos\":1600000000},").replace(
                "\"cold\":{\"startToWaitForNanos\":2200000000,\"timeline\":[",
                "\"cold\":{\"startToWaitForNanos\":2200000000,\"timeline\":[{\"phase\":\"first-kvm-run\",\"sinceStartNanos\":300000000},"
                        + "{\"phase\":\"init-started\",\"sinceStartNanos\":1900000000},");
        String text = TemplateSection.render("10", json(withBootPhases), LAB);
        assertThat(text).contains("a cold boot spends 250 on the host's set-up (start → first KVM_RUN), 1500 booting the"
                + " kernel (→ init) and 150 in init (→ app exec); a clone spends 5.50 restoring its VM on the host");
        assertThat(text).contains("and 14.5 in its guest (→ app exec");
    }

    @Test
    void kvmsAccountOfAClonesAndTheWarmUpClonesAreShownWhenMeasured() throws Exception {
        String plain = TemplateSection.render("10", json(TEMPLATE), LAB);
        assertThat(plain).doesNotContain("KVM's own account", "warm-up clones", "clones ran back to back, unmeasured");
        String counted = TEMPLATE.replace("\"settleMillis\":1000,", "\"settleMillis\":1000,\"warmupClones\":40,")
                .replace("\"clone\":{\"startToWaitForNanos\":40000000,",
                        "\"clone\":{\"kvmCounters\":{\"exits\":600,\"pf_taken\":3,\"io_exits\":115},\"startToWaitForNanos\":40000000,")
                .replace("\"clone\":{\"startToWaitForNanos\":60000000,",
                        "\"clone\":{\"kvmCounters\":{\"exits\":700,\"pf_taken\":5,\"io_exits\":115},\"startToWaitForNanos\":60000000,");
        String text = TemplateSection.render("10", json(counted), LAB);
        assertThat(text).contains("Before the pairs, 40 clones ran back to back, unmeasured",
                "| `exits` | 650 | exits, all kinds |",
                "| `pf_taken` | 4 | nested page faults (a guest page not mapped for the VM yet) |",
                "| `io_exits` | 115 | port I/O exits (init's status port) |");
        assertThat(text).doesNotContain("`mmio_exits`");
    }

    @Test
    void clonesBackToBackGiveRatesPerCoreAndTheResetToNextLatency() throws Exception {
        String text = TemplateSection.render("10", json(TEMPLATE), LAB);
        assertThat(text).contains("| 1 | 4 | 0.20 | **20.0** | 0.40 (0.05) | 2.00 | **10.0** | 23.0 | 26.0 |",
                "| 2 | 4 | 0.10 | **40.0** | 0.40 (0.05) | 4.00 | **10.0** | 30.0 | 30.0 |",
                "| **end → next first output** (goal ≤ 100 µs on hardware) | 6.00 | 7.00 |",
                "| of which end → `waitFor()` returned (VM handed back, streams finished) | 1.00 | 2.00 |",
                "| of which `waitFor()` → next `start()` (close, the loop) | 0.100 | 0.200 |",
                "The lab's 6.00 ms implies 60.0–600 µs on hardware KVM");
    }

    @Test
    void memoryPerCloneCountsPrivateDirtyAndTheHostKernelAgainstTheGoal() throws Exception {
        String text = TemplateSection.render("10", json(TEMPLATE), LAB);
        assertThat(text).contains("`/memfd:arrow-template-ram`",
                "(goal ≤ 2) | threads |",
                "| 1 | 4.00 | 1.00 | 1.50 | 0.50 | 0.75 | 0.50 | **2.00** | 4.0 |",
                "| 10 | 3.00 | 1.00 | 1.25 | 0.50 | 0.63 | 0.25 | **1.50** | 4.0 |",
                "10 alive: KernelStack 32, SUnreclaim 96, PageTables 128, SecPageTables 0, VmallocUsed 0");
    }

    /**
     * {@link #TEMPLATE} with the idle costs measured: 0.10% of a core before the steps; the second step has 1,000 clones,
     * 4 fds and 2 threads each, and the process at 4.00% of a core.
     */
    static final String THOUSAND = TEMPLATE
            .replace("\"memory\":{\"templateBootWallNanos\":2600000000,",
                    "\"memory\":{\"templateBootWallNanos\":2600000000,\"baselineOpenFds\":50,"
                            + "\"baselineIdleCpu\":{\"windowNanos\":10000000000,\"userNanos\":10000000,\"systemNanos\":0},")
            .replace("{\"alive\":10,\"rssPerCloneBytes\":3145728,\"threadsPerClone\":4.0,",
                    "{\"alive\":1000,\"fdsPerClone\":4.0,\"idleCpu\":{\"windowNanos\":10000000000,\"userNanos\":300000000,"
                            + "\"systemNanos\":100000000},\"rssPerCloneBytes\":3145728,\"threadsPerClone\":2.0,");

    @Test
    void theIdleCostsOfEachStepAreInTheTableWhenMeasured() throws Exception {
        assertThat(THOUSAND).isNotEqualTo(TEMPLATE).contains("\"alive\":1000", "baselineIdleCpu");
        String text = TemplateSection.render("10", json(THOUSAND), LAB);
        // (4.00 - 0.10) % / 1000 clones * 100
        assertThat(text).contains("| threads | fds | idle CPU per 100 clones, % of a core |",
                "| 1000 | 3.00 | 1.00 | 1.25 | 0.50 | 0.63 | 0.25 | **1.50** | 2.0 | 4.00 | 0.39 |",
                "in which every clone waits on stdin (once the JIT had compiled nothing for 2 s, or after 60 s), less the JIT");
        assertThat(TemplateSection.render("10", json(TEMPLATE), LAB)).doesNotContain("in which every clone waits")
                .doesNotContain("stopped");
        String stopped = THOUSAND.replace("\"baselineOpenFds\":50,",
                "\"baselineOpenFds\":50,\"stepFailure\":\"clone 1201 of the step to 2000: too many open files\",");
        assertThat(TemplateSection.render("10", json(stopped), LAB))
                .contains("**The next step stopped**: clone 1201 of the step to 2000: too many open files.");
    }

    @Test
    void firecrackersRestoreIsCitedWhetherOrNotTheRunMeasuredTemplates() throws Exception {
        for (String text : new String[] {TemplateSection.render("10", json(TEMPLATE), LAB), TemplateSection.render("10", null, LAB)}) {
            assertThat(text).contains("13.4–33.0 ms per snapshot load", "firecracker-microvm/firecracker issue #2027",
                    "5 microVMs per host core per second");
        }
        assertThat(TemplateSection.render("10", null, LAB)).contains("Not measured in this run");
    }

    @Test
    void aFileCutShortByAFailedPartShowsThePartsItHas() throws Exception {
        JsonNode full = json(TEMPLATE);
        ((ObjectNode) full).remove(List.of("cycles", "memory"));
        String text = TemplateSection.render("10", full, LAB);
        assertThat(text).contains("| first output (`first-output`) | 2000 | 2100 | 25.0 | 30.0 | **80.0×** |");
        assertThat(text.split("Not measured in this run\\.", -1)).as("cycles and memory say so").hasSize(3);
        assertThat(GoalsSection.render(null, null, full, null, LAB)).contains(
                "| reset → next call: a clone's end → the next clone's first output (recycled VM) | ≤ 100 µs on hardware KVM | not measured | – |",
                "| no goal (Firecracker, cited: 5 cold microVMs) | not measured | – |");
    }

    @Test
    void onHardwareNoEstimateIsWritten() throws Exception {
        assertThat(TemplateSection.render("10", json(TEMPLATE), HARDWARE)).doesNotContain("estimate");
    }

    @Test
    void hardwareEstimatesDivideByTheLabsSlowdown() {
        assertThat(TemplateSection.hardwareEstimate(25)).isEqualTo("0.250–2.50 ms");
        assertThat(TemplateSection.hardwareEstimate(6)).isEqualTo("60.0–600 µs");
        assertThat(TemplateSection.hardwareEstimate(Double.NaN)).isEqualTo("–");
    }
}
