package dev.arrow.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.Arrow;
import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.MicroVmSession;
import dev.arrow.config.ArrowSpec;
import dev.arrow.config.ArrowSpecJson;
import dev.arrow.config.GuestFile;
import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.config.Rlimit;
import dev.arrow.config.RlimitResource;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Tier 1: the {@code arrow run} command line: options to a spec, and the errors a user sees. */
class RunCommandTest {
    @TempDir
    Path tmp;

    /** The spec {@code arrow run ARGS} describes; a bad value throws the ParameterException the user would see. */
    static ArrowSpec parse(String... args) {
        return arrow(args).spec();
    }

    static Arrow arrow(String... args) {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        CommandLine cli = ArrowCli.commandLine(null, Arrow::hostSupport, new ByteArrayInputStream(new byte[0]), sink, sink);
        List<String> line = new ArrayList<>(List.of("run"));
        line.addAll(List.of(args));
        cli.parseArgs(line.toArray(String[]::new));
        return ((RunCommand) cli.getSubcommands().get("run").getCommand()).arrow();
    }

    Path binary() throws Exception {
        // the spec checks only the path here; the ELF checks happen at start()
        Path bin = tmp.resolve("app");
        Files.write(bin, new byte[] {0x7f, 'E', 'L', 'F'});
        return bin;
    }

    @Test
    void everyOptionReachesTheSpec() throws Exception {
        String bin = binary().toString();
        Path conf = Files.writeString(tmp.resolve("app.conf"), "x=1\n");
        Path kernel = Files.writeString(tmp.resolve("vmlinux"), "k");
        Path pcap = tmp.resolve("g.pcap");
        ArrowSpec spec = parse("--memory", "96MiB", "--cpus", "2", "--env", "GREETING=hello", "--env", "EMPTY=",
                "--timeout", "30s", "--forward", "8080:80", "--forward", "5353:53/udp", "--workdir", "/srv",
                "--user", "1000:100", "--hostname", "box", "--file", conf + ":/etc/app.conf:0600",
                "--rlimit", "nofile=1024:4096", "--rlimit", "core=0", "--kernel", kernel.toString(),
                "--capture", pcap.toString(), "--grace-period", "2s", "--debug", bin, "a", "--b");
        assertThat(spec.binary()).isEqualTo(Path.of(bin));
        assertThat(spec.args()).containsExactly("a", "--b");
        assertThat(spec.env()).containsAllEntriesOf(Map.of("GREETING", "hello", "EMPTY", ""));
        assertThat(spec.memoryBytes()).isEqualTo(96L << 20);
        assertThat(spec.cpus()).isEqualTo(2);
        assertThat(spec.timeout()).contains(Duration.ofSeconds(30));
        assertThat(spec.debugConsole()).isTrue();
        assertThat(spec.workingDirectory()).isEqualTo("/srv");
        assertThat(spec.uid()).isEqualTo(1000);
        assertThat(spec.gid()).isEqualTo(100);
        assertThat(spec.hostname()).isEqualTo("box");
        assertThat(spec.files()).containsExactly(GuestFile.fromHost(conf, "/etc/app.conf").withMode(0600));
        assertThat(spec.rlimits()).containsEntry(RlimitResource.NOFILE, new Rlimit(RlimitResource.NOFILE, 1024, 4096))
                .containsEntry(RlimitResource.CORE, new Rlimit(RlimitResource.CORE, 0, 0));
        assertThat(spec.kernel()).contains(kernel);
        assertThat(spec.net()).isEqualTo(Net.user().with(PortForward.tcp(8080, 80)).with(PortForward.udp(5353, 53))
                .capture(pcap));
    }

    @Test
    void shortOptionsEqualsFormsAndTheDoubleDashAreConventional() throws Exception {
        String bin = binary().toString();
        ArrowSpec spec = parse("-m", "64MiB", "-e", "A=1", "-p", "8080:80", "-w", "/tmp", "-u", "7",
                "-v", binary() + ":/bin/tool", "--cpus=2", "--env=B=2", "--publish=9090:90", "--", bin, "-x", "--y");
        assertThat(spec.memoryBytes()).isEqualTo(64L << 20);
        assertThat(spec.env()).containsAllEntriesOf(Map.of("A", "1", "B", "2"));
        assertThat(spec.cpus()).isEqualTo(2);
        assertThat(spec.workingDirectory()).isEqualTo("/tmp");
        assertThat(spec.uid()).isEqualTo(7);
        assertThat(spec.gid()).as("GID defaults to UID").isEqualTo(7);
        assertThat(spec.files()).containsExactly(GuestFile.fromHost(binary(), "/bin/tool"));
        assertThat(((Net.User) spec.net()).forwards()).containsExactly(PortForward.tcp(8080, 80), PortForward.tcp(9090, 90));
        assertThat(spec.args()).containsExactly("-x", "--y");
        // options after BINARY are the program's
        assertThat(parse(bin, "-m", "1").args()).containsExactly("-m", "1");
        assertThat(parse(bin, "-m", "1").memoryGiven()).isFalse();
    }

    @Test
    void anEnvFileIsReadLiterallyAndEnvOptionsOverrideIt() throws Exception {
        Path file = Files.writeString(tmp.resolve("app.env"), "# settings\nA=from file\n\n  # indented comment\nB='q'\n");
        ArrowSpec spec = parse("--env-file", file.toString(), "-e", "A=from option", binary().toString());
        assertThat(spec.env()).containsExactly(Map.entry("A", "from option"), Map.entry("B", "'q'"));
        Path bad = Files.writeString(tmp.resolve("bad.env"), "A=1\nNOVALUE\n");
        assertThatThrownBy(() -> parse("--env-file", bad.toString(), binary().toString()))
                .hasMessage("--env-file " + bad + " line 2 wants NAME=VALUE, got 'NOVALUE'");
        assertThatThrownBy(() -> parse("--env-file", tmp.resolve("none.env").toString(), binary().toString()))
                .hasMessage("--env-file " + tmp.resolve("none.env") + " cannot be read: " + tmp.resolve("none.env")
                        + " does not exist");
    }

    @Test
    void forwardsListenOnTheLoopbackUnlessAnAddressIsGivenAndTheHostsLoopbackIsDeniedUnlessAllowed() throws Exception {
        String bin = binary().toString();
        Net.User net = (Net.User) parse("--forward", "8080:80", "--forward", "0.0.0.0:8443:443",
                "--forward", "192.0.2.7:5353:53/udp", bin).net();
        assertThat(net.forwards()).containsExactly(PortForward.tcp("127.0.0.1", 8080, 80),
                PortForward.tcp("0.0.0.0", 8443, 443), PortForward.udp("192.0.2.7", 5353, 53));
        assertThat(net.hostLoopback()).isFalse();
        assertThat(parse("--allow-host-loopback", bin).net()).isEqualTo(Net.user().allowHostLoopback());
        assertThat(parse("--net", "user", "--forward", "8080:80", "--allow-host-loopback", bin).net())
                .isEqualTo(Net.user().forward(8080, 80).allowHostLoopback());
    }

    @Test
    void networkModes() throws Exception {
        String bin = binary().toString();
        assertThat(parse(bin).net()).isEqualTo(Net.none());
        assertThat(parse("--net", "user", bin).net()).isEqualTo(Net.user());
        assertThat(parse("--net", "tap:tap0", bin).net()).isEqualTo(Net.tap("tap0"));
        assertThat(parse("--net", "none", bin).net()).isEqualTo(Net.none());
    }

    @Test
    void badOptionsSayWhatIsWrong() throws Exception {
        String bin = binary().toString();
        assertThatThrownBy(() -> parse("--cpus", "two", bin)).hasMessage("--cpus wants a number, got 'two'");
        assertThatThrownBy(() -> parse("--env", "NOVALUE", bin)).hasMessage("--env wants NAME=VALUE, got 'NOVALUE'");
        assertThatThrownBy(() -> parse("--memory")).hasMessage("Missing required parameter for option '--memory' (SIZE)");
        assertThatThrownBy(() -> parse("--frobnicate", "1", bin)).hasMessage("Unknown option: '--frobnicate'");
        assertThatThrownBy(() -> parse("--net", "bridge", bin)).hasMessage("--net wants none, user or tap:NAME, got 'bridge'");
        assertThatThrownBy(() -> parse("--forward", "8080", bin))
                .hasMessage("--publish wants [ADDRESS:]HOST:GUEST[/udp] (e.g. 8080:80, or 0.0.0.0:8080:80 for every"
                        + " interface), got '8080'");
        assertThatThrownBy(() -> parse("--forward", "1.2.3.4:5:6:7", bin))
                .hasMessageStartingWith("--publish wants [ADDRESS:]HOST:GUEST[/udp]");
        assertThatThrownBy(() -> parse("--forward", "8080:", bin)).hasMessageStartingWith("--publish wants");
        assertThatThrownBy(() -> parse("--net", "tap:tap0", "--allow-host-loopback", bin))
                .hasMessage("--allow-host-loopback needs user-mode networking, not --net tap");
        assertThatThrownBy(() -> parse("--forward", "8080:80/sctp", bin))
                .hasMessage("--publish protocol must be tcp or udp, got 'sctp'");
        assertThatThrownBy(() -> parse("--net", "tap:tap0", "--forward", "8080:80", bin))
                .hasMessage("-p/--publish needs user-mode networking, not --net tap");
        assertThatThrownBy(() -> parse("--net", "none", "--capture", "g.pcap", bin))
                .hasMessage("--capture needs user-mode networking, not --net none");
        assertThatThrownBy(() -> parse("--file", "conf:etc/app.conf", bin)).hasMessageStartingWith(
                "--file wants HOSTPATH:GUESTPATH[:MODE][:rw] with an absolute GUESTPATH and an octal MODE");
        assertThat(OptionValues.file("data.bin:/data/in:rw")).isEqualTo(GuestFile.fromHost(Path.of("data.bin"), "/data/in").writable());
        assertThat(OptionValues.file("data.bin:/data/in:0600:rw"))
                .isEqualTo(GuestFile.fromHost(Path.of("data.bin"), "/data/in").withMode(0600).writable());
        assertThat(OptionValues.file("c:\\x:/etc/x:0644")).isEqualTo(GuestFile.fromHost(Path.of("c:\\x"), "/etc/x").withMode(0644));
        assertThat(OptionValues.file("a:b:/etc/x").isWritable()).isFalse();
        assertThatThrownBy(() -> parse("--user", "root", bin))
                .hasMessage("--user wants UID[:GID] as numbers (the guest has no user names), got 'root'");
        assertThatThrownBy(() -> parse("--rlimit", "files=1", bin)).hasMessageStartingWith("--rlimit: unknown resource 'files'; use one of [cpu, fsize");
        assertThatThrownBy(() -> parse("--rlimit", "nofile=many", bin))
                .hasMessage("--rlimit wants a number or 'unlimited' as a limit, got 'many'");
        assertThatThrownBy(() -> parse("--grace-period", "soon", bin)).hasMessageStartingWith("\"soon\" is not a duration");
        assertThatThrownBy(() -> parse("--debug")).hasMessage("no binary given");
        assertThatThrownBy(() -> parse("--spec", "a.json", bin))
                .hasMessage("--spec names the binary and its arguments: give no BINARY with it");
    }

    @Test
    void unlimitedRlimitsAndAHardLimitOfItsOwn() throws Exception {
        ArrowSpec spec = parse("--rlimit", "NOFILE=64:unlimited", "--rlimit", "stack=unlimited", binary().toString());
        assertThat(spec.rlimits().get(RlimitResource.NOFILE)).isEqualTo(new Rlimit(RlimitResource.NOFILE, 64, Rlimit.UNLIMITED));
        assertThat(spec.rlimits().get(RlimitResource.STACK))
                .isEqualTo(new Rlimit(RlimitResource.STACK, Rlimit.UNLIMITED, Rlimit.UNLIMITED));
    }

    @Test
    void aSpecFileIsRunAsWrittenInBothFormsAndOptionsChangeIt() throws Exception {
        ArrowSpec written = ArrowSpec.builder(binary()).args("x").env("K", "v").cpus(2).net(Net.user().forward(8080, 80)).build();
        Path json = tmp.resolve("spec.json");
        ArrowSpecJson.write(written, json);
        assertThat(parse(json.toString())).isEqualTo(written);
        assertThat(parse("--spec", json.toString())).isEqualTo(written);
        ArrowSpec changed = parse("--spec", json.toString(), "--cpus", "4", "-e", "L=w", "-p", "9090:90");
        assertThat(changed.cpus()).isEqualTo(4);
        assertThat(changed.env()).containsExactly(Map.entry("K", "v"), Map.entry("L", "w"));
        assertThat(changed.net()).isEqualTo(Net.user().forward(8080, 80).forward(9090, 90));
        assertThat(changed.args()).containsExactly("x");
    }

    @Test
    void aSpecFileThatCannotBeReadOrIsInvalidIsAUsageError() throws Exception {
        Path missing = tmp.resolve("missing.json");
        assertThatThrownBy(() -> parse(missing.toString()))
                .hasMessage("cannot read the spec: " + missing + " does not exist");
        Path invalid = Files.writeString(tmp.resolve("bad.json"), "{\"binary\": \"/bin/x\", \"cpus\": 0, \"colour\": 1}");
        assertThatThrownBy(() -> parse("--spec", invalid.toString())).hasMessageStartingWith("invalid arrow spec: $.colour: unknown field");
    }

    @Test
    void aFreeHostPortIsNamedOnStderr() throws Exception {
        CompletableFuture<ArrowOutcome> outcome = new CompletableFuture<>();
        MicroVmSession session = new MicroVmSession() {
            @Override
            public OutputStream stdin() {
                return OutputStream.nullOutputStream();
            }

            @Override
            public CompletableFuture<ArrowOutcome> outcome() {
                return outcome;
            }

            @Override
            public Map<PortForward, Integer> hostPorts() {
                return Map.of(PortForward.tcp(0, 80), 41080, PortForward.udp(0, 53), 41053);
            }

            @Override
            public boolean supportsGracefulStop() {
                return false;
            }

            @Override
            public void stop() {
            }

            @Override
            public void kill() {
                outcome.complete(new ArrowOutcome.Destroyed());
            }

            @Override
            public void close() {
                kill();
            }
        };
        ArrowLauncher launcher = (spec, stdout, stderr) -> session;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ArrowProcess p = arrow("-p", "0:80", "-p", "8080:81", "-p", "0:53/udp", binary().toString())
                .launcher(launcher).start()) {
            RunCommand.reportChosenPorts(p, new PrintStream(err, true, StandardCharsets.UTF_8));
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo(
                "arrow: tcp 127.0.0.1:41080 -> guest port 80\narrow: udp 127.0.0.1:41053 -> guest port 53\n");
    }
}
