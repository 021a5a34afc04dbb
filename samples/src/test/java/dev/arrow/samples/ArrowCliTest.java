package dev.arrow.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.ArrowOutcome;
import dev.arrow.ArrowProcess;
import dev.arrow.config.ArrowSpec;
import dev.arrow.config.ArrowSpecJson;
import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.spi.ArrowLauncher;
import dev.arrow.spi.MicroVmSession;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code arrow run} command line: options to a spec, and the errors a user sees. */
class ArrowCliTest {
    @TempDir
    Path tmp;

    static ArrowSpec parse(String... args) throws Exception {
        return ArrowCli.parse(List.of(args)).spec();
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
        ArrowSpec spec = parse("--memory", "96MiB", "--cpus", "2", "--env", "GREETING=hello", "--env", "EMPTY=",
                "--timeout", "30s", "--forward", "8080:80", "--forward", "5353:53/udp", "--debug", bin, "a", "--b");
        assertThat(spec.binary()).isEqualTo(Path.of(bin));
        assertThat(spec.args()).containsExactly("a", "--b");
        assertThat(spec.env()).containsAllEntriesOf(Map.of("GREETING", "hello", "EMPTY", ""));
        assertThat(spec.memoryBytes()).isEqualTo(96L << 20);
        assertThat(spec.cpus()).isEqualTo(2);
        assertThat(spec.timeout()).contains(Duration.ofSeconds(30));
        assertThat(spec.debugConsole()).isTrue();
        assertThat(spec.net()).isEqualTo(Net.user().with(PortForward.tcp(8080, 80)).with(PortForward.udp(5353, 53)));
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
    void aForwardOnAnAddressThatIsNoneEndsTheCommandWithTheSpecsFix() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ArrowCli.run(new String[] {"run", "--forward", "localhost:8080:80", binary().toString()},
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(ArrowCli.EXIT_ARROW_ERROR);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("arrow: ")
                .contains("$.net.forwards[0].hostAddress: \"localhost\" is not an IPv4 address in dotted form",
                        "use \"127.0.0.1\" (this host only, the default), \"0.0.0.0\" (all interfaces)");
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
        assertThatThrownBy(() -> parse("--memory")).hasMessage("--memory needs a value");
        assertThatThrownBy(() -> parse("--frobnicate", "1", bin)).hasMessage("unknown option --frobnicate");
        assertThatThrownBy(() -> parse("--net", "bridge", bin)).hasMessage("--net wants none, user or tap:NAME, got 'bridge'");
        assertThatThrownBy(() -> parse("--forward", "8080", bin))
                .hasMessage("--forward wants [ADDRESS:]HOST:GUEST[/udp] (e.g. 8080:80, or 0.0.0.0:8080:80 for every"
                        + " interface), got '8080'");
        assertThatThrownBy(() -> parse("--forward", "1.2.3.4:5:6:7", bin))
                .hasMessageStartingWith("--forward wants [ADDRESS:]HOST:GUEST[/udp]");
        assertThatThrownBy(() -> parse("--forward", "8080:", bin)).hasMessageStartingWith("--forward wants");
        assertThatThrownBy(() -> parse("--net", "tap:tap0", "--allow-host-loopback", bin))
                .hasMessage("--allow-host-loopback needs user-mode networking, not --net tap");
        assertThatThrownBy(() -> parse("--forward", "8080:80/sctp", bin))
                .hasMessage("--forward protocol must be tcp or udp, got 'sctp'");
        assertThatThrownBy(() -> parse("--net", "tap:tap0", "--forward", "8080:80", bin))
                .hasMessage("--forward needs user-mode networking, not --net tap");
        assertThatThrownBy(() -> parse("--debug")).hasMessage("no binary given");
    }

    @Test
    void aDynamicBinaryEndsTheCommandWithStatus125AndTheFix() throws Exception {
        Path ls = Path.of("/bin/ls");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(ls), "/bin/ls missing: no dynamic program");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ArrowCli.run(new String[] {"run", ls.toString()}, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(ArrowCli.EXIT_ARROW_ERROR);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("arrow: ")
                .contains("/bin/ls", "dynamically linked", "-static");
    }

    @Test
    void aSpecFileIsRunAsWritten() throws Exception {
        ArrowSpec written = ArrowSpec.builder(binary()).args("x").env("K", "v").cpus(2).build();
        Path json = tmp.resolve("spec.json");
        ArrowSpecJson.write(written, json);
        assertThat(parse(json.toString())).isEqualTo(written);
    }

    @Test
    void usageErrorsExitWithTwoAndPrintTheUsage() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        assertThat(ArrowCli.run(new String[] {"launch"}, err)).isEqualTo(2);
        assertThat(ArrowCli.run(new String[] {"run", "--cpus"}, err)).isEqualTo(2);
        String printed = bytes.toString(StandardCharsets.UTF_8);
        assertThat(printed).contains("arrow: --cpus needs a value", "usage: arrow run [--memory SIZE]");
    }

    @Test
    void aSpecFileThatCannotBeReadExitsWithTwo() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        assertThat(ArrowCli.run(new String[] {"run", tmp.resolve("missing.json").toString()}, err)).isEqualTo(2);
        assertThat(bytes.toString(StandardCharsets.UTF_8)).startsWith("arrow: cannot read the spec: ");
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
        try (ArrowProcess p = ArrowCli.parse(List.of("--forward", "0:80", "--forward", "8080:81", "--forward", "0:53/udp",
                binary().toString())).launcher(launcher).start()) {
            ArrowCli.reportChosenPorts(p, new PrintStream(err, true, StandardCharsets.UTF_8));
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo(
                "arrow: tcp 127.0.0.1:41080 -> guest port 80\narrow: udp 127.0.0.1:41053 -> guest port 53\n");
    }
}
