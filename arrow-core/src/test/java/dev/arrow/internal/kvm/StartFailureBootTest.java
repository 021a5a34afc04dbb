package dev.arrow.internal.kvm;

import dev.arrow.ArrowOutcome;
import dev.arrow.image.ArrowInitramfs;
import dev.arrow.image.cmdline.KernelCommandLine;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.LaunchSpec;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.kvm.vmm.VmConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tier 4: init's start failures travel through our VMM to the right outcome. The initramfs is
 * assembled by hand so that the program init is told to run is missing, not executable, or not
 * a program at all.
 */
@Tag("boot")
class StartFailureBootTest {
    private static Path kernel;

    @BeforeAll
    static void hostBootsLinux() {
        HostKvm host = HostKvm.detect();
        Assumptions.assumeTrue(host.canBootLinux(),
                host.description() + "; run the boot tests in the lab (scripts/test.sh does)");
        kernel = KernelLocator.fromEnvironment().locate().path();
    }

    private static ArrowOutcome boot(Initramfs.Builder initramfs) throws Exception {
        ByteArrayOutputStream cpio = new ByteArrayOutputStream();
        initramfs.build().writeTo(cpio);
        KvmSession session = new KvmSession((b, off, len) -> { });
        VmConfig config = VmConfig.builder()
                .kernel(kernel)
                .initrd(cpio.toByteArray())
                .commandLine(KernelCommandLine.builder().build().toString())
                .memoryBytes(64L << 20)
                .serialOutput(session.serialOutput())
                .statusListener(session::onStatusLine)
                .build();
        try (RunningVm vm = VmBuilder.start(config)) {
            session.attach(vm);
            assertThat(vm.awaitExit(Duration.ofMinutes(3))).as("guest ended").isPresent();
            return session.outcome().get();
        }
    }

    @Test
    void missingProgramIsNotFound() throws Exception {
        LaunchSpec spec = LaunchSpec.builder().executable("/arrow/missing").build();
        ArrowOutcome outcome = boot(ArrowInitramfs.builder(spec));
        assertThat(outcome).isInstanceOf(ArrowOutcome.StartFailed.class);
        assertThat(((ArrowOutcome.StartFailed) outcome).kind()).isEqualTo(ArrowOutcome.StartFailed.Kind.NOT_FOUND);
        assertThat(outcome.exitValue()).isEqualTo(127);
    }

    @Test
    void fileWithoutExecuteBitIsNotExecutable() throws Exception {
        LaunchSpec spec = LaunchSpec.builder().executable("/arrow/app").build();
        ArrowOutcome outcome = boot(ArrowInitramfs.builder(spec).file("/arrow/app", "data\n", 0644));
        assertThat(outcome).isInstanceOf(ArrowOutcome.StartFailed.class);
        assertThat(((ArrowOutcome.StartFailed) outcome).kind()).isEqualTo(ArrowOutcome.StartFailed.Kind.NOT_EXECUTABLE);
    }

    @Test
    void textFileIsAnExecFormatError() throws Exception {
        LaunchSpec spec = LaunchSpec.builder().executable("/arrow/app").build();
        ArrowOutcome outcome = boot(ArrowInitramfs.builder(spec).file("/arrow/app", "just text\n", 0755));
        assertThat(outcome).isInstanceOf(ArrowOutcome.StartFailed.class);
        assertThat(((ArrowOutcome.StartFailed) outcome).kind()).isEqualTo(ArrowOutcome.StartFailed.Kind.EXEC_FORMAT);
        assertThat(outcome.exitValue()).isEqualTo(126);
    }
}
