package dev.arrow.cli;

import dev.arrow.Arrow;
import dev.arrow.ArrowException;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.ArrowTemplate;
import dev.arrow.Input;
import dev.arrow.Output;
import dev.arrow.config.ArrowSpec;
import dev.arrow.config.ByteSizes;
import dev.arrow.config.Durations;
import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.config.Rlimit;
import dev.arrow.config.SizeUnit;
import dev.arrow.spi.ArrowLauncher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code arrow run}: runs one arrow with this command's stdio and ends with its exit value. Every setting of
 * {@link Arrow} has an option; {@code --spec FILE} starts from a JSON spec, which the options then change.
 * Options end at BINARY (or at {@code --}): what follows is the program's.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = ArrowCli.Version.class,
        description = {"Runs BINARY (a statically linked x86-64 Linux program) in its own KVM microVM, with this"
                + " command's stdin, stdout and stderr, and exits with its exit value.",
                "The guest's environment is only what -e and --env-file give. Ctrl-C or SIGTERM asks the program to"
                + " stop (SIGTERM in the guest) and stops the VM after the grace period; a second one stops it at once."},
        footer = {"", "-p listens on 127.0.0.1 unless ADDRESS is given (0.0.0.0: every interface); -p,"
                + " --allow-host-loopback and --capture imply --net user.",
                "SIZE: 64MiB, 1GiB...; DURATION: 30s, 500ms, 1h30m...",
                "arrow run SPEC.json (a single argument ending in .json) is the same as arrow run --spec SPEC.json."})
final class RunCommand implements Callable<Integer> {

    @Spec
    CommandSpec command;

    @Option(names = "--spec", paramLabel = "FILE", description = "start from this JSON spec (then give no BINARY)")
    Path specFile;

    @Option(names = {"-m", "--memory"}, paramLabel = "SIZE", description = "guest RAM (default: 128MiB or what the files need)")
    String memory;

    @Option(names = "--cpus", paramLabel = "N", description = "number of vCPUs (default 1)")
    String cpus;

    @Option(names = {"-e", "--env"}, paramLabel = "NAME=VALUE", description = "set an environment variable (repeatable)")
    List<String> env = new ArrayList<>();

    @Option(names = "--env-file", paramLabel = "FILE", description = "read NAME=VALUE lines (# comments) from FILE (repeatable)")
    List<Path> envFiles = new ArrayList<>();

    @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "the program's working directory in the guest (default /)")
    String workdir;

    @Option(names = {"-u", "--user"}, paramLabel = "UID[:GID]", description = "user and group ids in the guest (default 0:0; GID defaults to UID)")
    String user;

    @Option(names = "--hostname", paramLabel = "NAME", description = "the guest's hostname (default arrow)")
    String hostname;

    @Option(names = {"-v", "--file"}, paramLabel = "HOST:GUEST[:MODE][:rw]",
            description = "give the guest a host file, MODE in octal (default: the host file's); from 1 MiB it is mapped"
                    + " read-only, :rw makes it a private copy the app may change (repeatable)")
    List<String> files = new ArrayList<>();

    @Option(names = "--copy-out", paramLabel = "GUEST:HOST",
            description = "when the program has ended, copy the guest file or directory GUEST to HOST (repeatable;"
                    + " a copy that fails makes the exit status 1 if the program's was 0)")
    List<String> copyOuts = new ArrayList<>();

    @Option(names = "--copy-out-limit", paramLabel = "SIZE",
            description = "the most file content all --copy-out paths bring back together (default 256MiB)")
    String copyOutLimit;

    @Option(names = "--rlimit", paramLabel = "NAME=SOFT[:HARD]",
            description = "limit a resource, e.g. nofile=1024:4096 or core=0 (repeatable)")
    List<String> rlimits = new ArrayList<>();

    @Option(names = "--kernel", paramLabel = "FILE", description = "boot this kernel (vmlinux) instead of Arrow's")
    Path kernel;

    @Option(names = "--timeout", paramLabel = "DURATION", description = "stop the VM when the program runs longer (exit 124)")
    String timeout;

    @Option(names = "--grace-period", paramLabel = "DURATION",
            description = "how long the program has to stop after Ctrl-C or SIGTERM (default 10s)")
    String gracePeriod;

    @Option(names = "--net", paramLabel = "MODE", description = "none (default), user or tap:NAME")
    String net;

    @Option(names = {"-p", "--publish", "--forward"}, paramLabel = "[ADDR:]HOST:GUEST[/udp]",
            description = "forward a host port to a guest port (repeatable)")
    List<String> forwards = new ArrayList<>();

    @Option(names = "--allow-host-loopback", description = "let the guest reach the host's 127.0.0.1 at 10.0.2.2")
    boolean hostLoopback;

    @Option(names = "--capture", paramLabel = "FILE", description = "write the guest's network traffic to FILE (pcap)")
    Path capture;

    @Option(names = "--clones", paramLabel = "N",
            description = "boot once, freeze that boot as a template and run the program N times as clones of it,"
                    + " one after another (stdin is not read); exits with the first status that is not 0")
    Integer clones;

    @Option(names = {"--debug-console", "--debug"}, description = "log the guest kernel's console (boot messages, panics)")
    boolean debugConsole;

    @Parameters(index = "0", arity = "0..1", paramLabel = "BINARY", description = "the program to run")
    Path binary;

    @Parameters(index = "1..*", paramLabel = "ARGS", description = "its arguments")
    List<String> args = new ArrayList<>();

    private final ArrowLauncher launcher;
    private final InputStream stdin;
    private final PrintStream err;

    /**
     * @param launcher the backend to run on, null for the one on the class path
     * @param stdin    copied to the program's stdin
     * @param err      where this command's own messages go
     */
    RunCommand(ArrowLauncher launcher, InputStream stdin, PrintStream err) {
        this.launcher = launcher;
        this.stdin = stdin;
        this.err = err;
    }

    @Override
    public Integer call() throws InterruptedException {
        Arrow arrow = arrow();
        arrow.stdout(Output.inherit()).stderr(Output.inherit()).stdin(Input.pipe());
        ArrowSpec spec = null;
        if (clones != null && clones < 1) {
            throw new ParameterException(command.commandLine(), "--clones must be at least 1, not " + clones);
        }
        if (clones != null && !copyOuts.isEmpty()) {
            throw new ParameterException(command.commandLine(), "--copy-out is for a single run, not --clones");
        }
        try (GuestSignals signals = new GuestSignals(err, gracePeriod()).install()) {
            spec = arrow.spec();
            if (clones != null) {
                return runClones(arrow.stdin(Input.empty()), signals);
            }
            try (ArrowProcess p = arrow.start()) {
                signals.attach(p);
                reportChosenPorts(p, err);
                copyInBackground(stdin, p.getOutputStream());
                int code = p.waitFor() & 0xFF; // Arrow's own outcomes lie above 255; a process status is a byte
                ArrowOutcome outcome = p.outcome().join();
                if (!(outcome instanceof ArrowOutcome.Exited)) {
                    err.println("arrow: " + outcome);
                }
                return copyOut(p) || code != 0 ? code : 1;
            }
        } catch (ArrowException e) {
            err.println("arrow: " + e.getMessage());
            return ExitCodes.of(e, spec);
        }
    }

    /**
     * {@code --clones N}: one template, then N clones one after another (each reuses the VM of the one before);
     * stops early after a signal. Returns the first status that is not 0, else 0; says on stderr how long the
     * template's boot and the clones took.
     */
    private int runClones(Arrow arrow, GuestSignals signals) throws InterruptedException {
        long t0 = System.nanoTime();
        try (ArrowTemplate template = arrow.template()) {
            long booted = System.nanoTime();
            int status = 0;
            long[] runs = new long[clones];
            int ran = 0;
            while (ran < clones && !signals.anyReceived()) {
                long start = System.nanoTime();
                try (ArrowProcess p = template.start()) {
                    signals.attach(p);
                    reportChosenPorts(p, err);
                    int code = p.waitFor() & 0xFF;
                    ArrowOutcome outcome = p.outcome().join();
                    if (!(outcome instanceof ArrowOutcome.Exited)) {
                        err.println("arrow: clone " + (ran + 1) + ": " + outcome);
                    }
                    if (status == 0) {
                        status = code;
                    }
                }
                runs[ran++] = System.nanoTime() - start;
            }
            Arrays.sort(runs, 0, ran);
            err.printf("arrow: template booted in %.1f ms; %d clone(s), start to end median %.1f ms%n",
                    (booted - t0) / 1e6, ran, ran == 0 ? 0.0 : runs[ran / 2] / 1e6);
            return status;
        }
    }

    /**
     * The arrow the options describe (not yet validated: {@link Arrow#spec()} does that).
     *
     * @throws ParameterException for a bad option value or an unreadable or invalid spec file
     */
    Arrow arrow() {
        try {
            return build();
        } catch (IllegalArgumentException e) { // SpecException too: the spec file is invalid
            throw new ParameterException(command.commandLine(), e.getMessage(), e);
        }
    }

    private Arrow build() {
        Path json = specFile;
        if (json == null && binary != null && args.isEmpty() && binary.toString().endsWith(".json")) {
            json = binary; // the form arrow run SPEC.json
        } else if (json != null && binary != null) {
            throw new IllegalArgumentException("--spec names the binary and its arguments: give no BINARY with it");
        }
        if (json == null && binary == null) {
            throw new IllegalArgumentException("no binary given");
        }
        ArrowSpec base = json != null ? OptionValues.specFile(json) : null;
        Arrow arrow = base != null ? Arrow.from(base) : Arrow.of(binary).args(args);
        if (launcher != null) {
            arrow.launcher(launcher);
        }
        for (Path file : envFiles) {
            arrow.env(OptionValues.envFile(file));
        }
        for (String e : env) {
            Map.Entry<String, String> variable = OptionValues.env(e);
            arrow.env(variable.getKey(), variable.getValue());
        }
        if (memory != null) {
            arrow.memory(ByteSizes.parse(memory), SizeUnit.B);
        }
        if (cpus != null) {
            arrow.cpus(OptionValues.integer("--cpus", cpus));
        }
        if (workdir != null) {
            arrow.workingDirectory(workdir);
        }
        if (user != null) {
            OptionValues.Ids ids = OptionValues.user(user);
            arrow.user(ids.uid(), ids.gid());
        }
        if (hostname != null) {
            arrow.hostname(hostname);
        }
        for (String f : files) {
            arrow.file(OptionValues.file(f));
        }
        for (String c : copyOuts) {
            arrow.copyOutOnExit(OptionValues.copyOut(c).guestPath());
        }
        if (copyOutLimit != null) {
            arrow.copyOutOnExitLimit(ByteSizes.parse(copyOutLimit), SizeUnit.B);
        }
        for (String r : rlimits) {
            Rlimit limit = OptionValues.rlimit(r);
            arrow.rlimit(limit.resource(), limit.soft(), limit.hard());
        }
        if (kernel != null) {
            arrow.kernel(kernel);
        }
        if (timeout != null) {
            arrow.timeout(Durations.parse(timeout));
        }
        arrow.gracePeriod(gracePeriod());
        network(base != null ? base.net() : Net.none()).ifPresent(arrow::net);
        return arrow.debugConsole(debugConsole || (base != null && base.debugConsole()));
    }

    /** The network the options ask for on top of {@code base}, or empty to leave it. */
    private Optional<Net> network(Net base) {
        Net chosen = net != null ? OptionValues.net(net) : null;
        if (forwards.isEmpty() && !hostLoopback && capture == null) {
            return Optional.ofNullable(chosen);
        }
        String needs = !forwards.isEmpty() ? "-p/--publish" : hostLoopback ? "--allow-host-loopback" : "--capture";
        if (chosen != null && !(chosen instanceof Net.User)) {
            throw new IllegalArgumentException(needs + " needs user-mode networking, not --net " + chosen.mode());
        }
        Net.User user = chosen != null ? (Net.User) chosen : base instanceof Net.User u ? u : Net.user();
        for (String f : forwards) {
            PortForward forward = OptionValues.forward(f);
            user = user.with(forward);
        }
        if (hostLoopback) {
            user = user.allowHostLoopback();
        }
        if (capture != null) {
            user = user.capture(capture);
        }
        return Optional.of(user);
    }

    private Duration gracePeriod() {
        return gracePeriod != null ? Durations.parse(gracePeriod) : Arrow.DEFAULT_GRACE_PERIOD;
    }

    /** The {@code --copy-out} copies, after the program ended; says on stderr which failed. Whether all were made. */
    private boolean copyOut(ArrowProcess p) {
        boolean all = true;
        for (String value : copyOuts) {
            OptionValues.CopyOut c = OptionValues.copyOut(value);
            try {
                p.copyFileFromGuest(c.guestPath(), c.hostPath(), Long.MAX_VALUE);
            } catch (IOException | RuntimeException e) {
                err.println("arrow: --copy-out " + value + ": " + e.getMessage());
                all = false;
            }
        }
        return all;
    }

    /** Names the host port chosen for each forward that asked for a free one ({@code --publish 0:80}). */
    static void reportChosenPorts(ArrowProcess p, PrintStream err) {
        if (p.spec().net() instanceof Net.User user) {
            for (PortForward f : user.forwards()) {
                if (f.hostPort() == PortForward.ANY_FREE_PORT) {
                    int port = f.protocol() == PortForward.Protocol.UDP ? p.hostUdpPort(f.guestPort()) : p.hostPort(f.guestPort());
                    err.println("arrow: " + f.protocol().jsonName() + " " + f.hostAddress() + ":" + port + " -> guest port "
                            + f.guestPort());
                }
            }
        }
    }

    /** Copies {@code in} to the app's stdin until either ends; closing the app's stdin ends its input. */
    private static void copyInBackground(InputStream in, OutputStream appStdin) {
        Thread t = new Thread(() -> {
            try (appStdin) {
                in.transferTo(appStdin);
            } catch (IOException e) {
                // the app ended or closed its stdin: nothing more to copy
            }
        }, "arrow-cli-stdin");
        t.setDaemon(true);
        t.start();
    }
}
