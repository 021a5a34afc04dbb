package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.vmm.ExitKind;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.kvm.vmm.VmConfig;
import dev.arrow.kvm.vmm.VmOutcome;
import dev.arrow.testing.KvmTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 2: both sides of the exit-loop benchmark run the guest to its reset with the expected exits. */
@KvmTest
class ExitLoopRunTest {
    @TempDir
    Path dir;

    @Test
    void arrowsVmmSeesEveryWriteAndTheReset() throws Exception {
        VmConfig config = VmConfig.builder().kernel(ExitLoopGuest.writeElf(dir, 1000)).memoryBytes(64L << 20).build();
        try (RunningVm vm = VmBuilder.start(config)) {
            assertThat(vm.awaitExit(Duration.ofSeconds(60))).containsInstanceOf(VmOutcome.Reset.class);
            assertThat(vm.exitCounts().get(ExitKind.IO_OUT)).isEqualTo(1001);
        }
    }

    @Test
    void theCProgramRunsTheSameGuestToTheSameEnd() throws Exception {
        Path guest = ExitLoopGuest.writeFlat(dir, 1000);
        Process p = new ProcessBuilder(NativePrograms.require("exitloop").toString(), guest.toString(), "1", "2")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out.lines()).hasSize(3).allMatch(l -> l.contains("\"exits\":1001,"));
        assertThat(out.lines().findFirst().orElseThrow()).contains("\"warmup\":true");
    }
}
