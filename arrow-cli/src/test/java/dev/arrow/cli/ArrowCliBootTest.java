package dev.arrow.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.testing.BootTest;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Tier 4: README's main job, {@code arrow run} of the hello sample, boots it through our VMM; Ctrl-C to the command
 * ends a real guest program through its SIGTERM handler.
 */
@BootTest
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ArrowCliBootTest {
    private static final Path BUSYBOX = Path.of("/bin/busybox");

    /** The samples module's hello program: arrow-cli/target/test-classes/../../../samples/target/bin/hello. */
    private static Path hello() throws Exception {
        Path testClasses = Path.of(ArrowCliBootTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path hello = testClasses.getParent().getParent().resolveSibling("samples").resolve("target/bin/hello");
        assumeTrue(Files.isExecutable(hello), hello + " is missing: build the samples module with Maven (needs musl-tools)");
        return hello;
    }

    /** What {@code arrow ARGS} printed and its status: the program's output reaches this JVM's System.out. */
    private record Run(int status, String out, String err) {
    }

    private static Run arrow(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        int code;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            code = ArrowCli.execute(args, null, dev.arrow.Arrow::hostSupport, InputStream.nullInputStream(), stdout,
                    new PrintStream(err, true, StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
        }
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void arrowRunOfTheHelloSamplePrintsItsGreetingAndExitsZero() throws Exception {
        Run r = arrow("run", "--memory", "64MiB", "--env", "GREETING=hello", hello().toString(), "from", "Arrow");
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).matches("(?s)Hello from an arrow! \\(Linux 6\\.1\\.\\d+\\S* on x86_64\\)\n"
                + "arg 1: from\narg 2: Arrow\nGREETING=hello\n");
        assertThat(r.status()).isZero();
    }

    @Test
    void clonesRunTheHelloSampleThreeTimesFromOneBoot() throws Exception {
        Run r = arrow("run", "--clones", "3", "--memory", "64MiB", hello().toString(), "clone");
        assertThat(r.out()).matches("(?s)(Hello from an arrow! \\(Linux 6\\.1\\.\\d+\\S* on x86_64\\)\narg 1: clone\n){3}");
        assertThat(r.err()).contains("3 clone(s), start to end median");
        System.out.print(r.err());
        assertThat(r.status()).isZero();
    }

    @Test
    void ctrlCReachesTheProgramAsSigtermAndTheCommandEndsWithWhatItsHandlerChose() throws Exception {
        assumeTrue(Files.isExecutable(BUSYBOX), "no static busybox: install busybox-static (scripts/setup.sh)");
        // sh runs a trap after the foreground sleep ends: well within the grace period
        String script = "trap 'echo stopping; exit 3' TERM; echo ready; while :; do sleep 1; done";
        try (ChildJvm child = ChildJvm.start(ArrowCli.class, "run", "--memory", "64MiB", "--grace-period", "60s",
                BUSYBOX.toString(), "sh", "-c", script)) {
            assertThat(child.nextLine()).isEqualTo("ready");
            child.signal("INT");
            assertThat(child.nextLine()).isEqualTo("stopping");
            assertThat(child.exitStatus(120)).isEqualTo(3);
            assertThat(child.stderr.lines()).anySatisfy(line -> assertThat(line).startsWith(
                    "arrow: SIGINT: asking the program to stop (SIGTERM); the VM is stopped in 1m unless it ends"));
        }
    }
}
