package dev.arrow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.Arrow;
import dev.arrow.ArrowProcess;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: a first signal asks the program to stop, a second stops the VM, one before the start waits for it. */
class GuestSignalsTest {
    @TempDir
    Path tmp;

    private final ByteArrayOutputStream messages = new ByteArrayOutputStream();
    private final GuestSignals signals = new GuestSignals(new PrintStream(messages, true, StandardCharsets.UTF_8),
            Duration.ofMinutes(1));

    private ArrowProcess start(ScriptedLauncher launcher) throws Exception {
        Path bin = Files.write(tmp.resolve("app"), new byte[] {0x7f, 'E', 'L', 'F'});
        return Arrow.of(bin).gracePeriod(Duration.ofMinutes(1)).launcher(launcher).start();
    }

    @Test
    void theFirstSignalAsksTheProgramToStopAndItsExitIsTheCommands() throws Exception {
        ScriptedLauncher launcher = ScriptedLauncher.runningUntilStopped("");
        try (ArrowProcess p = start(launcher)) {
            signals.attach(p);
            signals.received("SIGTERM", 143);
            assertThat(p.waitFor()).isEqualTo(143);
        }
        assertThat(launcher.stops.get()).isEqualTo(1);
        assertThat(launcher.kills.get()).isZero();
        assertThat(messages.toString(StandardCharsets.UTF_8)).startsWith("arrow: SIGTERM: asking the program to stop (SIGTERM);"
                + " the VM is stopped in 1m unless it ends");
    }

    @Test
    void aSecondSignalStopsTheVmAtOnce() throws Exception {
        ScriptedLauncher launcher = ScriptedLauncher.ignoringStop("");
        try (ArrowProcess p = start(launcher)) {
            signals.attach(p);
            signals.received("SIGINT", 130);
            assertThat(p.isAlive()).isTrue();
            signals.received("SIGINT", 130);
            assertThat(p.waitFor()).as("Destroyed: 256 + 137").isEqualTo(393);
        }
        assertThat(launcher.stops.get()).isEqualTo(1);
        assertThat(launcher.kills.get()).isEqualTo(1);
        assertThat(messages.toString(StandardCharsets.UTF_8)).contains("arrow: SIGINT again: stopping the VM now");
    }

    @Test
    void aSignalBeforeTheArrowStartedReachesItOnceItHas() throws Exception {
        ScriptedLauncher launcher = ScriptedLauncher.runningUntilStopped("");
        signals.received("SIGINT", 130);
        try (ArrowProcess p = start(launcher)) {
            signals.attach(p);
            assertThat(p.waitFor()).isEqualTo(143);
        }
        assertThat(launcher.stops.get()).isEqualTo(1);
    }
}
