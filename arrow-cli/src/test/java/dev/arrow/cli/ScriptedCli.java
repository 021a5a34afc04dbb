package dev.arrow.cli;

import dev.arrow.Arrow;

/**
 * {@code arrow run BINARY} over a {@link ScriptedLauncher} that prints "ready" and runs until stopped (first
 * argument {@code stops}) or until killed ({@code ignores}), for {@link SignalForwardingTest}'s child JVM.
 */
public final class ScriptedCli {
    private ScriptedCli() {
    }

    public static void main(String[] args) {
        ScriptedLauncher launcher = args[0].equals("stops") ? ScriptedLauncher.runningUntilStopped("ready\n")
                : ScriptedLauncher.ignoringStop("ready\n");
        System.exit(ArrowCli.execute(new String[] {"run", args[1]}, launcher, Arrow::hostSupport, System.in,
                System.out, System.err));
    }
}
