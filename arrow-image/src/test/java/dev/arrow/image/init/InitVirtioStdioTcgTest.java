package dev.arrow.image.init;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.image.ArrowInitramfs;
import dev.arrow.image.HostCommand;
import dev.arrow.image.cmdline.KernelParameters;
import dev.arrow.image.kernel.KernelLocator;
import dev.arrow.image.kernel.KernelLookupException;
import dev.arrow.testing.TcgTest;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tier 3: init with {@code stdio virtio} under QEMU TCG ({@code -M microvm,acpi=off}), whose virtio-serial device stands in for
 * Arrow's virtio console: ports named as {@link InitProtocol} says (arrow.stdin, arrow.stdout, arrow.stderr, arrow.control)
 * (stdin and control are FIFOs filled before the boot, stdout and stderr are files). Checks that
 * init finds the ports by name, gives them to the app as fds 0..2, serves "signal N" lines from
 * the control port, and reports a start failure when the ports never appear.
 */
@TcgTest
class InitVirtioStdioTcgTest {
    private static final Logger LOG = LoggerFactory.getLogger(InitVirtioStdioTcgTest.class);
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
        assumeTrue(HostCommand.available("mkfifo"), "mkfifo (coreutils) is missing");
    }

    /** A QEMU pipe (FIFOs NAME.in and NAME.out) whose input already holds {@code input}. */
    private final List<RandomAccessFile> fifos = new ArrayList<>();

    private Path pipe(String id, String input) throws IOException {
        Path base = work.resolve(id);
        for (String suffix : List.of(".in", ".out")) {
            HostCommand.Result r = HostCommand.run(List.of("mkfifo", base + suffix), work, null, Duration.ofSeconds(10));
            assertThat(r.exitCode()).as(r.stderr()).isZero();
        }
        RandomAccessFile in = new RandomAccessFile(base + ".in", "rw"); // O_RDWR: opening does not wait for QEMU
        in.write(input.getBytes(StandardCharsets.US_ASCII));
        fifos.add(in);
        return base;
    }

    private List<String> virtioSerial(String stdin, String control) throws IOException {
        return QemuTcg.virtioSerial(pipe("cin", stdin), work.resolve("stdout.txt"), work.resolve("stderr.txt"), pipe("cctl", control));
    }

    private QemuTcg.Boot boot(LaunchSpec spec, List<String> devices) throws IOException {
        try {
            QemuTcg.Boot b = QemuTcg.boot(kernel, ArrowInitramfs.builder(probe, spec).build(), KernelParameters.forInit(false),
                    work, TIMEOUT, devices);
            LOG.info("boot took {} ms, records {}", b.elapsed().toMillis(), b.records());
            assertThat(b.timedOut()).as("QEMU ended by itself; console:\n%s", b.console()).isFalse();
            assertThat(b.qemuExit()).as("QEMU exit code; log: %s", b.qemuLog()).isZero();
            return b;
        } finally {
            for (RandomAccessFile f : fifos) {
                f.close();
            }
        }
    }

    private String file(String name) throws IOException {
        Path p = work.resolve(name);
        return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
    }

    @Test
    void theAppsStdioAreTheNamedPortsNotTheConsole() throws IOException {
        LaunchSpec spec = LaunchSpec.builder().args("stdio").stdio(Stdio.VIRTIO).build();
        QemuTcg.Boot b = boot(spec, virtioSerial("line from the host\n", ""));
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Exited(0));
        assertThat(file("stdout.txt")).isEqualTo("out: line from the host\nisatty: 0\n");
        assertThat(file("stderr.txt")).isEqualTo("err: line from the host\n");
        assertThat(b.console()).doesNotContain("line from the host");
    }

    @Test
    void aSignalLineOnTheControlPortReachesTheApp() throws IOException {
        LaunchSpec spec = LaunchSpec.builder().args("wait").stdio(Stdio.VIRTIO).build();
        QemuTcg.Boot b = boot(spec, virtioSerial("", "no such command\n" + InitProtocol.signalCommand(15)));
        assertThat(b.finalStatus()).isEqualTo(new InitStatus.Signaled(15));
    }

    @Test
    void portsThatNeverAppearAreAStartFailureNamingThem() throws IOException {
        LaunchSpec spec = LaunchSpec.builder().args("stdio").stdio(Stdio.VIRTIO).build();
        QemuTcg.Boot b = boot(spec, List.of("-machine", "acpi=off"));
        assertThat(b.finalStatus()).isInstanceOf(InitStatus.StartFailed.class);
        assertThat(((InitStatus.StartFailed) b.finalStatus()).message())
                .contains("virtio console ports not found", String.join(" ", InitProtocol.STDIN_PORT_NAME,
                        InitProtocol.STDOUT_PORT_NAME, InitProtocol.STDERR_PORT_NAME, InitProtocol.CONTROL_PORT_NAME));
    }
}
