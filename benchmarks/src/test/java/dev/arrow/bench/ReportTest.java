package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
    @TempDir
    Path dir;

    private static String jmh(String benchmark, String params, String unit, double... raw) {
        StringBuilder r = new StringBuilder();
        double sum = 0;
        for (double d : raw) {
            r.append(r.length() == 0 ? "" : ",").append(d);
            sum += d;
        }
        return "{\"benchmark\":\"" + benchmark + "\",\"mode\":\"ss\",\"forks\":1,\"warmupIterations\":3,"
                + "\"measurementIterations\":" + raw.length + ",\"measurementTime\":\"single-shot\",\"params\":{" + params
                + "},\"primaryMetric\":{\"score\":" + sum / raw.length + ",\"scoreError\":0.5,\"scoreUnit\":\"" + unit
                + "\",\"rawData\":[[" + r + "]]}}";
    }

    private void fixtures() throws Exception {
        Path r = Files.createDirectories(dir.resolve("results"));
        Files.writeString(r.resolve("host-env.json"), "{\"where\":\"host\",\"date\":\"2025-11-23T09:00:00Z\",\"cpu\":\"Test CPU\","
                + "\"cpus\":2,\"memTotalBytes\":25769803776,\"kernel\":\"6.1.0\",\"clocksource\":\"tsc\",\"kvm\":\"PVM\",\"kvmFlavour\":\"PVM (kvm_pvm, no hardware"
                + " virtualization)\",\"java\":\"OpenJDK 17\",\"qemu\":\"QEMU 7.2\"}");
        Files.writeString(r.resolve("host-jmh.json"), "[" + String.join(",",
                jmh("dev.arrow.bench.ExitLoopBenchmark.arrowVmm", "\"writes\":\"1\"", "us/op", 10_000, 10_000, 12_000),
                jmh("dev.arrow.bench.ExitLoopBenchmark.arrowVmm", "\"writes\":\"100000\"", "us/op", 2_009_990, 2_000_000),
                jmh("dev.arrow.bench.ExitLoopBenchmark.cIoctlLoop", "\"writes\":\"1\"", "us/op", 5_000),
                jmh("dev.arrow.bench.ExitLoopBenchmark.cIoctlLoop", "\"writes\":\"100000\"", "us/op", 1_004_995),
                jmh("dev.arrow.bench.InitramfsBenchmark.assemble", "\"appMiB\":\"50\"", "ms/op", 100),
                jmh("dev.arrow.bench.VirtqueueBenchmark.popAndReturn", "\"chain\":\"4x4096\"", "ns/op", 200),
                jmh("dev.arrow.bench.VirtqueueBenchmark.netTransmit", "\"frameBytes\":\"65536\"", "ns/op", 1000)) + "]");
        Files.writeString(r.resolve("peer.json"), "{\"kernel\":\"/k/vmlinux\",\"commandLine\":\"console=ttyS0\","
                + "\"initramfsBytes\":93868,\"memoryMiB\":64,\"qemuCommand\":\"qemu-system-x86_64 -M microvm\",\"kvmDebugfs\":true,"
                + "\"runs\":[{\"iteration\":0,\"warmup\":true,\"arrowFirst\":true,\"arrow\":{},\"qemu\":{},\"ratioArrowToQemu\":9},"
                + "{\"iteration\":1,\"warmup\":false,\"arrowFirst\":false,\"ratioArrowToQemu\":0.5,"
                + "\"arrow\":{\"startToExitNanos\":1000000000,\"startToWaitForNanos\":1100000000,\"exits\":{\"io-out\":280,\"intr\":2},"
                + "\"timeline\":[{\"phase\":\"start\",\"sinceStartNanos\":0},{\"phase\":\"first-kvm-run\",\"sinceStartNanos\":200000000},"
                + "{\"phase\":\"init-started\",\"sinceStartNanos\":700000000,\"guestUptimeNanos\":400000000},"
                + "{\"phase\":\"first-output\",\"sinceStartNanos\":800000000},{\"phase\":\"exited\",\"sinceStartNanos\":1000000000}]},"
                + "\"qemu\":{\"spawnToResetNanos\":2000000000,\"spawnToFirstOutputNanos\":1600000000,"
                + "\"marks\":[{\"name\":\"init-start\",\"guestUptimeNanos\":400000000,\"sinceSpawnNanos\":1500000000}],"
                + "\"kvmStats\":{\"exits\":6000,\"io_exits\":450}}}],"
                + "\"arrowKvmStats\":[{\"kvmStats\":{\"exits\":3000,\"io_exits\":330},\"vmmExits\":{}}]}");
    }

    @Test
    void rendersRatiosSlopesAndTheChartFromTheResultFiles() throws Exception {
        fixtures();
        Path md = dir.resolve("RESULTS.md");
        Path png = dir.resolve("boot-timeline.png");
        Report.main(new String[] {"--results", dir.resolve("results").toString(), "--markdown", md.toString(),
                "--chart", png.toString(), "--command", "scripts/bench", "--wall-seconds", "754"});
        String text = Files.readString(md);
        assertThat(text).contains("12 min 34 s", "PVM (kvm_pvm", "![boot timeline](boot-timeline.png)");
        assertThat(text).contains("| host part (sections 4, 5, 9) | host | 2025-11-23 09:00:00 | Test CPU | 2 | 24576 MiB | 6.1.0 | tsc |");
        assertThat(text).contains("| 1 (QEMU first) | 1000.0 | 1100.0 | 2000.0 | **0.500** | 800.0 | 1600.0 | 0.500 |");
        // (2004.995 ms - 10 ms) / 99999 exits = 19.95 us; (1004.995 - 5) / 99999 = 10.00 us
        assertThat(text).contains("**Per exit: Arrow 19.95 µs, C 10.00 µs, ratio Arrow/C 1.995**");
        assertThat(text).contains("| exits | 3000 | 6000 | 0.50 |", "| io_exits | 330 | 450 | 0.73 |");
        assertThat(text).contains("| 50 MiB | 100.00 ± 0.50 | 500 |");
        // 16 KiB per 200 ns = 78.1 GiB/s; 64 KiB per 1000 ns = 62.5 GiB/s
        assertThat(text).contains("## 9. Virtqueue device side", "| popAndReturn | 4x4096 | 200 ± 1 | 5000000 | 78125 |",
                "| netTransmit | header + 65536-byte frame | 1000 ± 1 | 1000000 | 62500 |");
        assertThat(text).contains("## 6. Host memory per running hello arrow (KVM not recorded)", "Not measured in this run");
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(1400);
        assertThat(image.getHeight()).isGreaterThan(300);
    }

    private static final String LAB_ENV = "{\"where\":\"lab\",\"date\":\"2025-11-23T09:05:00Z\",\"cpu\":\"QEMU TCG CPU\","
            + "\"cpus\":1,\"memTotalBytes\":6442450944,\"kernel\":\"6.1.192\",\"kvm\":\"HARDWARE_AMD\","
            + "\"kvmFlavour\":\"lab: nested KVM (kvm_amd) inside QEMU TCG emulating AMD-V\",\"java\":\"OpenJDK 17\",\"qemu\":\"QEMU 7.2\"}";

    private String report() throws Exception {
        Path md = dir.resolve("RESULTS.md");
        Report.main(new String[] {"--results", dir.resolve("results").toString(), "--markdown", md.toString(),
                "--chart", dir.resolve("boot-timeline.png").toString()});
        return Files.readString(md);
    }

    @Test
    void theNewSectionsCarryTheFlavourOfWhereTheLinuxBootPartRan() throws Exception {
        fixtures();
        Path r = dir.resolve("results");
        Files.writeString(r.resolve("lab-env.json"), LAB_ENV);
        Files.writeString(r.resolve("console.json"), ConsoleSectionTest.CONSOLE);
        Files.writeString(r.resolve("net.json"), PasstSectionTest.NET);
        String text = report();
        assertThat(text).as("an environment file from before the clock source was recorded")
                .contains("| 6144 MiB | 6.1.192 | not recorded | lab: nested KVM")
                .doesNotContain("The lab keeps time by its");
        assertThat(text).contains("## 7. Console throughput guest → host: virtio console vs serial port (lab)",
                "## 8. TCP throughput host ↔ guest through passt (lab)", "## 1. Boot timeline of a hello arrow (lab)",
                "| Linux-boot part (sections 1–3, 6–8, 10) | lab |", "## 10. Templates: clones against cold boots (lab)", "The lab is started by `scripts/lab/run`");
        assertThat(text).contains("| host → guest | 1 | 64.0 | 16.00 (16.00–16.00) | 64.00 |");
        assertThat(text).contains("its `/dev/kvm` is PVM (kvm_pvm)", "comes from **the lab**",
                "No figure of this run comes from hardware KVM.");
        assertThat(text).contains("## 4. Per-exit cost of the vCPU loop: Arrow (Java) vs C (host, PVM)",
                "these are PVM figures", "(10.00 µs per exit in the bare C loop below)");
    }

    @Test
    void aLabOnAnotherClockThanItsTscIsNamedInTheMachinesAndTheCaveats() throws Exception {
        fixtures();
        Files.writeString(dir.resolve("results").resolve("lab-env.json"),
                LAB_ENV.replace("\"kernel\":\"6.1.192\",", "\"kernel\":\"6.1.192\",\"clocksource\":\"hpet\","));
        String text = report();
        assertThat(text).contains("| 6144 MiB | 6.1.192 | hpet | lab: nested KVM",
                "- The lab keeps time by its hpet, not its TSC (which QEMU TCG lets jump minutes ahead; docs/lab.md).");
    }

    @Test
    void onAHardwareHostTheReportSpeaksOfHardwareNotOfPvmOrTheLab() throws Exception {
        fixtures();
        Path r = dir.resolve("results");
        String hardware = "\"kvm\":\"HARDWARE_INTEL\",\"kvmFlavour\":\"hardware KVM (Intel VT-x, kvm_intel)\"";
        Files.writeString(r.resolve("host-env.json"), Files.readString(r.resolve("host-env.json"))
                .replace("\"kvm\":\"PVM\",\"kvmFlavour\":\"PVM (kvm_pvm, no hardware virtualization)\"", hardware));
        Files.writeString(r.resolve("lab-env.json"), LAB_ENV.replace("\"where\":\"lab\"", "\"where\":\"host\"")
                .replace("\"kvm\":\"HARDWARE_AMD\",\"kvmFlavour\":\"lab: nested KVM (kvm_amd) inside QEMU TCG emulating AMD-V\"",
                        hardware));
        Files.writeString(r.resolve("console.json"), ConsoleSectionTest.CONSOLE);
        String text = report();
        assertThat(text).contains("This run's host has hardware KVM (hardware KVM (Intel VT-x, kvm_intel))",
                "measured directly on this host's hardware KVM",
                "## 4. Per-exit cost of the vCPU loop: Arrow (Java) vs C (host, hardware KVM)", "these are hardware-KVM figures",
                "## 7. Console throughput guest → host: virtio console vs serial port (hardware KVM)",
                "ratio Arrow/C 1.995** (hardware KVM)");
        assertThat(text).doesNotContain("PVM figures", "(lab)", "No figure of this run comes from hardware KVM",
                "The lab is started by", "Lab figures", "kvm-keeper");
    }

    @Test
    void aSettledSameDevicesComparisonIsDescribedAndGroupedByRunOrder() throws Exception {
        fixtures();
        Files.writeString(dir.resolve("results").resolve("peer.json"), GoalsSectionTest.PEER.replace("{\"settleMillis\"",
                "{\"kernel\":\"/k/vmlinux\",\"commandLine\":\"console=ttyS0\",\"initramfsBytes\":110000,\"memoryMiB\":64,"
                        + "\"qemuCommand\":\"qemu-system-x86_64 -M microvm\",\"settleMillis\""));
        String text = report();
        assertThat(text).contains("same devices, same command line (`console=ttyS0`, plus each VMM's `virtio_mmio.device=` entries)",
                "before every boot the JVM is settled (a GC, then 1000 ms of pause)", "What still differs: QEMU starts its firmware");
        assertThat(text).contains("| Arrow first | 1 | 500.0 | 2000.0 | **0.250** | 400.0 | 500.0 | 30.0 / 10.0 |",
                "| QEMU first | 1 | 700.0 | 2000.0 | **0.350** | 400.0 | 500.0 | 40.0 / 20.0 |");
        assertThat(text).doesNotContain("Devices differ in this run");
    }

    @Test
    void aComparisonFromBeforeTheSameDevicesSaysTheDevicesDiffered() throws Exception {
        fixtures();
        assertThat(report()).contains("**Devices differ in this run:**", "| QEMU first | 1 | 1000.0 | 2000.0 | **0.500** |",
                "not recorded |");
    }

    @Test
    void flavourNoticeWithoutAnyEnvironmentFileSaysNothingWasRecorded() {
        KvmFlavour none = KvmFlavour.of(null);
        assertThat(Report.flavourNotice(none, none)).contains("recorded no machine description",
                "The Linux-boot part recorded no machine description", "No figure of this run comes from hardware KVM.");
    }
}
