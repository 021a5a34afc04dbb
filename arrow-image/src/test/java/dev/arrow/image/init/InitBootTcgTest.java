package dev.arrow.image.init;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.config.Rlimit;
import dev.arrow.config.RlimitResource;
import dev.arrow.image.ArrowInitramfs;
import dev.arrow.image.cmdline.KernelParameters;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.init.InitStatus.StartFailure;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.image.kernel.KernelLookupException;
import dev.arrow.testing.TcgTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tier 3: Arrow's init and initramfs booted with the guest kernel under QEMU TCG (see
 * {@link QemuTcg} for the machine). Each test is one boot of a few seconds; the app is the
 * static musl program src/test/c/probe.c.
 */
@TcgTest
class InitBootTcgTest {
    private static final Logger LOG = LoggerFactory.getLogger(InitBootTcgTest.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static Path kernel;
    private static Path probe;

    @TempDir
    Path work;

    @BeforeAll
    static void findKernelQemuAndProbe() {
        try {
            kernel = KernelLocator.fromEnvironment().locate().path();
        } catch (KernelLookupException e) {
            assumeTrue(false, "no guest kernel to boot (scripts/build-kernel.sh guest has not run): " + e.getMessage());
        }
        String dir = System.getProperty("arrow.image.guestPrograms", "target/guest-programs");
        probe = Path.of(dir, "probe");
        assumeTrue(Files.isRegularFile(probe), "guest test program " + probe + " missing: build with Maven (needs musl-gcc)");
    }

    private QemuTcg.Boot boot(Initramfs initramfs) throws IOException {
        return boot(initramfs, KernelParameters.forInit(false));
    }

    private QemuTcg.Boot boot(Initramfs initramfs, KernelParameters cmdline) throws IOException {
        QemuTcg.Boot b = QemuTcg.boot(kernel, initramfs, cmdline, work, TIMEOUT);
        LOG.info("boot took {} ms, records {}", b.elapsed().toMillis(), b.records());
        assertThat(b.timedOut()).as("QEMU ended by itself (reboot ends the VM); console:\n%s", b.console()).isFalse();
        assertThat(b.qemuExit()).as("QEMU exit code; log: %s", b.qemuLog()).isZero();
        assertThat(b.ignoredStatusLines()).as("status lines that did not parse").isZero();
        return b;
    }

    private QemuTcg.Boot runProbe(LaunchSpec spec) throws IOException {
        return boot(ArrowInitramfs.builder(probe, spec).build());
    }

    @Test
    void helloGetsItsArgsAndEnvironmentAndExitsZero() throws IOException {
        LaunchSpec spec = LaunchSpec.builder().argv0("probe").args("hello", "two words", "", "ünï")
                .env("GREETING", "hi there").env("EMPTY", "").build();
        QemuTcg.Boot b = runProbe(spec);
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(0));
        assertThat(b.console()).contains(
                "probe-argc 5\n", "probe-arg 0 [probe]\n", "probe-arg 1 [hello]\n", "probe-arg 2 [two words]\n",
                "probe-arg 3 []\n", "probe-arg 4 [\u00c3\u00bcn\u00c3\u00af]\n", // UTF-8 bytes read as ISO-8859-1
                "probe-env [GREETING=hi there]\n", "probe-env [EMPTY=]\n");
        assertThat(b.console()).as("raw console: no CR added, no kernel chatter, no status lines")
                .doesNotContain("\r").doesNotContain("Linux version").doesNotContain(InitProtocol.STATUS_PREFIX);
        assertThat(b.console().lines().filter(l -> l.startsWith("probe-env"))).hasSize(2);
        long start = b.mark(InitProtocol.MARK_INIT_START), exec = b.mark(InitProtocol.MARK_APP_EXEC);
        long exit = b.mark(InitProtocol.MARK_APP_EXIT), halt = b.mark(InitProtocol.MARK_HALT);
        assertThat(start).isPositive().isLessThan(exec);
        assertThat(exec).isLessThan(exit);
        assertThat(exit).isLessThanOrEqualTo(halt);
    }

    @Test
    void exitCodeIsReported() throws IOException {
        QemuTcg.Boot b = runProbe(LaunchSpec.builder().args("exit", "3").build());
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(3));
    }

    @ParameterizedTest
    @ValueSource(ints = {9, 11})
    void deathBySignalIsReported(int signal) throws IOException {
        QemuTcg.Boot b = runProbe(LaunchSpec.builder().args("signal", Integer.toString(signal)).build());
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Signaled(signal));
    }

    @Test
    void childrenLeftBehindGetSigtermThenSigkill() throws IOException {
        Duration grace = Duration.ofMillis(300);
        QemuTcg.Boot b = runProbe(LaunchSpec.builder().args("fork").killGrace(grace).build());
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(0));
        assertThat(b.console()).contains("probe-parent exiting with 2 children alive", "probe-child1 got SIGTERM");
        // child 2 ignores SIGTERM, so init waits the whole grace period before its SIGKILL ends it
        long shutdown = b.mark(InitProtocol.MARK_HALT) - b.mark(InitProtocol.MARK_APP_EXIT);
        assertThat(shutdown).isGreaterThanOrEqualTo(grace.toNanos());
        // ...and its SIGKILL works: init's wait after SIGKILL (up to 2 s) ends as soon as the last child is reaped
        assertThat(shutdown).isLessThan(grace.plusMillis(1500).toNanos());
    }

    @Test
    void signalsSentToInitAreForwardedToTheApp() throws IOException {
        QemuTcg.Boot b = runProbe(LaunchSpec.builder().args("forward").build());
        assertThat(b.console()).contains("probe got forwarded SIGTERM");
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(42));
        QemuTcg.Boot i = runProbe(LaunchSpec.builder().args("forward-int").build());
        assertThat(i.console()).contains("probe got forwarded SIGINT");
        assertThat(i.finalStatus()).isEqualTo(new InitStatus.Exited(43));
    }

    @Test
    void orphanedZombiesAreReapedWhileTheAppRuns() throws IOException {
        QemuTcg.Boot b = runProbe(LaunchSpec.builder().args("orphans").build());
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(0));
        assertThat(b.console()).contains("probe-zombies 0\n");
    }

    @Test
    void uidGidWorkingDirectoryHostnameAndLimitsAreApplied() throws IOException {
        LaunchSpec spec = LaunchSpec.builder().args("info").uid(1000).gid(100).workingDirectory("/tmp").hostname("arrow-guest")
                .limit(new Rlimit(RlimitResource.NOFILE, 42, 99)).build();
        QemuTcg.Boot b = runProbe(spec);
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(0));
        assertThat(b.console()).contains("probe-info uid=1000 gid=100 cwd=/tmp hostname=arrow-guest nofile=42/99\n");
    }

    @Test
    void missingProgramIsNotFound() throws IOException {
        QemuTcg.Boot b = boot(ArrowInitramfs.builder(LaunchSpec.builder().executable("/arrow/missing").build()).build());
        InitStatus s = b.finalStatus();
        assertThat(s).isInstanceOf(InitStatus.StartFailed.class);
        assertThat(((InitStatus.StartFailed) s).kind()).isEqualTo(StartFailure.NOT_FOUND);
        assertThat(((InitStatus.StartFailed) s).message()).contains("/arrow/missing", "No such file");
        assertThat(b.records())
                .noneMatch(r -> r instanceof InitStatus.Mark m && m.name().equals(InitProtocol.MARK_APP_EXEC));
    }

    @Test
    void fileWithoutExecutePermissionIsNotExecutable() throws IOException {
        LaunchSpec spec = LaunchSpec.builder().build();
        QemuTcg.Boot b = boot(ArrowInitramfs.builder(spec).file(spec.executable().value(), probe, 0644).build());
        InitStatus.StartFailed s = (InitStatus.StartFailed) b.finalStatus();
        assertThat(s.kind()).isEqualTo(StartFailure.NOT_EXECUTABLE);
        assertThat(s.message()).contains("/arrow/app", "Permission denied", "no execute permission");
    }

    @Test
    void textFileIsAnExecFormatError() throws IOException {
        LaunchSpec spec = LaunchSpec.builder().build();
        QemuTcg.Boot b = boot(ArrowInitramfs.builder(spec).file(spec.executable().value(), "not a program\n", 0755).build());
        InitStatus.StartFailed s = (InitStatus.StartFailed) b.finalStatus();
        assertThat(s.kind()).isEqualTo(StartFailure.EXEC_FORMAT);
        assertThat(s.message()).contains("/arrow/app", "Exec format error");
    }

    @Test
    void dynamicProgramWithoutItsLoaderIsAnExecFormatErrorNamingTheFix() throws IOException {
        Path ls = Path.of("/bin/ls");
        assumeTrue(Files.isRegularFile(ls), "/bin/ls missing");
        QemuTcg.Boot b = boot(ArrowInitramfs.builder(ls, LaunchSpec.builder().build()).build());
        InitStatus.StartFailed s = (InitStatus.StartFailed) b.finalStatus();
        assertThat(s.kind()).isEqualTo(StartFailure.EXEC_FORMAT);
        assertThat(s.message()).contains("interpreter", "statically");
    }

    @Test
    void malformedSpecIsAStartFailure() throws IOException {
        Initramfs fs = Initramfs.builder().manifest(ArrowInitramfs.MANIFEST_PATH)
                .file(ArrowInit.GUEST_PATH, ArrowInit.load(), 0755)
                .file(SpecFile.GUEST_PATH, "arrow-spec 1\nexec\0/arrow/app\0", 0444).build();
        InitStatus.StartFailed s = (InitStatus.StartFailed) boot(fs).finalStatus();
        assertThat(s.kind()).isEqualTo(StartFailure.OTHER);
        assertThat(s.message()).contains("malformed spec /arrow/spec");
    }

    @Test
    void debugCommandLineShowsKernelMessagesAndStillEndsTheVm() throws IOException {
        QemuTcg.Boot b = boot(ArrowInitramfs.builder(probe, LaunchSpec.builder().args("exit", "0").build()).build(),
                KernelParameters.forInit(true));
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(0));
        assertThat(b.console()).contains("Linux version", "Run /init as init process");
    }

    @Test
    void anOrderlyEndLeavesTheConsoleQuiet() throws IOException {
        QemuTcg.Boot b = runProbe(LaunchSpec.builder().args("exit", "0").build());
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(0));
        assertThat(b.console()).as("init silences the kernel's emergency 'reboot: Restarting system'")
                .doesNotContain("reboot:");
    }

    @Test
    void aKernelPanicReachesTheConsoleAndEndsTheVm() throws IOException {
        Path busybox = Path.of("/bin/busybox");
        assumeTrue(Files.isExecutable(busybox), "no static busybox: install busybox-static (scripts/setup.sh)");
        QemuTcg.Boot b = boot(ArrowInitramfs.builder(busybox,
                LaunchSpec.builder().argv0("sh").args("-c", "echo c > /proc/sysrq-trigger").build()).build());
        assertThat(b.records()).as("init reports nothing: the kernel died under it").noneMatch(InitStatus::isFinal);
        assertThat(b.console()).contains("Kernel panic - not syncing: sysrq triggered crash");
    }

    @Test
    void anImageTooLargeForTheRootFileSystemEndsAsIncompleteAndTheAppNeverRuns() throws IOException {
        // QEMU gives 256 MiB: the tmpfs root gets half of what the kernel and the 160 MiB archive leave
        Path data = work.resolve("data.bin");
        byte[] chunk = new byte[1 << 20];
        new java.util.Random(7).nextBytes(chunk);
        try (java.io.OutputStream out = Files.newOutputStream(data)) {
            for (int i = 0; i < 160; i++) out.write(chunk);
        }
        Initramfs fs = ArrowInitramfs.builder(probe, LaunchSpec.builder().args("hello", "app-ran").build())
                .file("/data/big.bin", data, 0644).build();
        QemuTcg.Boot b = boot(fs);
        InitStatus.StartFailed s = (InitStatus.StartFailed) b.finalStatus();
        assertThat(s.kind()).isEqualTo(StartFailure.IMAGE_INCOMPLETE);
        // the unpacker leaves the big file with holes and, the root being full, may not create what follows it
        assertThat(s.message()).matches("(/data/big\\.bin: content differs from the host's|/arrow/manifest: missing).*")
                .containsPattern("root file system (\\d+) of \\1 MiB used");
        assertThat(b.records())
                .noneMatch(r -> r instanceof InitStatus.Mark m && m.name().equals(InitProtocol.MARK_APP_EXEC));
        assertThat(b.console()).doesNotContain("app-ran");
    }

    @Test
    void anImageWithoutItsManifestEndsAsIncomplete() throws IOException {
        Initramfs fs = Initramfs.builder()
                .file(ArrowInit.GUEST_PATH, ArrowInit.load(), 0755)
                .file(SpecFile.GUEST_PATH, SpecFile.encode(LaunchSpec.builder().build()), 0444)
                .file("/arrow/app", probe, 0755).build();
        InitStatus.StartFailed s = (InitStatus.StartFailed) boot(fs).finalStatus();
        assertThat(s.kind()).isEqualTo(StartFailure.IMAGE_INCOMPLETE);
        assertThat(s.message()).startsWith("/arrow/manifest: missing");
    }

    @Test
    void aWholeImageIsCheckedBeforeTheAppStarts() throws IOException {
        QemuTcg.Boot b = boot(ArrowInitramfs.builder(probe, LaunchSpec.builder().args("exit", "0").build()).build());
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(0));
        List<String> marks = b.records().stream().filter(r -> r instanceof InitStatus.Mark)
                .map(r -> ((InitStatus.Mark) r).name()).toList();
        assertThat(marks).containsSubsequence(InitProtocol.MARK_INIT_START, InitProtocol.MARK_IMAGE_CHECKED,
                InitProtocol.MARK_APP_EXEC);
    }

    @Test
    void theAppCannotReachTheStatusPortNorInitSoItCannotForgeItsOutcome() throws IOException {
        QemuTcg.Boot b = boot(ArrowInitramfs.builder(probe, LaunchSpec.builder().args("forge").build()).build());
        assertThat(b.console()).contains("forge ioperm Operation not permitted", "forge iopl Operation not permitted",
                "forge ptrace-init Operation not permitted");
        // init's own access to the status ports stays behind: an outb to any of them faults
        assertThat(b.console()).contains("forge outb-0xf4 Segmentation fault", "forge outb-0xf5 Segmentation fault",
                "forge outb-0xf6 Segmentation fault", "forge outb-0xf7 Segmentation fault");
        // Arrow's kernel has no /dev/port; one that had it would refuse it without CAP_SYS_RAWIO
        assertThat(b.console()).containsPattern("forge dev-port (Operation not permitted|No such file or directory)");
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(7));
        assertThat(b.records()).filteredOn(InitStatus::isFinal).containsExactly(new InitStatus.Exited(7));
    }
}
