package dev.arrow.bench;

import static dev.arrow.bench.TemplateSectionTest.LAB;
import static dev.arrow.bench.TemplateSectionTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LoaderSectionTest {
    /**
     * A 2 MiB and a 100 MiB binary, 2 runs each after a warm-up. Start → app exec medians: small through the initramfs
     * 1000 ms, small mapped 1050, big through the initramfs 5000, big mapped 1070. Private_Dirty per arrow (guest RAM +
     * images): 20, 20, 220 and 21 MiB.
     */
    static final String LOADER = """
            {"hostCpus":2,"settleMillis":1000,"jvmArguments":["-Xmx512m"],"defaultMinMappedBytes":1048576,
             "imageCache":"/tmp/images","runApp":["sh","-c","echo ready"],
             "memoryApp":["sh","-c","cat /proc/self/exe > /dev/null && echo ready && exec sleep 600"],"alive":5,
             "combinations":[
              %s,
              %s,
              %s,
              %s]}
            """.formatted(
            combination("small", 2097152, "initramfs", "900000000,1100000000", 16, 4, 0, 0, 128),
            combination("small", 2097152, "mapped", "1000000000,1100000000", 16, 4, 0, 1, 128),
            combination("big", 104857600, "initramfs", "4900000000,5100000000", 200, 20, 0, 0, 384),
            combination("big", 104857600, "mapped", "1060000000,1080000000", 17, 4, 0, 20, 128));

    /** One combination: its samples, and per arrow Private_Dirty of anonymous and kernel image, image Pss (MiB). */
    private static String combination(String binary, long bytes, String path, String samples, int anonymousMib,
                                      int kernelImageMib, int imagePrivateMib, int imagePssMib, int guestMib) {
        long mib = 1 << 20;
        return """
                {"binary":"%s","binaryBytes":%d,"path":"%s","startToAppExecNanos":[%s],
                 "runs":[{"iteration":0,"warmup":true,"timeline":[]},{"iteration":1,"warmup":false,"timeline":[]},
                   {"iteration":2,"warmup":false,"timeline":[]}],
                 "memory":{"alive":5,"guestMemoryBytes":%d,"perArrow":{"process":{},"hostKernel":{},"mappings":{
                   "kernel image":{"Pss":%d,"Private_Dirty":%d},
                   "anonymous":{"Pss":%d,"Private_Dirty":%d},
                   "loader images":{"Pss":%d,"Private_Dirty":%d}}}}}
                """.formatted(binary, bytes, path, samples, guestMib * mib, kernelImageMib * mib, kernelImageMib * mib,
                anonymousMib * mib, anonymousMib * mib, imagePssMib * mib, imagePrivateMib * mib);
    }

    @Test
    void theTableHasEachBinaryOnEachPathWithItsTimeAndMemoryPerArrow() throws Exception {
        String text = LoaderSection.render("11", json(LOADER), LAB);
        assertThat(text).contains("## 11. Application loader: binaries mapped against copied (lab)",
                "2 runs of each after 1 warm-up(s)", "`-Darrow.loader.minBytes=-1`",
                "`sh -c 'cat /proc/self/exe > /dev/null && echo ready && exec sleep 600'`",
                "| 2.00 MiB | initramfs | 1000 | 1100 | **20.00** | 20.00 | 0.00 | 128 |",
                "| 2.00 MiB | mapped | 1050 | 1100 | **20.00** | 21.00 | 1.00 | 128 |",
                "| 100 MiB | initramfs | 5000 | 5100 | **220.00** | 220.00 | 0.00 | 384 |",
                "| 100 MiB | mapped | 1070 | 1080 | **21.00** | 41.00 | 20.00 | 128 |");
    }

    @Test
    void theGoalsCompareTheBigBinaryMappedWithTheSmallOneAndSayWhetherTheyAreMet() throws Exception {
        String text = LoaderSection.render("11", json(LOADER), LAB);
        assertThat(text).contains("**Goal: a 100 MiB binary starts within 10% of a 2.00 MiB one** (ratio ≤ 1.10, medians,"
                        + " the big binary mapped against the small one on its faster path, initramfs): 1070 ms against 1000 ms,"
                        + " **1.07×**: met. Through the initramfs the big binary takes 5.00× the small one's time; mapped, 1.02×.",
                "(Private_Dirty per arrow, guest RAM + images, mapped, the big binary's over the small one's ≤ 1.10): 21.00 MiB"
                        + " against 20.00 MiB, **1.05×**: met. Through the initramfs: 220.00 MiB against 20.00 MiB, 11.0×.");
        String slow = LoaderSection.render("11", json(LOADER.replace("1060000000,1080000000", "1200000000,1300000000")), LAB);
        assertThat(slow).contains("1250 ms against 1000 ms, **1.25×**: **not met**");
    }

    @Test
    void theSmallBinarysTimeAndMemorySayWhetherTheDefaultThresholdStands() throws Exception {
        assertThat(LoaderSection.render("11", json(LOADER), LAB)).contains(
                "**For the 2.00 MiB binary, mapped against the initramfs**: start → app exec 1050 ms against 1000 ms (1.05×),"
                        + " Private_Dirty per arrow 20.00 MiB against 20.00 MiB (saves 0.00 MiB). Mapping loses (the rule: it"
                        + " starts faster, or at most 5% slower while saving memory). So the default threshold"
                        + " `LoaderPlan.DEFAULT_MIN_MAPPED_BYTES` (1 MiB) should move: it sends this binary the worse way"
                        + " (mapped); raise it above 2.00 MiB.");
        String mappedFaster = LOADER.replace("1000000000,1100000000", "800000000,900000000");
        assertThat(LoaderSection.render("11", json(mappedFaster), LAB)).contains(
                "start → app exec 850 ms against 1000 ms (0.850×)", "Mapping wins", "(1 MiB) stands: it sends this binary the better way.");
        String smallMapped = combination("small", 2097152, "mapped", "1000000000,1100000000", 16, 4, 0, 1, 128);
        String slightlySlowerButSmaller = LOADER.replace(smallMapped,
                combination("small", 2097152, "mapped", "1000000000,1100000000", 13, 4, 0, 1, 128));
        assertThat(slightlySlowerButSmaller).isNotEqualTo(LOADER);
        assertThat(LoaderSection.render("11", json(slightlySlowerButSmaller), LAB)).contains("(saves 3.00 MiB). Mapping wins",
                "stands: it sends this binary the better way.");
    }

    /** 1 GiB read by 10 arrows: images' Rss 10 GiB, Pss 1 GiB + 10 MiB; Private_Dirty 200 MiB; host kernel 30 MiB. */
    static final String DATA_SET = """
            ,"dataSet":{"dataBytes":1073741824,"arrows":10,"app":["sh"],"guestMemoryBytes":134217728,
             "startToReadyNanos":[9000000000,11000000000,10000000000],
             "allArrows":{"process":{"Rss":11811160064,"Pss":1300000000,"Private_Dirty":209715200},
               "hostKernel":{"KernelStack":10485760,"PageTables":20971520},
               "mappings":{"loader images":{"Rss":10737418240,"Pss":1084227584,"Private_Dirty":0}}}}}
            """;

    @Test
    void aDataSetSharedByManyArrowsIsJudgedByTheHostsCopiesOfIt() throws Exception {
        String withData = LOADER.substring(0, LOADER.lastIndexOf('}')) + DATA_SET;
        String text = LoaderSection.render("11", json(withData), LAB);
        assertThat(text).contains("**A read-only data set of 1024 MiB shared by 10 arrows** (busybox, 128 MiB guest RAM,",
                "| 10 | 1024 | 10240 | **1034** | **1.01** | 200.0 | 20.00 | 30.0 | 10.0 |",
                "**Goal: the data set costs its size once** (images' Pss of all arrows over the data's size ≤ 1.10): 1.01: met.",
                "about 16 MiB here");
        assertThat(GoalsSection.render(null, null, null, json(withData), LAB))
                .contains("| host copies of a 1 GiB read-only data set read by 10 arrows (images' Pss / size) | ≤ 1.10 | 1.01"
                        + " (1024 MiB by 10 arrows: Pss 1034 MiB, Rss 10240 MiB; section 11) | met |");
        assertThat(LoaderSection.render("11", json(LOADER), LAB))
                .contains("The shared read-only data set (`--data-mib`) was not measured in this run.");
    }

    @Test
    void aRunWithoutTheLoaderPartSaysSoInOneLine() {
        assertThat(LoaderSection.render("11", null, LAB)).isEqualTo("## 11. Application loader: binaries mapped against copied"
                + " (lab)\n\nNot measured in this run: the Linux-boot part did not produce `loader.json`.\n\n");
    }
}
