package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PasstSectionTest {
    private static final KvmFlavour HARDWARE = new KvmFlavour(KvmFlavour.Kind.HARDWARE, "hardware KVM (AMD-V, kvm_amd)");

    /** A warm-up (ignored), 64 MiB host → guest in 4 s, 32 MiB guest → host in 4 s (stopped by the time limit). */
    static final String NET = """
            {"guestMemoryMiB":128,"guestPort":5201,"hostPort":40001,"maxBytes":67108864,"maxSeconds":20,
             "warmupBytes":4194304,"clockTicksPerSecond":100,"passtCommand":"/usr/bin/passt --foreground",
             "transfers":[
               {"direction":"host-to-guest","round":-1,"warmup":true,"requestedBytes":4194304,"bytes":4194304,
                "complete":true,"timedBytes":4194304,"nanos":1,"jvmCpu":{"userNanos":9000000000000,"systemNanos":0,
                "guestNanos":0},"passtCpu":{"userNanos":0,"systemNanos":0,"guestNanos":0},"clientThreadCpuNanos":0},
               {"direction":"host-to-guest","round":0,"warmup":false,"requestedBytes":67108864,"bytes":67108864,
                "complete":true,"timedBytes":67108864,"nanos":4000000000,
                "jvmCpu":{"userNanos":3000000000,"systemNanos":1000000000,"guestNanos":2000000000},
                "passtCpu":{"userNanos":500000000,"systemNanos":1500000000,"guestNanos":0},"clientThreadCpuNanos":500000000,
                "jvmThreadCpuNanos":{"arrow-vm1-vcpu0":2500000000,"C2 CompilerThre":1000000000},
                "vmExits":{"mmio-read":640,"mmio-write":64}},
               {"direction":"guest-to-host","round":0,"warmup":false,"requestedBytes":67108864,"bytes":33554432,
                "complete":false,"timedBytes":33554432,"nanos":4000000000,
                "jvmCpu":{"userNanos":600000000,"systemNanos":400000000,"guestNanos":250000000},
                "passtCpu":{"userNanos":250000000,"systemNanos":250000000,"guestNanos":0},"clientThreadCpuNanos":125000000}]}
            """;

    @Test
    void rendersMibPerSecondAndCpuSecondsPerGibForEachDirection() throws Exception {
        String md = PasstSection.render("8", Json.MAPPER.readTree(NET), HARDWARE);
        assertThat(md).startsWith("## 8. TCP throughput host ↔ guest through passt (hardware KVM)");
        // 64 MiB in 4 s; 4 s of JVM CPU for 1/16 GiB = 64 s/GiB, guest 2 s = 32, client 0.5 s = 8, passt 2 s = 32
        assertThat(md).contains("| host → guest | 1 | 64.0 | 16.00 (16.00–16.00) | 64.00 | 32.00 | 8.00 | 32.00 | 96.00 |");
        // 32 MiB in 4 s; 1 s for 1/32 GiB = 32 s/GiB, guest 8, client 4, passt 16
        assertThat(md).contains("| guest → host | 1 (1 stopped by the time limit) | 32.0 | 8.00 (8.00–8.00) | 32.00 | 8.00 | 4.00 | 16.00 | 48.00 |");
        assertThat(md).contains("`Net.user().forward(40001, 5201)`", "64 MiB or 20 s", "1/100 s",
                "Figures on hardware KVM (AMD-V, kvm_amd).", "passt: `/usr/bin/passt --foreground`");
    }

    @Test
    void breaksTheJvmsCpuDownByThreadAndCountsExitsPerMib() throws Exception {
        String md = PasstSection.render("8", Json.MAPPER.readTree(NET), HARDWARE);
        // 2.5 s for 1/16 GiB = 40 s/GiB, 1 s = 16; 640 exits / 64 MiB = 10 per MiB
        assertThat(md).contains("- host → guest, the JVM's CPU by thread (s/GiB): `arrow-vm1-vcpu0` 40.0, `C2 CompilerThre` 16.0;"
                + " VMM exits per MiB: mmio-read 10.0, mmio-write 1.0.");
        assertThat(md).doesNotContain("- guest → host, the JVM's CPU"); // that transfer recorded no threads
    }

    @Test
    void aFailedRunSaysSoAfterTheTransfersItDid() throws Exception {
        String text = NET.replace("\"transfers\":[", "\"failures\":[\"after 3 transfer(s): java.net.SocketException: Socket closed\","
                + "\"closing the arrow did not finish within 60 s\"],\"transfers\":[");
        String md = PasstSection.render("8", Json.MAPPER.readTree(text), HARDWARE);
        assertThat(md).contains("| host → guest | 1 | 64.0 |",
                "**The run failed: after 3 transfer(s): java.net.SocketException: Socket closed; closing the arrow did not"
                        + " finish within 60 s**");
        assertThat(PasstSection.render("8", Json.MAPPER.readTree(NET), HARDWARE)).doesNotContain("The run failed");
    }

    @Test
    void saysSoWhenNotMeasured() {
        assertThat(PasstSection.render("8", null, HARDWARE)).contains("Not measured in this run", "`net.json`");
    }
}
