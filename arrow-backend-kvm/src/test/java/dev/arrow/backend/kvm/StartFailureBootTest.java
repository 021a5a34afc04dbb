package dev.arrow.backend.kvm;

import dev.arrow.ArrowOutcome;
import dev.arrow.image.ArrowInitramfs;
import dev.arrow.image.InitramfsMemory;
import dev.arrow.image.cmdline.KernelParameters;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.LaunchSpec;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.kvm.vmm.RunningVm;
import dev.arrow.kvm.vmm.VmBuilder;
import dev.arrow.kvm.vmm.VmConfig;
import dev.arrow.kvm.x86.KernelCommandLine;
import dev.arrow.spi.BootEvents;
import dev.arrow.testing.BootTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;

import static dev.arrow.backend.kvm.BootTestSupport.BUSYBOX;
import static dev.arrow.backend.kvm.BootTestSupport.assumeBusybox;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tier 4: init's start failures travel through our VMM to the right outcome. The initramfs is
 * assembled by hand so that the program init is told to run is missing, not executable, or not
 * a program at all; or, past {@code start()}'s memory rule, so that it does not arrive whole (cut
 * short on purpose, or too large for the guest's RAM), which ends as
 * {@link ArrowOutcome.StartFailed.Kind#IMAGE_INCOMPLETE} with the cause and the fix while the app never runs.
 */
@BootTest
class StartFailureBootTest {
    private static final long MIB = 1 << 20;
    private static Path kernel;

    @BeforeAll
    static void hostBootsLinux() {
        kernel = KernelLocator.fromEnvironment().locate().path();
    }

    /** How a boot ended, and what the guest wrote on its serial console (the app's stdio here). */
    private record Boot(ArrowOutcome outcome, String serial) {
    }

    private static ArrowOutcome boot(Initramfs.Builder initramfs) throws Exception {
        return boot(bytes(initramfs.build()), 64 * MIB, null).outcome();
    }

    /** Boots {@code initrd} as it is; {@code needs} (may be null) is what the outcome's advice is made from. */
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
                .commandLine(KernelCommandLine.of(KernelParameters.forInit(false).entries()))
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

    private static byte[] bytes(Initramfs fs) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        fs.writeTo(out);
        return out.toByteArray();
    }

    @Test
    void missingProgramIsNotFound() throws Exception {
        LaunchSpec spec = LaunchSpec.builder().executable("/arrow/missing").build();
        ArrowOutcome outcome = boot(ArrowInitramfs.builder(spec));
        assertThat(outcome).isInstanceOf(ArrowOutcome.StartFailed.class);
        assertThat(((ArrowOutcome.StartFailed) outcome).kind()).isEqualTo(ArrowOutcome.StartFailed.Kind.NOT_FOUND);
        assertThat(outcome.exitValue()).isEqualTo(383);
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
        assertThat(outcome.exitValue()).isEqualTo(382);
    }

    /** busybox as echo, and a random data file of {@code dataBytes} after it. */
    private static Initramfs image(int dataBytes) {
        assumeBusybox();
        byte[] data = new byte[dataBytes];
        new Random(17).nextBytes(data);
        return ArrowInitramfs.builder(BUSYBOX, LaunchSpec.builder().argv0("echo").args("app-ran").build())
                .file("/data/random.bin", data, 0644).build();
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
        assertThat(failed.exitValue()).isEqualTo(381);
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
