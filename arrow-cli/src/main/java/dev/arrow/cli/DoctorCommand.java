package dev.arrow.cli;

import dev.arrow.HostSupport;
import picocli.CommandLine.Command;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/** {@code arrow doctor}: prints what this host offers for running arrows ({@link dev.arrow.Arrow#hostSupport()}). */
@Command(name = "doctor", mixinStandardHelpOptions = true, versionProvider = ArrowCli.Version.class,
        description = {"Says whether this host can run arrows: its KVM (kind, permission), the guest kernel, passt"
                + " (for --net user); each problem with its fix. Boots nothing."})
final class DoctorCommand implements Callable<Integer> {

    private final Supplier<HostSupport> probe;
    private final PrintStream out;

    /**
     * @param probe asks the backend about the host
     * @param out   where the report goes
     */
    DoctorCommand(Supplier<HostSupport> probe, PrintStream out) {
        this.probe = probe;
        this.out = out;
    }

    @Override
    public Integer call() {
        HostSupport support = probe.get();
        out.println("backend:       " + support.backend().orElse("none"));
        out.println("KVM:           " + support.kvm().description());
        out.println("permission:    " + (support.kvmPermitted() ? "this user may open /dev/kvm"
                : support.kvmPresent() ? "this user may not open /dev/kvm" : "-"));
        out.println("boots Linux:   " + (support.canBootLinux() ? "yes" : "no"));
        out.println("kernel:        " + where(support.kernel()));
        out.println("passt:         " + where(support.passt()));
        list("problems:", support.problems());
        list("limitations:", support.limitations());
        out.println(support.isReady() ? "ready: this host can run arrows" : "not ready: fix the problems above");
        return support.isReady() ? 0 : ExitCodes.HOST_NOT_READY;
    }

    private static String where(Optional<Path> path) {
        return path.map(Path::toString).orElse("not found");
    }

    private void list(String heading, List<String> sentences) {
        if (!sentences.isEmpty()) {
            out.println(heading);
            sentences.forEach(s -> out.println("  - " + s));
        }
    }
}
