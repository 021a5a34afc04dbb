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

/** Tier 4: README's main job, {@code arrow run} of the hello sample, boots it through our VMM. */
@BootTest
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ArrowCliBootTest {

    /** The samples module's hello program: arrow-cli/target/test-classes/../../../samples/target/bin/hello. */
    private static Path hello() throws Exception {
        Path testClasses = Path.of(ArrowCliBootTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path hello = testClasses.getParent().getParent().resolveSibling("samples").resolve("target/bin/hello");
        assumeTrue(Files.isExecutable(hello), hello + " is missing: build the samples module with Maven (needs musl-tools)");
        return hello;
    }

    @Test
    void arrowRunOfTheHelloSamplePrintsItsGreetingAndExitsZero() throws Exception {
        String[] args = {"run", "--memory", "64MiB", "--env", "GREETING=hello", hello().toString(), "from", "Arrow"};
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
        String printed = out.toString(StandardCharsets.UTF_8);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
        assertThat(printed).matches("(?s)Hello from an arrow! \\(Linux 6\\.1\\.\\d+\\S* on x86_64\\)\n"
                + "arg 1: from\narg 2: Arrow\nGREETING=hello\n");
        assertThat(code).isZero();
    }
}
