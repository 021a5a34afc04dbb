package dev.arrow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assumptions.assumeFalse;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: real signals to a JVM running {@code arrow run} (on a scripted backend) reach the arrow as asked. */
class SignalForwardingTest {
    @TempDir
    Path tmp;

    private String binary() throws Exception {
        return Files.write(tmp.resolve("app"), new byte[] {0x7f, 'E', 'L', 'F'}).toString();
    }

    /**
     * Whether this process ignores SIGINT ({@code SigIgn} in /proc/self/status): a shell starts background jobs so, and a
     * child JVM inherits it and never sees the test's Ctrl-C (POSIX keeps ignored signals across exec).
     */
    static String sigIgn() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("SigIgn:")).findFirst().orElse("");
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    static boolean sigintIgnored() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << (2 - 1))) != 0;
            }
        }
        return false;
    }

    @Test
    void ctrlCAsksTheProgramToStopAndTheCommandEndsWithItsExitValue() throws Exception {
        assumeFalse(sigintIgnored(), () -> "this process ignores SIGINT (" + sigIgn() + ") (started in the background by a non-interactive shell)"
                + " and its child JVM would too: run the tests in the foreground");
        try (ChildJvm child = ChildJvm.start(ScriptedCli.class, "stops", binary())) {
            assertThat(child.nextLine()).isEqualTo("ready");
            child.signal("INT");
            assertThat(child.exitStatus(30)).isEqualTo(143);
            assertThat(child.stderr.readLine()).startsWith("arrow: SIGINT: asking the program to stop (SIGTERM);"
                    + " the VM is stopped in 10s unless it ends");
        }
    }

    @Test
    void aSecondSigtermStopsAProgramThatIgnoresTheFirst() throws Exception {
        try (ChildJvm child = ChildJvm.start(ScriptedCli.class, "ignores", binary())) {
            assertThat(child.nextLine()).isEqualTo("ready");
            child.signal("TERM");
            assertThat(child.stderr.readLine()).startsWith("arrow: SIGTERM: asking the program to stop");
            child.signal("TERM");
            assertThat(child.exitStatus(30)).isEqualTo(137);
            assertThat(child.stderr.readLine()).isEqualTo("arrow: SIGTERM again: stopping the VM now");
        }
    }
}
