package dev.arrow.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;

import static dev.arrow.config.SizeUnit.GiB;
import static dev.arrow.config.SizeUnit.KiB;
import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ArrowSpecValidationTest {

    private static ArrowSpec.Builder hello() {
        return ArrowSpec.builder(Path.of("hello"));
    }

    /** The single problem reported for the spec, as "path: message". */
    private static String problemOf(UnaryOperator<ArrowSpec.Builder> change) {
        List<SpecProblem> problems = problemsOf(change);
        assertThat(problems).hasSize(1);
        return problems.get(0).toString();
    }

    private static List<SpecProblem> problemsOf(UnaryOperator<ArrowSpec.Builder> change) {
        try {
            change.apply(hello()).build();
        } catch (SpecException e) {
            return e.problems();
        }
        throw new AssertionError("the spec was accepted");
    }

    @Test
    void defaultsAreValid() {
        ArrowSpec spec = hello().build();
        assertThat(spec.binary()).isEqualTo(Path.of("hello"));
        assertThat(spec.args()).isEmpty();
        assertThat(spec.env()).isEmpty();
        assertThat(spec.workingDirectory()).isEqualTo("/");
        assertThat(spec.memoryBytes()).isEqualTo(128L << 20);
        assertThat(spec.cpus()).isEqualTo(1);
        assertThat(spec.net()).isEqualTo(Net.none());
        assertThat(spec.kernel()).isEmpty();
        assertThat(spec.timeout()).isEmpty();
        assertThat(spec.debugConsole()).isFalse();
        assertThat(spec.hostname()).isEqualTo("arrow");
        assertThat(spec.uid()).isZero();
        assertThat(spec.gid()).isZero();
    }

    @Test
    void singleProblemMessageNamesPathAndFix() {
        assertThatThrownBy(() -> hello().memory(16, MiB).build())
                .isInstanceOf(SpecException.class)
                .hasMessage("invalid arrow spec: $.memory: 16MiB is too small; the guest needs at least 32MiB,"
                        + " ask for 32MiB or more");
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        assertThatThrownBy(() -> hello().memory(16, MiB).cpus(0).hostname("").build())
                .isInstanceOf(SpecException.class)
                .hasMessage("invalid arrow spec (3 problems):\n"
                        + "  $.memory: 16MiB is too small; the guest needs at least 32MiB, ask for 32MiB or more\n"
                        + "  $.cpus: 0 vCPUs requested; a guest needs at least 1\n"
                        + "  $.hostname: hostname is empty; give a name such as \"arrow\"");
    }

    @Test
    void copyOutPathsMustBeAbsoluteNormalAndListedOnceAndTheBoundNotNegative() {
        assertThat(hello().copyOutOnExit("/", "/out/log.txt").build().copyOutOnExit()).containsExactly("/", "/out/log.txt");
        assertThat(hello().build().copyOutMaxBytes()).isEqualTo(ArrowSpec.DEFAULT_COPY_OUT_MAX_BYTES);
        assertThatThrownBy(() -> hello().copyOutOnExit("out", "/a//b", "/c", "/c").copyOutMaxBytes(-1).build())
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("$.copyOutOnExit[0]: guest path \"out\" is relative; write it as an absolute path, e.g. \"/out\"")
                .hasMessageContaining("$.copyOutOnExit[1]: guest path \"/a//b\" is not in normal form; write it as \"/a/b\"")
                .hasMessageContaining("$.copyOutOnExit[3]: guest path \"/c\" is already listed at $.copyOutOnExit[2]")
                .hasMessageContaining("$.copyOutMaxBytes: -1 is negative");
        assertThat(ArrowSpec.copyOutPathProblem("/x/../y")).hasValueSatisfying(p -> assertThat(p).contains("\"..\""));
        assertThat(ArrowSpec.copyOutPathProblem("/x/y")).isEmpty();
    }

    @Test
    void memoryLimits() {
        assertThat(problemOf(b -> b.memory(32, GiB)))
                .isEqualTo("$.memory: 32GiB is too large; a guest can be given at most 16GiB");
        assertThat(problemOf(b -> b.memory(64 * 1024 + 512, KiB)))
                .isEqualTo("$.memory: 66048KiB is not a whole number of MiB; round it to whole MiB, e.g. 64MiB");
        assertThat(problemOf(b -> b.memoryBytes(-5)))
                .isEqualTo("$.memory: -5B is too small; the guest needs at least 32MiB, ask for 32MiB or more");
        assertThat(hello().memory(32, MiB).build().memoryBytes()).isEqualTo(32L << 20);
        assertThat(hello().memory(16, GiB).build().memoryBytes()).isEqualTo(16L << 30);
    }

    @Test
    void cpuLimits() {
        assertThat(problemOf(b -> b.cpus(33))).isEqualTo("$.cpus: 33 vCPUs requested; at most 32 are supported");
        assertThat(problemOf(b -> b.cpus(-1))).isEqualTo("$.cpus: -1 vCPUs requested; a guest needs at least 1");
        assertThat(hello().cpus(32).build().cpus()).isEqualTo(32);
    }

    @Test
    void environmentNamesAndValues() {
        assertThat(problemOf(b -> b.env("", "v")))
                .isEqualTo("$.env['']: environment variable name is empty; give a name such as \"PATH\"");
        assertThat(problemOf(b -> b.env("A=B", "v")))
                .isEqualTo("$.env['A=B']: environment variable name \"A=B\" contains '='; names cannot contain '=' or NUL");
        assertThat(problemOf(b -> b.env("A\0B", "v")))
                .isEqualTo("$.env['A\\u0000B']: environment variable name contains a NUL character;"
                        + " names cannot contain '=' or NUL");
        assertThat(problemOf(b -> b.env("K", "a\0b")))
                .isEqualTo("$.env.K: value contains a NUL character; environment values cannot contain NUL");
    }

    @Test
    void environmentKeepsInsertionOrder() {
        ArrowSpec spec = hello().env("Z", "1").env("A", "2").env("M", "3").env("Z", "4").build();
        assertThat(spec.env().keySet()).containsExactly("Z", "A", "M");
        assertThat(spec.env().get("Z")).isEqualTo("4");
    }

    @Test
    void argumentsCannotHoldNulOrExceedLinuxLimit() {
        assertThat(problemOf(b -> b.args("ok", "x\0y")))
                .isEqualTo("$.args[1]: argument contains a NUL character; program arguments cannot contain NUL");
        assertThat(problemOf(b -> b.args("a".repeat(131072))))
                .isEqualTo("$.args[0]: argument is 131072 bytes long; Linux accepts at most 131071 bytes;"
                        + " pass large data in a file instead");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "etc/app.conf | guest path \"etc/app.conf\" is relative; write it as an absolute path, e.g. \"/etc/app.conf\"",
            "/a/../etc/passwd | guest path \"/a/../etc/passwd\" contains \"..\"; write the path without \"..\" segments",
            "/a//b | guest path \"/a//b\" is not in normal form; write it as \"/a/b\"",
            "/a/./b/ | guest path \"/a/./b/\" is not in normal form; write it as \"/a/b\"",
            "/ | guest path \"/\" is the root directory; name a file, e.g. \"/data/input.txt\"",
    })
    void guestFilePathsMustBeAbsoluteAndNormal(String guest, String message) {
        assertThat(problemOf(b -> b.file(GuestFile.ofText("x", guest)))).isEqualTo("$.files[0].guest: " + message);
    }

    @Test
    void emptyAndOverlongGuestPaths() {
        assertThat(problemOf(b -> b.file(GuestFile.ofText("x", ""))))
                .isEqualTo("$.files[0].guest: guest path is empty; give an absolute path such as \"/data/input.txt\"");
        assertThat(problemOf(b -> b.file(GuestFile.ofText("x", "/" + "a".repeat(256)))))
                .startsWith("$.files[0].guest: guest path \"/aaa")
                .endsWith("\" has a name longer than 255 bytes; Linux does not allow longer names");
        String deep = ("/" + "a".repeat(200)).repeat(21);
        assertThat(problemOf(b -> b.file(GuestFile.ofText("x", deep))))
                .isEqualTo("$.files[0].guest: guest path is 4221 bytes long; Linux accepts at most 4095 bytes");
    }

    @Test
    void duplicateGuestPathsAreRejected() {
        assertThat(problemOf(b -> b.file(GuestFile.ofText("x", "/etc/x"))
                .file(GuestFile.fromHost(Path.of("y"), "/etc/y"))
                .file(GuestFile.ofBytes(new byte[]{1}, "/etc/x"))))
                .isEqualTo("$.files[2].guest: guest path \"/etc/x\" is already used by $.files[0];"
                        + " each guest path can be given once");
    }

    @Test
    void fileModesAndHostPaths() {
        assertThat(problemOf(b -> b.file(GuestFile.ofText("x", "/x").withMode(010000))))
                .isEqualTo("$.files[0].mode: mode 010000 is out of range; use permission bits 0..07777, e.g. 0644");
        assertThat(problemOf(b -> b.file(GuestFile.fromHost(Path.of(""), "/x"))))
                .isEqualTo("$.files[0].host: the host path is empty; give the path of the file to copy");
        assertThat(hello().file(GuestFile.ofText("x", "/x").withMode(07777)).build().files().get(0).mode())
                .hasValue(07777);
        assertThat(problemOf(b -> b.file(GuestFile.fromHost(Path.of("tool"), "/x").withMode(-1))))
                .isEqualTo("$.files[0].mode: mode -1 is out of range; use permission bits 0..07777, e.g. 0644");
    }

    @Test
    void workingDirectoryMustBeAbsoluteAndNormal() {
        assertThat(problemOf(b -> b.workingDirectory("data")))
                .isEqualTo("$.workingDirectory: guest path \"data\" is relative; write it as an absolute path, e.g. \"/data\"");
        assertThat(problemOf(b -> b.workingDirectory("/data/..")))
                .isEqualTo("$.workingDirectory: guest path \"/data/..\" contains \"..\"; write the path without \"..\" segments");
        assertThat(hello().workingDirectory("/").build().workingDirectory()).isEqualTo("/");
    }

    @Test
    void portsOutOfRangeAndDuplicates() {
        assertThat(problemOf(b -> b.net(Net.user().forward(70000, 80))))
                .isEqualTo("$.net.forwards[0].host: port 70000 out of range 0..65535");
        assertThat(problemOf(b -> b.net(Net.user().forward(-1, 80))))
                .isEqualTo("$.net.forwards[0].host: port -1 out of range 0..65535");
        assertThat(problemOf(b -> b.net(Net.user().forward(8080, 80).forwardUdp(53, 0))))
                .isEqualTo("$.net.forwards[1].guest: port 0 out of range 1..65535");
        assertThat(problemOf(b -> b.net(Net.user().forward(8080, 80).forward(8080, 81))))
                .isEqualTo("$.net.forwards[1].host: TCP host port 8080 is already forwarded by $.net.forwards[0];"
                        + " forward each host port once (also on different host addresses)");
        assertThat(problemOf(b -> b.net(Net.user().forward(8080, 80).forward("0.0.0.0", 8080, 81))))
                .isEqualTo("$.net.forwards[1].host: TCP host port 8080 is already forwarded by $.net.forwards[0];"
                        + " forward each host port once (also on different host addresses)");
        ArrowSpec twoFreePorts = hello().net(Net.user().forward(0, 80).forward(0, 81).forwardUdp(0, 53)).build();
        assertThat(((Net.User) twoFreePorts.net()).forwards()).extracting(PortForward::hostPort).containsOnly(0);
        ArrowSpec sameNumberOtherProtocol = hello().net(Net.user().forward(53, 53).forwardUdp(53, 53)).build();
        assertThat(((Net.User) sameNumberOtherProtocol.net()).forwards()).hasSize(2);
    }

    @Test
    void aForwardsHostAddressIsADottedIPv4AddressAPortCanListenOn() {
        String fix = "use \"127.0.0.1\" (this host only, the default), \"0.0.0.0\" (all interfaces) or one of this"
                + " host's IPv4 addresses";
        assertThat(problemOf(b -> b.net(Net.user().forward("", 8080, 80))))
                .isEqualTo("$.net.forwards[0].hostAddress: the host address is empty; " + fix);
        for (String notDotted : List.of("127.1", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "1.2.3.-4", "a.b.c.d", " 1.2.3.4")) {
            assertThat(problemOf(b -> b.net(Net.user().forwardUdp(notDotted, 5353, 53)))).as(notDotted)
                    .isEqualTo("$.net.forwards[0].hostAddress: \"" + notDotted + "\" is not an IPv4 address in dotted form"
                            + " (names are not looked up); " + fix);
        }
        assertThat(problemOf(b -> b.net(Net.user().forward("255.255.255.255", 8080, 80))))
                .isEqualTo("$.net.forwards[0].hostAddress: \"255.255.255.255\" is a broadcast address, which no port"
                        + " listens on; " + fix);
        assertThat(problemOf(b -> b.net(Net.user().forward("240.0.0.1", 8080, 80))))
                .isEqualTo("$.net.forwards[0].hostAddress: \"240.0.0.1\" is a reserved address, which no port"
                        + " listens on; " + fix);
        assertThat(problemOf(b -> b.net(Net.user().forward("fe80::1", 8080, 80))))
                .isEqualTo("$.net.forwards[0].hostAddress: \"fe80::1\" is an IPv6 address; user-mode networking"
                        + " forwards IPv4 only: " + fix);
        Net.User fine = (Net.User) hello().net(Net.user().forward("0.0.0.0", 8080, 80).forward("192.0.2.7", 8081, 81)
                .forward("127.0.0.2", 8082, 82)).build().net();
        assertThat(fine.forwards()).extracting(PortForward::hostAddress).containsExactly("0.0.0.0", "192.0.2.7", "127.0.0.2");
    }

    @Test
    void aUserNetworkDeniesTheHostsLoopbackUntilAllowedAndForwardsListenOnItByDefault() {
        Net.User net = Net.user().forward(8080, 80).forwardUdp(5353, 53);
        assertThat(net.hostLoopback()).isFalse();
        assertThat(net.forwards()).extracting(PortForward::hostAddress).containsOnly(PortForward.LOOPBACK);
        Net.User allowed = net.allowHostLoopback();
        assertThat(allowed.hostLoopback()).isTrue();
        assertThat(net.hostLoopback()).as("the original value").isFalse();
        assertThat(allowed.forward(9090, 90).capture(Path.of("g.pcap")).hostLoopback()).as("kept by later changes").isTrue();
        assertThat(PortForward.tcp(8080, 80)).isEqualTo(new PortForward(PortForward.Protocol.TCP, "127.0.0.1", 8080, 80));
    }

    @Test
    void aCaptureNamesAFileNotADirectory() {
        assertThat(problemOf(b -> b.net(Net.user().capture(Path.of("")))))
                .isEqualTo("$.net.capture: the capture file's path is empty; name a file such as \"/tmp/arrow.pcap\"");
        assertThat(problemOf(b -> b.net(Net.user().capture(Path.of(System.getProperty("java.io.tmpdir"))))))
                .isEqualTo("$.net.capture: " + System.getProperty("java.io.tmpdir")
                        + " is a directory; name a file in it, such as " + Path.of(System.getProperty("java.io.tmpdir"), "arrow.pcap"));
        assertThat(((Net.User) hello().net(Net.user().capture(Path.of("guest.pcap"))).build().net()).capture())
                .contains(Path.of("guest.pcap"));
    }

    @Test
    void tapNames() {
        assertThat(problemOf(b -> b.net(Net.tap(""))))
                .isEqualTo("$.net.name: tap device name is empty; give the name of an existing tap device such as \"tap0\"");
        assertThat(problemOf(b -> b.net(Net.tap("a-very-long-tap-name"))))
                .isEqualTo("$.net.name: tap device name \"a-very-long-tap-name\" is 20 characters long;"
                        + " Linux allows at most 15");
        assertThat(problemOf(b -> b.net(Net.tap("tap 0"))))
                .isEqualTo("$.net.name: tap device name contains ' '; names cannot contain '/', ':', whitespace or NUL");
        assertThat(hello().net(Net.tap("tap0")).build().net()).isEqualTo(Net.tap("tap0"));
    }

    @Test
    void idsTimeoutKernelAndHostname() {
        assertThat(problemOf(b -> b.user(-1, 0))).isEqualTo("$.uid: -1 is not a user id; use 0 (root) or a positive id");
        assertThat(problemOf(b -> b.user(0, -2))).isEqualTo("$.gid: -2 is not a group id; use 0 (root) or a positive id");
        assertThat(problemOf(b -> b.timeout(Duration.ZERO)))
                .isEqualTo("$.timeout: 0s is not a positive duration; give a timeout above zero, or none");
        assertThat(problemOf(b -> b.timeout(Duration.ofSeconds(-3))))
                .isEqualTo("$.timeout: PT-3S is not a positive duration; give a timeout above zero, or none");
        assertThat(problemOf(b -> b.kernel(Path.of(""))))
                .isEqualTo("$.kernel: the kernel path is empty; give the path of an uncompressed vmlinux,"
                        + " or leave the kernel unset to boot Arrow's default kernel");
        assertThat(problemOf(b -> b.hostname("web_1")))
                .isEqualTo("$.hostname: hostname \"web_1\" contains '_'; use letters, digits, '-' and '.'");
        assertThat(problemOf(b -> b.hostname("-web")))
                .isEqualTo("$.hostname: hostname \"-web\" starts with '-'; start it with a letter or digit");
        assertThat(problemOf(b -> b.hostname("h".repeat(65))))
                .isEqualTo("$.hostname: hostname is 65 characters long; Linux allows at most 64");
    }

    @Test
    void rlimits() {
        assertThat(problemOf(b -> b.rlimit(RlimitResource.NOFILE, 4096, 1024)))
                .isEqualTo("$.rlimits.nofile: soft limit 4096 is above hard limit 1024;"
                        + " make the soft limit at most the hard limit");
        assertThat(problemOf(b -> b.rlimit(RlimitResource.STACK, Rlimit.UNLIMITED, 8 << 20)))
                .isEqualTo("$.rlimits.stack: soft limit unlimited is above hard limit 8388608;"
                        + " make the soft limit at most the hard limit");
        assertThat(problemOf(b -> b.rlimit(RlimitResource.CORE, -1, 0)))
                .isEqualTo("$.rlimits.core: soft limit -1 is negative; use 0 or more, or unlimited");
        ArrowSpec spec = hello().rlimit(RlimitResource.NOFILE, 10, 20).rlimit(RlimitResource.NOFILE, 30, 40).build();
        assertThat(spec.rlimits()).containsOnlyKeys(RlimitResource.NOFILE);
        assertThat(spec.rlimits().get(RlimitResource.NOFILE)).isEqualTo(new Rlimit(RlimitResource.NOFILE, 30, 40));
    }

    @Test
    void binaryPathMustNotBeEmpty() {
        assertThat(problemOf(b -> b.binary(Path.of(""))))
                .isEqualTo("$.binary: the binary path is empty; give the path of a statically linked Linux executable");
    }

    @Test
    void buildSnapshotsTheBuilder() {
        ArrowSpec.Builder b = hello().args("a").env("K", "v").file(GuestFile.ofText("x", "/x"));
        ArrowSpec first = b.build();
        b.args("b", "c").env("L", "w").file(GuestFile.ofText("y", "/y")).cpus(2);
        ArrowSpec second = b.build();
        assertThat(first.args()).containsExactly("a");
        assertThat(first.env()).containsOnlyKeys("K");
        assertThat(first.files()).hasSize(1);
        assertThat(first.cpus()).isEqualTo(1);
        assertThat(second.args()).containsExactly("b", "c");
        assertThat(second.files()).hasSize(2);
        assertThat(second).isNotEqualTo(first);
        assertThat(first.toBuilder().build()).isEqualTo(first).hasSameHashCodeAs(first);
    }

    @Test
    void specCollectionsAreImmutable() {
        ArrowSpec spec = hello().args("a").env("K", "v").build();
        assertThatThrownBy(() -> spec.args().add("b")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> spec.env().put("L", "w")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> spec.files().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void inlineContentIsCopied() {
        byte[] content = {1, 2, 3};
        GuestFile file = GuestFile.ofBytes(content, "/x");
        content[0] = 9;
        byte[] out = ((GuestFile.Content) file.source()).bytes();
        out[1] = 9;
        assertThat(((GuestFile.Content) file.source()).bytes()).containsExactly(1, 2, 3);
    }

    @Test
    void netValuesAreImmutable() {
        Net.User base = Net.user().forward(8080, 80);
        Net.User more = base.forwardUdp(5353, 53);
        assertThat(base.forwards()).containsExactly(PortForward.tcp(8080, 80));
        assertThat(more.forwards()).containsExactly(PortForward.tcp(8080, 80), PortForward.udp(5353, 53));
        assertThatThrownBy(() -> more.forwards().add(PortForward.tcp(1, 1)))
                .isInstanceOf(UnsupportedOperationException.class);
    }
}
