package dev.arrow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.SizeUnit;
import dev.arrow.image.GuestImage;
import dev.arrow.image.init.InitProtocol;
import dev.arrow.image.init.Stdio;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.image.kernel.KernelLookupException;
import dev.arrow.testing.TcgTest;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier 3: the benchmark's QEMU peer boots the hello arrow's image (stdio on the virtio console) with
 * the devices {@code Arrow.start()} gives it, under QEMU TCG instead of KVM: the greeting arrives on
 * the stdout port's socket, init's marks on the status port, and the guest ends with a reset.
 */
@TcgTest
class QemuMicrovmTcgTest {
    @TempDir
    Path work;

    @Test
    void theHelloArrowGreetsOnItsVirtioStdoutPortAndResets() throws Exception {
        Path kernel;
        try {
            kernel = KernelLocator.fromEnvironment().locate().path();
        } catch (KernelLookupException e) {
            assumeTrue(false, "no guest kernel (scripts/build-kernel.sh guest has not run): " + e.getMessage());
            return;
        }
        Path hello = NativePrograms.dir().resolve("hello");
        assumeTrue(Files.isExecutable(hello), hello + " missing: the build compiles it (needs musl-gcc)");
        ArrowSpec spec = ArrowSpec.builder(hello).args("from", "QEMU").memory(64, SizeUnit.MiB).build();
        GuestImage image = GuestImage.assemble(spec, kernel, Stdio.VIRTIO);
        Path initrd = work.resolve("initramfs.cpio");
        image.initramfs().writeTo(initrd);

        QemuMicrovm.Run run = new QemuMicrovm(kernel, initrd, image.kernelParameters().joined(), 64,
                QemuMicrovm.Accelerator.TCG).boot(work);

        assertThat(run.output()).as("the app's stdout port; console: %s", run.console()).contains("Hello from an arrow");
        assertThat(run.console()).doesNotContain("Hello from an arrow");
        assertThat(run.shutdownReason()).isEqualTo("guest-reset");
        assertThat(run.spawnToFirstOutputNanos()).isPositive().isLessThan(run.spawnToResetNanos());
        assertThat(run.marks()).extracting(QemuMicrovm.Mark::name).contains(InitProtocol.MARK_INIT_START,
                InitProtocol.MARK_APP_EXEC, InitProtocol.MARK_APP_EXIT);
    }
}
