package dev.arrow.internal.kvm;

import dev.arrow.ArrowOutcome;
import dev.arrow.image.ArrowInitramfs;
import dev.arrow.image.InitramfsMemory;
import dev.arrow.image.cmdline.KernelCommandLine;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.LaunchSpec;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.kvm.vmm.VmConfig;
import dev.arrow.spi.BootEvents;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tier 4: an initramfs that does not arrive whole ends the arrow as
 * {@link ArrowOutcome.StartFailed.Kind#IMAGE_INCOMPLETE} with the cause and the fix, and the app never
 * runs. The images are booted through the VMM directly, past {@code start()}'s memory rule: one cut
 * short on purpose, one too large for the guest's RAM.
 */
@Tag("boot")
class IncompleteImageBootTest {
    private static final long MIB = 1 << 20;
    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static Path kernel;

    @BeforeAll
    static void hostBootsLinux() {
        HostKvm host = HostKvm.detect();
        Assumptions.assumeTrue(host.canBootLinux(),
                host.description() + "; run the boot tests in the lab (scripts/test.sh does)");
        kernel = KernelLocator.fromEnvironment().locate().path();
        Assumptions.assumeTrue(java.nio.file.Files.isExecutable(BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
    }

    private record Boot(ArrowOutcome outcome, String serial) {
    }

    private static Boot boot(byte[] initrd, long memoryBytes, InitramfsMemory needs) throws Exception {
        ByteArrayOutputStream serial = new ByteArrayOutputStream();
        KvmSession session = new KvmSession(new SerialStdio((b, off, len) -> {
            synchronized (serial) {
                serial.write(b, off, len);
            }
        }), BootEvents.NONE, memoryBytes, needs);
        VmConfig config = VmConfig.builder()
                .kernel(kernel)
                .initrd(initrd)
                .commandLine(KernelCommandLine.builder().build().toString())
                .memoryBytes(memoryBytes)
                .serialOutput(session.serialOutput())
                .statusListener(session::onStatusLine)
                .build();
        try (RunningVm vm = VmBuilder.start(config)) {
            session.attach(vm);
            assertThat(vm.awaitExit(Duration.ofMinutes(3))).as("guest ended").isPresent();
            ArrowOutcome outcome = session.outcome().get();
            synchronized (serial) {
                return new Boot(outcome, serial.toString(StandardCharsets.UTF_8));
            }
        }
    }

    private static Initramfs image(int dataBytes) {
        byte[] data = new byte[dataBytes];
        new Random(17).nextBytes(data);
        return ArrowInitramfs.builder(BUSYBOX, LaunchSpec.builder().argv0("echo").args("app-ran").build())
                .file("/data/random.bin", data, 0644).build();
    }

    private static byte[] bytes(Initramfs fs) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        fs.writeTo(out);
        return out.toByteArray();
    }

    @Test
    void anArchiveCutShortEndsAsImageIncompleteAndTheAppNeverRuns() throws Exception {
        Initramfs fs = image(1 << 20);
        byte[] whole = bytes(fs);
        byte[] cut = Arrays.copyOf(whole, whole.length - (600 << 10)); // in the middle of the data file
        Boot boot = boot(cut, 64 * MIB, InitramfsMemory.of(fs));
        assertThat(boot.outcome()).isInstanceOf(ArrowOutcome.StartFailed.class);
        ArrowOutcome.StartFailed failed = (ArrowOutcome.StartFailed) boot.outcome();
        assertThat(failed.kind()).isEqualTo(ArrowOutcome.StartFailed.Kind.IMAGE_INCOMPLETE);
        assertThat(failed.exitValue()).isEqualTo(125);
        assertThat(failed.message())
                .startsWith("the guest did not receive the binary and files whole, so the program was not started (init: ")
                .containsPattern("init: (/arrow/manifest: missing|/data/random\\.bin: )")
                .contains("so it is wrong for this kernel: ask for more memory");
        assertThat(boot.serial()).doesNotContain("app-ran");
    }

    @Test
    void filesTooLargeForTheGuestsRamEndAsImageIncompleteNamingTheMemoryToAskFor() throws Exception {
        Initramfs fs = image(30 << 20); // the 64 MiB guest's tmpfs root holds about 16 MiB while the archive is in RAM
        InitramfsMemory needs = InitramfsMemory.of(fs);
        assertThat(needs.fits(64 * MIB)).as("start() would refuse this").isFalse();
        Boot boot = boot(bytes(fs), 64 * MIB, needs);
        ArrowOutcome.StartFailed failed = (ArrowOutcome.StartFailed) boot.outcome();
        assertThat(failed.kind()).isEqualTo(ArrowOutcome.StartFailed.Kind.IMAGE_INCOMPLETE);
        assertThat(failed.message())
                .containsPattern("init: (/arrow/manifest: missing|/data/random\\.bin: content differs from the host's)")
                .contains("root file system", "guest RAM too small for the files given", "64 MiB given",
                        "ask for memory(" + (needs.suggestedRamBytes(0) >> 20) + ", MiB)");
        assertThat(boot.serial()).doesNotContain("app-ran");
    }
}
