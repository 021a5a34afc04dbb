package dev.arrow.image.init;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.image.ArrowInitramfs;
import dev.arrow.image.GuestPath;
import dev.arrow.image.HostCommand;
import dev.arrow.image.cmdline.KernelParameters;
import dev.arrow.image.cpio.Initramfs;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.image.kernel.KernelLookupException;
import dev.arrow.testing.TcgTest;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier 3: init's side of templates under QEMU TCG, with QEMU's virtio-serial ports standing in for Arrow's virtio console
 * (as in {@link InitVirtioStdioTcgTest}). A template image boots to its template point; only after the mark
 * {@value InitProtocol#MARK_TEMPLATE_POINT} does the test write the launch message to the control port, and the app then
 * runs with what the message carried: args, env, a file, the wall clock and entropy. A spec with a ready port makes
 * init report {@value InitProtocol#MARK_APP_READY} once the app listens.
 */
@TcgTest
class InitTemplateTcgTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final Instant CLONE_CLOCK = Instant.parse("2030-01-01T00:00:00Z");
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
        probe = Path.of(System.getProperty("arrow.image.guestPrograms", "target/guest-programs"), "probe");
        assumeTrue(Files.isRegularFile(probe), "guest test program " + probe + " missing: build with Maven (needs musl-gcc)");
        assumeTrue(HostCommand.available("mkfifo"), "mkfifo (coreutils) is missing");
    }

    /** The control port's FIFO (QEMU reads cctl.in), open read-write so that opening does not wait for QEMU. */
    private RandomAccessFile control;

    private List<String> virtioSerial() throws IOException {
        for (String fifo : List.of("cctl.in", "cctl.out", "cin.in", "cin.out")) {
            HostCommand.Result r = HostCommand.run(List.of("mkfifo", work.resolve(fifo).toString()), work, null, Duration.ofSeconds(10));
            assertThat(r.exitCode()).as(r.stderr()).isZero();
        }
        control = new RandomAccessFile(work.resolve("cctl.in").toFile(), "rw");
        return QemuTcg.virtioSerial(work.resolve("cin"), work.resolve("stdout.txt"), work.resolve("stderr.txt"), work.resolve("cctl"));
    }

    /** Boots {@code initramfs} in the background; the caller talks to it through {@link #control} meanwhile. */
    private CompletableFuture<QemuTcg.Boot> bootInBackground(Initramfs initramfs) throws IOException {
        List<String> devices = virtioSerial();
        return CompletableFuture.supplyAsync(() -> {
            try {
                return QemuTcg.boot(kernel, initramfs, KernelParameters.forInit(false), work, TIMEOUT, devices);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /** Waits until init has written {@code mark} on the status port (QEMU's debugcon file). */
    private void awaitMark(String mark, CompletableFuture<QemuTcg.Boot> boot) throws IOException, InterruptedException {
        Path status = work.resolve("status.out");
        String line = InitProtocol.MARK_PREFIX + " " + mark + " ";
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!(Files.exists(status) && Files.readString(status, StandardCharsets.ISO_8859_1).contains(line))) {
            assertThat(boot).as("QEMU ended before init reported %s", mark).isNotDone();
            assertThat(System.nanoTime()).as("waiting for mark %s", mark).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private QemuTcg.Boot finish(CompletableFuture<QemuTcg.Boot> boot) throws Exception {
        try {
            QemuTcg.Boot b = boot.get(TIMEOUT.toSeconds() + 30, TimeUnit.SECONDS);
            assertThat(b.timedOut()).as("QEMU ended by itself; console:\n%s", b.console()).isFalse();
            return b;
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError("QEMU run failed", e);
        } finally {
            control.close();
        }
    }

    private String file(String name) throws IOException {
        Path p = work.resolve(name);
        return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
    }

    @Test
    void aTemplateWaitsAtItsTemplatePointAndRunsTheLaunchSpecItIsSent() throws Exception {
        CompletableFuture<QemuTcg.Boot> boot = bootInBackground(ArrowInitramfs.templateBuilder(probe).build());
        awaitMark(InitProtocol.MARK_TEMPLATE_POINT, boot);
        Thread.sleep(500);
        assertThat(file("status.out")).as("nothing starts before the launch message")
                .doesNotContain(InitProtocol.MARK_APP_EXEC);

        byte[] entropy = new byte[32];
        new java.security.SecureRandom().nextBytes(entropy);
        LaunchSpec clone = LaunchSpec.builder().argv0("probe").args("clone", "/data/greeting.txt").env("CLONE", "7")
                .stdio(Stdio.VIRTIO).realtimeClock(CLONE_CLOCK).entropy(entropy).hostname("clone-7")
                .file(new LaunchFile(GuestPath.of("/data/greeting.txt"), 0640, "hello clone".getBytes(StandardCharsets.UTF_8)))
                .build();
        control.write(LaunchMessage.encode(clone));

        QemuTcg.Boot b = finish(boot);
        assertThat(b.finalStatus()).as("stderr: %s", file("stderr.txt")).isEqualTo(new InitStatus.Exited(0));
        assertThat(b.mark(InitProtocol.MARK_APP_EXEC)).isGreaterThan(b.mark(InitProtocol.MARK_TEMPLATE_POINT));
        String out = file("stdout.txt");
        assertThat(out).contains("probe-file 640 hello clone\n", "probe-env [CLONE=7]\n").containsPattern("probe-random [0-9a-f]{32}\n");
        assertClockNearCloneClock(out);
    }

    private static void assertClockNearCloneClock(String probeOutput) {
        long seconds = Long.parseLong(probeOutput.replaceAll("(?s).*probe-time (\\d+)\n.*", "$1"));
        assertThat(seconds).as("the guest's wall clock").isBetween(CLONE_CLOCK.getEpochSecond(), CLONE_CLOCK.getEpochSecond() + 60);
    }

    @Test
    void clockAndEntropyLinesOnTheControlPortTakeEffectWhileTheAppRuns() throws Exception {
        LaunchSpec spec = LaunchSpec.builder().argv0("probe").args("clone", "/data/x", "3").stdio(Stdio.VIRTIO)
                .file(new LaunchFile(GuestPath.of("/data/x"), 0600, new byte[] {'x'})).build();
        CompletableFuture<QemuTcg.Boot> boot = bootInBackground(ArrowInitramfs.builder(probe, spec).build());
        awaitMark(InitProtocol.MARK_APP_EXEC, boot);
        control.write((InitProtocol.entropyCommand(new byte[64]) + InitProtocol.clockCommand(CLONE_CLOCK))
                .getBytes(StandardCharsets.US_ASCII));
        QemuTcg.Boot b = finish(boot);
        assertThat(b.finalStatus()).as("stderr: %s", file("stderr.txt")).isEqualTo(new InitStatus.Exited(0));
        String out = file("stdout.txt");
        assertThat(out).contains("probe-file 600 x\n").containsPattern("probe-random [0-9a-f]{32}\n");
        assertClockNearCloneClock(out);
    }

    @Test
    void aMalformedLaunchMessageIsAStartFailure() throws Exception {
        CompletableFuture<QemuTcg.Boot> boot = bootInBackground(ArrowInitramfs.templateBuilder(probe).build());
        awaitMark(InitProtocol.MARK_TEMPLATE_POINT, boot);
        control.write("launch 12\n".getBytes(StandardCharsets.US_ASCII));
        QemuTcg.Boot b = finish(boot);
        assertThat(b.finalStatus()).isInstanceOf(InitStatus.StartFailed.class);
        assertThat(((InitStatus.StartFailed) b.finalStatus()).message()).contains("malformed spec", "launch header 'launch 12'");
    }

    @Test
    void initReportsAppReadyOnceTheAppListensOnItsReadyPort() throws Exception {
        LaunchSpec spec = LaunchSpec.builder().argv0("probe").args("listen", "8080").readyPort(8080).stdio(Stdio.VIRTIO).build();
        CompletableFuture<QemuTcg.Boot> boot = bootInBackground(ArrowInitramfs.builder(probe, spec).build());
        awaitMark(InitProtocol.MARK_APP_READY, boot);
        control.write(InitProtocol.signalCommand(15).getBytes(StandardCharsets.US_ASCII));
        QemuTcg.Boot b = finish(boot);
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Signaled(15));
        assertThat(file("stdout.txt")).isEqualTo("probe listening\n");
        long readyAfterExec = b.mark(InitProtocol.MARK_APP_READY) - b.mark(InitProtocol.MARK_APP_EXEC);
        assertThat(readyAfterExec).as("ns from execve to app-ready (the probe listens after 1 s)").isGreaterThanOrEqualTo(1_000_000_000L);
        assertThat(b.records().stream().filter(r -> r instanceof InitStatus.Mark m && m.name().equals(InitProtocol.MARK_APP_READY)))
                .as("app-ready once").hasSize(1);
    }

    @Test
    void readyPortWorksWithSerialStdioTooWhereInitWaitsWithoutAControlPort() throws Exception {
        LaunchSpec spec = LaunchSpec.builder().argv0("probe").args("listen", "80").readyPort(80).build();
        QemuTcg.Boot b = QemuTcg.boot(kernel, ArrowInitramfs.builder(probe, spec).build(), KernelParameters.forInit(false), work,
                TIMEOUT);
        assertThat(b.finalStatus()).as("console: %s", b.console()).isEqualTo(new InitStatus.Exited(0));
        assertThat(b.console()).contains("probe listening");
        assertThat(b.mark(InitProtocol.MARK_APP_READY)).isBetween(b.mark(InitProtocol.MARK_APP_EXEC) + 1_000_000_000L,
                b.mark(InitProtocol.MARK_APP_EXIT));
    }
}
