package dev.arrow;

import dev.arrow.config.ArrowSpec;
import dev.arrow.config.ArrowSpecJson;
import dev.arrow.config.GuestFile;
import dev.arrow.config.Net;
import dev.arrow.config.PortForward;
import dev.arrow.config.RlimitResource;
import dev.arrow.config.SpecProblem;
import dev.arrow.spi.ArrowLauncher;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;

import static dev.arrow.config.SizeUnit.GiB;
import static dev.arrow.config.SizeUnit.MiB;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ArrowTest {

    @TempDir
    Path dir;
    private Path hello;
    private final FakeLauncher fake = new FakeLauncher(g -> {
        g.out("args=" + g.spec().args() + " env=" + g.spec().env() + "\n");
        return new ArrowOutcome.Exited(0);
    });

    @BeforeEach
    void createBinary() throws IOException {
        hello = Files.write(dir.resolve("hello"), new byte[]{0x7f, 'E', 'L', 'F'});
    }

    /** The README's example, exactly; compiled here, run below against the fake backend. */
    @SuppressWarnings("unused")
    static void readmeExample() throws Exception {
        try (ArrowProcess p = Arrow.of(Path.of("hello")).args("a").env("K", "v")
                .memory(64, MiB).cpus(1).net(Net.user().forward(8080, 80)).start()) {
            p.getInputStream().transferTo(System.out);
            int code = p.waitFor();
        }
    }

    @Test
    void theReadmeExampleRunsAgainstABackend() throws Exception {
        Arrow arrow = Arrow.of(hello).args("a").env("K", "v")
                .memory(64, MiB).cpus(1).net(Net.user().forward(8080, 80));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        try (ArrowProcess p = arrow.launcher(fake).start()) {
            p.getInputStream().transferTo(out);
            code = p.waitFor();
        }
        assertThat(code).isZero();
        assertThat(out.toString(UTF_8)).isEqualTo("args=[a] env={K=v}\n");
        ArrowSpec spec = fake.only().spec;
        assertThat(spec.memoryBytes()).isEqualTo(64L << 20);
        assertThat(spec.cpus()).isEqualTo(1);
        assertThat(spec.net()).isEqualTo(Net.user().forward(8080, 80));
    }

    @Test
    void everySetterReachesTheSpec() throws IOException {
        Path conf = Files.writeString(dir.resolve("app.conf"), "x=1");
        Path kernel = Files.write(dir.resolve("vmlinux"), new byte[]{1});
        ArrowSpec spec = Arrow.of(hello)
                .args("a", "b").env("A", "1").env(java.util.Map.of("B", "2"))
                .workingDirectory("/srv").user(1000, 100)
                .memory(1, GiB).cpus(2)
                .net(Net.user().forward(8080, 80).forwardUdp(53, 53))
                .file(conf, "/etc/app.conf").file(new byte[]{1, 2}, "/data/blob").textFile("hi\n", "/etc/motd")
                .file(GuestFile.ofText("#!", "/bin/tool").withMode(0755))
                .kernel(kernel).timeout(Duration.ofSeconds(30)).hostname("box")
                .rlimit(RlimitResource.NOFILE, 64, 128).debugConsole()
                .spec();
        assertThat(spec.args()).containsExactly("a", "b");
        assertThat(spec.env()).containsExactly(java.util.Map.entry("A", "1"), java.util.Map.entry("B", "2"));
        assertThat(spec.workingDirectory()).isEqualTo("/srv");
        assertThat(spec.uid()).isEqualTo(1000);
        assertThat(spec.gid()).isEqualTo(100);
        assertThat(spec.memoryBytes()).isEqualTo(1L << 30);
        assertThat(spec.cpus()).isEqualTo(2);
        assertThat(((Net.User) spec.net()).forwards()).containsExactly(PortForward.tcp(8080, 80), PortForward.udp(53, 53));
        assertThat(spec.files()).extracting(GuestFile::guestPath)
                .containsExactly("/etc/app.conf", "/data/blob", "/etc/motd", "/bin/tool");
        assertThat(spec.files()).extracting(GuestFile::mode)
                .containsExactly(OptionalInt.empty(), OptionalInt.of(0644), OptionalInt.of(0644), OptionalInt.of(0755));
        assertThat(spec.kernel()).contains(kernel);
        assertThat(spec.timeout()).contains(Duration.ofSeconds(30));
        assertThat(spec.hostname()).isEqualTo("box");
        assertThat(spec.debugConsole()).isTrue();
        assertThat(spec.rlimits()).containsKey(RlimitResource.NOFILE);
        assertThat(Arrow.from(ArrowSpecJson.read(ArrowSpecJson.write(spec))).spec()).isEqualTo(spec);
    }

    @Test
    void startValidatesTheSpecWithExactMessagesAndLaunchesNothing() {
        Arrow arrow = Arrow.of(hello).launcher(fake).memory(16, MiB).cpus(0).env("A=B", "x");
        assertThatThrownBy(arrow::start)
                .isInstanceOf(InvalidSpecException.class)
                .hasMessage("invalid arrow spec (3 problems):\n"
                        + "  $.env['A=B']: environment variable name \"A=B\" contains '='; names cannot contain '=' or NUL\n"
                        + "  $.memory: 16MiB is too small; the guest needs at least 32MiB, ask for 32MiB or more\n"
                        + "  $.cpus: 0 vCPUs requested; a guest needs at least 1")
                .extracting(e -> ((InvalidSpecException) e).problems())
                .asList().extracting(p -> ((SpecProblem) p).path())
                .containsExactly("$.env['A=B']", "$.memory", "$.cpus");
        assertThat(fake.sessions).isEmpty();
    }

    @Test
    void portOutOfRangeSurfacesAtStart() {
        Arrow arrow = Arrow.of(hello).launcher(fake).net(Net.user().forward(70000, 80));
        assertThatThrownBy(arrow::start)
                .isInstanceOf(InvalidSpecException.class)
                .hasMessage("invalid arrow spec: $.net.forwards[0].host: port 70000 out of range 0..65535");
    }

    @Test
    void missingBinaryKernelAndHostFilesAreNamedAtStart() {
        Path missing = dir.resolve("missing");
        assertThatThrownBy(() -> Arrow.of(missing).launcher(fake).start())
                .isInstanceOf(InvalidBinaryException.class)
                .hasMessage("binary " + missing + " not found (looked at " + missing.toAbsolutePath()
                        + "); give the path of a statically linked x86-64 Linux executable");
        assertThatThrownBy(() -> Arrow.of(dir).launcher(fake).start())
                .isInstanceOf(InvalidBinaryException.class)
                .hasMessage("binary " + dir + " is not a regular file; give the path of a statically linked x86-64"
                        + " Linux executable");
        assertThatThrownBy(() -> Arrow.of(hello).kernel(missing).launcher(fake).start())
                .isInstanceOf(KernelNotFoundException.class)
                .hasMessage("kernel " + missing + " not found or not a readable file; give the path of an uncompressed"
                        + " vmlinux (scripts/build-kernel.sh guest prints one), or leave the kernel unset to boot"
                        + " Arrow's default kernel");
        assertThatThrownBy(() -> Arrow.of(hello).textFile("ok", "/ok").file(missing, "/etc/x").launcher(fake).start())
                .isInstanceOf(InvalidSpecException.class)
                .hasMessage("invalid arrow spec: $.files[1].host: " + missing + " does not exist on the host (looked at "
                        + missing.toAbsolutePath() + "); give the path of an existing file");
        assertThat(fake.sessions).isEmpty();
    }

    @Test
    void theBuilderIsReusableAndEveryStartTakesItsOwnSnapshot() throws Exception {
        Arrow arrow = Arrow.of(hello).launcher(fake).args("first").env("K", "1");
        ArrowSpec before = arrow.spec();
        try (ArrowProcess a = arrow.start()) {
            arrow.args("second").env("K", "2").env("L", "3").cpus(2);
            try (ArrowProcess b = arrow.start()) {
                assertThat(new String(a.getInputStream().readAllBytes(), UTF_8)).isEqualTo("args=[first] env={K=1}\n");
                assertThat(new String(b.getInputStream().readAllBytes(), UTF_8)).isEqualTo("args=[second] env={K=2, L=3}\n");
                assertThat(a.spec()).isEqualTo(before);
                assertThat(b.spec().cpus()).isEqualTo(2);
                assertThat(a.spec().cpus()).isEqualTo(1);
            }
        }
        assertThat(fake.sessions).hasSize(2);
        assertThat(fake.sessions.get(0).spec).isNotSameAs(fake.sessions.get(1).spec);
    }

    @Test
    void fromSpecStartsWhereTheSpecIs() {
        ArrowSpec spec = ArrowSpec.builder(hello).args("x").memory(256, MiB).build();
        assertThat(Arrow.from(spec).spec()).isEqualTo(spec);
        assertThat(Arrow.from(spec).args("y").spec().args()).containsExactly("y");
        assertThat(spec.args()).containsExactly("x");
    }

    @Test
    void unrepresentableArgumentsFailAtOnce() {
        Arrow arrow = Arrow.of(hello);
        assertThatThrownBy(() -> arrow.memory(Long.MAX_VALUE, MiB))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(Long.MAX_VALUE + "MiB does not fit in a 64-bit byte count; use a smaller size");
        assertThatThrownBy(() -> arrow.gracePeriod(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("grace period PT-1S is negative; give zero or more");
        assertThatThrownBy(() -> arrow.env("K", null)).isInstanceOf(NullPointerException.class).hasMessage("value of K");
        assertThatThrownBy(() -> arrow.args("a", null)).isInstanceOf(NullPointerException.class).hasMessage("args[1]");
        assertThatThrownBy(() -> arrow.stdout(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> Arrow.of(null)).isInstanceOf(NullPointerException.class).hasMessage("binary");
    }

}
