package dev.arrow.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.BackendUnavailableException;
import dev.arrow.GuestFailureException;
import dev.arrow.HostSupport;
import dev.arrow.InvalidBinaryException;
import dev.arrow.InvalidKernelException;
import dev.arrow.InvalidSpecException;
import dev.arrow.KernelNotFoundException;
import dev.arrow.KvmPermissionException;
import dev.arrow.KvmUnavailableException;
import dev.arrow.NetworkSetupException;
import dev.arrow.NoHardwareVirtualizationException;
import dev.arrow.VmmException;
import dev.arrow.config.SpecProblem;
import dev.arrow.spi.ArrowLauncher;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 1: the {@code arrow} command's help, version, exit statuses (one per class of error) and {@code doctor}. */
class ArrowCliTest {
    @TempDir
    Path tmp;

    /** What one command line printed and returned. */
    record Result(int status, String out, String err) {
    }

    static Result execute(ArrowLauncher launcher, Supplier<HostSupport> probe, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = ArrowCli.execute(args, launcher, probe, new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Result execute(String... args) {
        return execute(null, Arrow::hostSupport, args);
    }

    Path binary() throws Exception {
        return Files.write(tmp.resolve("app"), new byte[] {0x7f, 'E', 'L', 'F'});
    }

    @Test
    void helpAndVersionGoToStdoutAndExitZero() {
        for (String[] line : List.of(new String[] {"--help"}, new String[] {"-h"}, new String[] {"run", "--help"},
                new String[] {"run", "-h"}, new String[] {"doctor", "--help"})) {
            Result r = execute(line);
            assertThat(r.status()).as(String.join(" ", line)).isZero();
            assertThat(r.out()).as(String.join(" ", line)).startsWith("Usage: arrow");
            assertThat(r.err()).isEmpty();
        }
        assertThat(execute("run", "--help").out()).contains("--grace-period=DURATION", "--env-file=FILE",
                "Exit status:", "69 ", "125 ", "126 ", "127 ");
        Result version = execute("--version");
        assertThat(version.status()).isZero();
        assertThat(version.out()).matches("arrow \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\n");
    }

    @Test
    void usageErrorsExitWithTwoAndPrintTheProblemAndTheSynopsisToStderr() {
        for (String[] line : List.of(new String[] {}, new String[] {"launch"}, new String[] {"run"},
                new String[] {"run", "--cpus"}, new String[] {"run", "--frobnicate", "x"}, new String[] {"doctor", "x"})) {
            Result r = execute(line);
            assertThat(r.status()).as(String.join(" ", line)).isEqualTo(ExitCodes.USAGE);
            assertThat(r.out()).isEmpty();
            assertThat(r.err()).startsWith("arrow: ").contains("Usage: arrow");
        }
        assertThat(execute("run", "--cpus").err()).startsWith("arrow: Missing required parameter for option '--cpus' (N)\n"
                + "Usage: arrow run ").endsWith("'arrow run --help' says more.\n");
    }

    @Test
    void copyOutCopiesDeclaredPathsAfterTheEndAndAFailedCopyMakesTheStatusOne() throws Exception {
        String bin = binary().toString();
        ScriptedLauncher done = ScriptedLauncher.endingWith("", new ArrowOutcome.Exited(0));
        done.guestFiles = Map.of("/out/result.txt", "42\n".getBytes(StandardCharsets.UTF_8));
        Path result = tmp.resolve("result.txt");
        Result r = execute(done, Arrow::hostSupport, "run", "--copy-out", "/out/result.txt:" + result,
                "--copy-out-limit", "1MiB", bin);
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(result).hasContent("42");
        assertThat(done.launched.copyOutOnExit()).containsExactly("/out/result.txt");
        assertThat(done.launched.copyOutMaxBytes()).isEqualTo(1L << 20);

        Result missing = execute(done, Arrow::hostSupport, "run", "--copy-out", "/nothing:" + tmp.resolve("n"), bin);
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.err()).contains("arrow: --copy-out /nothing:").contains("/nothing");
        assertThat(execute(done, Arrow::hostSupport, "run", "--copy-out", "out:x", bin).status()).isEqualTo(ExitCodes.USAGE);
        assertThat(execute(done, Arrow::hostSupport, "run", "--copy-out", "/o:x", "--clones", "2", bin).err())
                .contains("--copy-out is for a single run, not --clones");
    }

    @Test
    void clonesRunOneTemplateNTimesAndTheFirstNonZeroStatusIsTheCommands() throws Exception {
        String bin = binary().toString();
        ScriptedLauncher hello = ScriptedLauncher.endingWith("hi\n", new ArrowOutcome.Exited(0));
        Result r = execute(hello, Arrow::hostSupport, "run", "--clones", "3", bin);
        assertThat(r.status()).isZero();
        assertThat(r.err()).contains("3 clone(s), start to end median");
        assertThat(hello.templates).hasValue(1);
        assertThat(hello.clones).hasValue(3);

        ScriptedLauncher failing = ScriptedLauncher.endingWith("", new ArrowOutcome.Exited(4));
        assertThat(execute(failing, Arrow::hostSupport, "run", "--clones=2", bin).status()).isEqualTo(4);
        assertThat(failing.clones).hasValue(2);

        Result none = execute(hello, Arrow::hostSupport, "run", "--clones", "0", bin);
        assertThat(none.status()).isEqualTo(ExitCodes.USAGE);
        assertThat(none.err()).contains("--clones must be at least 1, not 0");
    }

    @Test
    void theProgramsExitValueIsTheCommandsAndItsOutputIsTheCommands() throws Exception {
        String bin = binary().toString();
        assertThat(execute(ScriptedLauncher.endingWith("", new ArrowOutcome.Exited(0)), Arrow::hostSupport, "run", bin)
                .status()).isZero();
        assertThat(execute(ScriptedLauncher.endingWith("", new ArrowOutcome.Exited(3)), Arrow::hostSupport, "run", bin)
                .status()).isEqualTo(3);
        Result signaled = execute(ScriptedLauncher.endingWith("", new ArrowOutcome.Signaled(9)), Arrow::hostSupport, "run", bin);
        assertThat(signaled.status()).isEqualTo(137);
        assertThat(signaled.err()).startsWith("arrow: Signaled[signal=9]");
        Result notFound = execute(ScriptedLauncher.endingWith("", new ArrowOutcome.StartFailed(
                ArrowOutcome.StartFailed.Kind.NOT_FOUND, "no such file")), Arrow::hostSupport, "run", bin);
        assertThat(notFound.status()).isEqualTo(127);
    }

    @Test
    void eachClassOfStartErrorHasItsStatus() throws Exception {
        String bin = binary().toString();
        assertThat(failing(() -> new InvalidSpecException(List.of(new SpecProblem("$.memory", "too small"))), bin))
                .isEqualTo(ExitCodes.USAGE);
        assertThat(failing(() -> new InvalidBinaryException("not static"), bin)).isEqualTo(ExitCodes.CANNOT_RUN);
        assertThat(failing(() -> KvmUnavailableException.missing(Path.of("/dev/kvm")), bin)).isEqualTo(ExitCodes.HOST_NOT_READY);
        assertThat(failing(() -> KvmPermissionException.denied(Path.of("/dev/kvm"), "u"), bin)).isEqualTo(ExitCodes.HOST_NOT_READY);
        assertThat(failing(NoHardwareVirtualizationException::pvm, bin)).isEqualTo(ExitCodes.HOST_NOT_READY);
        assertThat(failing(() -> new BackendUnavailableException("none"), bin)).isEqualTo(ExitCodes.HOST_NOT_READY);
        assertThat(failing(() -> new KernelNotFoundException("no kernel"), bin)).isEqualTo(ExitCodes.HOST_NOT_READY);
        assertThat(failing(() -> new InvalidKernelException("bad kernel", new RuntimeException("header")), bin)).isEqualTo(ExitCodes.ARROW_FAILED);
        assertThat(failing(() -> new VmmException("KVM_RUN failed"), bin)).isEqualTo(ExitCodes.ARROW_FAILED);
        assertThat(failing(() -> new GuestFailureException("panic"), bin)).isEqualTo(ExitCodes.ARROW_FAILED);
        assertThat(failing(() -> new NetworkSetupException(NetworkSetupException.Reason.PORT_IN_USE, "taken"), bin))
                .isEqualTo(ExitCodes.ARROW_FAILED);
        Result r = execute(ScriptedLauncher.failingWith(() -> new VmmException("KVM_RUN failed: EFAULT")),
                Arrow::hostSupport, "run", bin);
        assertThat(r.err()).isEqualTo("arrow: KVM_RUN failed: EFAULT\n");
    }

    private static int failing(Supplier<RuntimeException> failure, String bin) {
        return execute(ScriptedLauncher.failingWith(failure), Arrow::hostSupport, "run", bin).status();
    }

    @Test
    void errorsFoundBeforeTheBackendHaveTheirStatusToo() throws Exception {
        Result missing = execute("run", tmp.resolve("nope").toString());
        assertThat(missing.status()).isEqualTo(ExitCodes.NOT_FOUND);
        assertThat(missing.err()).startsWith("arrow: binary " + tmp.resolve("nope") + " not found");
        Result badSpec = execute("run", "--cpus", "0", binary().toString());
        assertThat(badSpec.status()).isEqualTo(ExitCodes.USAGE);
        assertThat(badSpec.err()).startsWith("arrow: invalid arrow spec: $.cpus");
        Result badForward = execute("run", "--forward", "localhost:8080:80", binary().toString());
        assertThat(badForward.status()).isEqualTo(ExitCodes.USAGE);
        assertThat(badForward.err()).startsWith("arrow: ")
                .contains("$.net.forwards[0].hostAddress: \"localhost\" is not an IPv4 address in dotted form",
                        "use \"127.0.0.1\" (this host only, the default), \"0.0.0.0\" (all interfaces)");
        Result missingKernel = execute("run", "--kernel", tmp.resolve("vmlinux").toString(), binary().toString());
        assertThat(missingKernel.status()).isEqualTo(ExitCodes.USAGE);
        assertThat(missingKernel.err()).startsWith("arrow: kernel " + tmp.resolve("vmlinux") + " not found");
    }

    @Test
    void aDynamicBinaryCannotBeRunAndTheMessageSaysHowToLinkIt() {
        Path ls = Path.of("/bin/ls");
        assumeTrue(Files.isRegularFile(ls), "/bin/ls missing: no dynamic program");
        // the real backend: its binary check comes before it looks at the host
        Result r = execute("run", ls.toString());
        assertThat(r.status()).isEqualTo(ExitCodes.CANNOT_RUN);
        assertThat(r.err()).startsWith("arrow: ").contains("/bin/ls", "dynamically linked", "-static");
    }

    @Test
    void doctorPrintsTheHostsSupportToStdoutAndExitsZeroOnlyWhenReady() {
        HostSupport ready = new HostSupport(Optional.of("b.Kvm"), HostSupport.Kvm.HARDWARE_AMD, true,
                Optional.of(Path.of("/k/vmlinux")), Optional.empty(), List.of(), List.of("passt not found: install passt"));
        Result r = execute(null, () -> ready, "doctor");
        assertThat(r.status()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).contains("KVM:           hardware KVM (AMD-V, kvm_amd)", "boots Linux:   yes",
                "kernel:        /k/vmlinux", "passt:         not found", "limitations:\n  - passt not found: install passt",
                "ready: this host can run arrows").doesNotContain("problems:");
        HostSupport pvm = new HostSupport(Optional.of("b.Kvm"), HostSupport.Kvm.PVM, true, Optional.empty(),
                Optional.of(Path.of("/usr/bin/passt")), List.of("this host's KVM (PVM) cannot boot Linux", "no kernel"), List.of());
        Result notReady = execute(null, () -> pvm, "doctor");
        assertThat(notReady.status()).isEqualTo(ExitCodes.HOST_NOT_READY);
        assertThat(notReady.out()).contains("boots Linux:   no", "problems:\n  - this host's KVM (PVM) cannot boot Linux\n"
                + "  - no kernel\n", "not ready: fix the problems above");
    }

    @Test
    void doctorOnThisHostAgreesWithArrowHostSupport() {
        HostSupport support = Arrow.hostSupport();
        Result r = execute("doctor");
        assertThat(r.status()).isEqualTo(support.isReady() ? 0 : ExitCodes.HOST_NOT_READY);
        support.problems().forEach(p -> assertThat(r.out()).contains("  - " + p));
    }

    @Test
    void theGracePeriodOptionIsTheProcesssAndNamedWhenASignalArrives() throws Exception {
        ScriptedLauncher launcher = ScriptedLauncher.ignoringStop("");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        GuestSignals signals = new GuestSignals(new PrintStream(err, true, StandardCharsets.UTF_8), Duration.ofMillis(200));
        try (var p = RunCommandTest.arrow("--grace-period", "200ms", binary().toString()).launcher(launcher).start()) {
            signals.attach(p);
            long t0 = System.nanoTime();
            signals.received("SIGINT", 130);
            assertThat(p.waitFor()).as("Destroyed: 256 + 137").isEqualTo(393);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
        }
        assertThat(launcher.stops.get()).isEqualTo(1);
        assertThat(launcher.kills.get()).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("arrow: SIGINT: asking the program to stop (SIGTERM);"
                + " the VM is stopped in 200ms unless it ends; again to stop it now");
    }
}
