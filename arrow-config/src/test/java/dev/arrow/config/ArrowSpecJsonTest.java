package dev.arrow.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;

import static dev.arrow.config.SizeUnit.MiB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ArrowSpecJsonTest {

    private static ArrowSpec everything() {
        return ArrowSpec.builder(Path.of("/opt/app/hello"))
                .args("a", "b c", "ünï")
                .env("Z", "1").env("A", "two words").env("EMPTY", "")
                .workingDirectory("/srv")
                .user(1000, 100)
                .memory(64, MiB)
                .cpus(2)
                .net(Net.user().forward(8080, 80).forwardUdp(5353, 53).forward("0.0.0.0", 8443, 443)
                        .allowHostLoopback().capture(Path.of("/tmp/web.pcap")))
                .file(GuestFile.fromHost(Path.of("conf/app.conf"), "/etc/app.conf"))
                .file(GuestFile.ofText("hello\nworld\n", "/etc/motd"))
                .file(GuestFile.ofBytes(new byte[]{0, (byte) 0xff, (byte) 0xc3, 7}, "/data/blob").withMode(0600))
                .file(GuestFile.ofText("#!/bin/sh\n", "/bin/helper").withMode(0755))
                .kernel(Path.of("/boot/vmlinux"))
                .timeout(Duration.ofMillis(1500))
                .debugConsole(true)
                .hostname("web-1")
                .rlimit(RlimitResource.NOFILE, 1024, 4096)
                .rlimit(RlimitResource.CORE, 0, Rlimit.UNLIMITED)
                .copyOutOnExit("/out", "/var/log/app.log")
                .copyOutMaxBytes(64L << 20)
                .redirectErrorStream(true)
                .build();
    }

    private static List<String> problems(String json) {
        try {
            ArrowSpecJson.read(json);
        } catch (SpecException e) {
            return e.problems().stream().map(SpecProblem::toString).toList();
        }
        throw new AssertionError("accepted: " + json);
    }

    @Test
    void roundTripOfEveryFieldGivesAnEqualSpec() {
        ArrowSpec spec = everything();
        String json = ArrowSpecJson.write(spec);
        ArrowSpec back = ArrowSpecJson.read(json);
        assertThat(back).isEqualTo(spec);
        assertThat(back.env().keySet()).containsExactly("Z", "A", "EMPTY");
        assertThat(ArrowSpecJson.write(back)).isEqualTo(json);
    }

    @Test
    void roundTripOfDefaults() {
        ArrowSpec spec = ArrowSpec.builder(Path.of("hello")).net(Net.tap("tap0")).build();
        assertThat(ArrowSpecJson.read(ArrowSpecJson.write(spec))).isEqualTo(spec);
    }

    @Test
    void writesReadableSizesDurationsModesAndContent() {
        String json = ArrowSpecJson.write(everything());
        assertThat(json).contains("\"memory\" : \"64MiB\"", "\"timeout\" : \"1s500ms\"", "\"mode\" : \"0755\"",
                "\"text\" : \"hello\\nworld\\n\"", "\"base64\" : \"AP/DBw==\"", "\"hard\" : \"unlimited\"",
                "\"protocol\" : \"udp\"", "\"copyOutMaxBytes\" : \"64MiB\"", "\"redirectErrorStream\" : true");
    }

    @Test
    void aWritableFileRoundTripsAndANonBooleanWritableIsAProblem() {
        ArrowSpec spec = ArrowSpec.builder(Path.of("hello"))
                .file(GuestFile.fromHost(Path.of("data.bin"), "/data/in").writable())
                .file(GuestFile.fromHost(Path.of("big.bin"), "/data/big")).build();
        String json = ArrowSpecJson.write(spec);
        assertThat(json).containsOnlyOnce("\"writable\" : true");
        ArrowSpec read = ArrowSpecJson.read(json);
        assertThat(read).isEqualTo(spec);
        assertThat(read.files().get(0).isWritable()).isTrue();
        assertThat(read.files().get(1).isWritable()).isFalse();
        assertThat(problems("{\"binary\":\"h\",\"files\":[{\"guest\":\"/x\",\"host\":\"y\",\"writable\":\"yes\"}]}"))
                .containsExactly("$.files[0].writable: expected true or false, got string \"yes\"");
    }

    @Test
    void aHostFileWithoutModeKeepsTheHostBitsAndContentDefaultsTo0644() {
        ArrowSpec spec = ArrowSpecJson.read("{\"binary\": \"hello\", \"files\": ["
                + "{\"guest\": \"/bin/tool\", \"host\": \"tool\"},"
                + "{\"guest\": \"/bin/other\", \"host\": \"other\", \"mode\": \"0700\"},"
                + "{\"guest\": \"/etc/motd\", \"text\": \"hi\"}]}");
        assertThat(spec.files()).extracting(GuestFile::mode)
                .containsExactly(OptionalInt.empty(), OptionalInt.of(0700), OptionalInt.of(0644));
        String json = ArrowSpecJson.write(spec);
        assertThat(json).containsOnlyOnce("\"mode\" : \"0700\"").containsOnlyOnce("\"mode\" : \"0644\"");
        assertThat(ArrowSpecJson.read(json)).isEqualTo(spec);
    }

    @Test
    void aUserNetworkWritesEachForwardsHostAddressAndWhetherTheHostsLoopbackIsAllowed() {
        String json = ArrowSpecJson.write(ArrowSpec.builder(Path.of("h")).net(Net.user().forward(8080, 80)
                .forwardUdp("0.0.0.0", 5353, 53)).build());
        assertThat(json.replaceAll("\\s+", "")).contains("\"net\":{\"mode\":\"user\",\"forwards\":["
                + "{\"protocol\":\"tcp\",\"hostAddress\":\"127.0.0.1\",\"host\":8080,\"guest\":80},"
                + "{\"protocol\":\"udp\",\"hostAddress\":\"0.0.0.0\",\"host\":5353,\"guest\":53}],"
                + "\"allowHostLoopback\":false}");
    }

    @Test
    void aForwardWithoutHostAddressListensOnTheLoopbackAndTheHostsLoopbackIsDeniedUnlessAllowed() {
        Net.User net = (Net.User) ArrowSpecJson.read("{\"binary\":\"h\",\"net\":{\"mode\":\"user\","
                + "\"forwards\":[{\"host\":8080,\"guest\":80},{\"hostAddress\":\"0.0.0.0\",\"host\":8443,\"guest\":443}]}}")
                .net();
        assertThat(net.forwards()).containsExactly(PortForward.tcp(8080, 80), PortForward.tcp("0.0.0.0", 8443, 443));
        assertThat(net.hostLoopback()).isFalse();
        assertThat(((Net.User) ArrowSpecJson.read("{\"binary\":\"h\",\"net\":{\"mode\":\"user\","
                + "\"allowHostLoopback\":true}}").net()).hostLoopback()).isTrue();
        assertThat(((Net.User) ArrowSpecJson.read("{\"binary\":\"h\",\"net\":{\"mode\":\"user\","
                + "\"allowHostLoopback\":false}}").net()).hostLoopback()).isFalse();
    }

    @Test
    void badHostAddressesAndLoopbackSettingsAreRejectedWithTheFix() {
        String fix = "use \"127.0.0.1\" (this host only, the default), \"0.0.0.0\" (all interfaces) or one of this"
                + " host's IPv4 addresses";
        assertThat(problems("{\"binary\":\"h\",\"net\":{\"mode\":\"user\",\"forwards\":["
                + "{\"hostAddress\":7,\"host\":1083,\"guest\":80}],\"allowHostLoopback\":\"yes\"}}")).containsExactly(
                "$.net.allowHostLoopback: expected true or false, got string \"yes\"",
                "$.net.forwards[0].hostAddress: expected a string, got number 7");
        assertThat(problems("{\"binary\":\"h\",\"net\":{\"mode\":\"user\",\"forwards\":["
                + "{\"hostAddress\":\"localhost\",\"host\":1080,\"guest\":80},"
                + "{\"hostAddress\":\"::1\",\"host\":1081,\"guest\":80},"
                + "{\"hostAddress\":\"224.0.0.1\",\"host\":1082,\"guest\":80}]}}")).containsExactly(
                "$.net.forwards[0].hostAddress: \"localhost\" is not an IPv4 address in dotted form (names are not"
                        + " looked up); " + fix,
                "$.net.forwards[1].hostAddress: \"::1\" is an IPv6 address; user-mode networking forwards IPv4 only: " + fix,
                "$.net.forwards[2].hostAddress: \"224.0.0.1\" is a multicast address, which no port listens on; " + fix);
        assertThat(problems("{\"binary\":\"h\",\"net\":{\"mode\":\"tap\",\"name\":\"tap0\",\"allowHostLoopback\":true}}"))
                .containsExactly("$.net.allowHostLoopback: unknown field for mode \"tap\"; known fields are: mode, name");
    }

    @Test
    void minimalDocumentUsesDefaults() {
        ArrowSpec spec = ArrowSpecJson.read("{\"binary\": \"hello\"}");
        assertThat(spec).isEqualTo(ArrowSpec.builder(Path.of("hello")).build());
    }

    @Test
    void acceptsSizesAsTextOrPlainBytes() {
        assertThat(ArrowSpecJson.read("{\"binary\":\"h\",\"memory\":\"1GiB\"}").memoryBytes()).isEqualTo(1L << 30);
        assertThat(ArrowSpecJson.read("{\"binary\":\"h\",\"memory\":67108864}").memoryBytes()).isEqualTo(64L << 20);
        assertThat(ArrowSpecJson.read("{\"binary\":\"h\",\"memory\":\"65536KiB\"}").memoryBytes()).isEqualTo(64L << 20);
        assertThat(ArrowSpecJson.read("{\"binary\":\"h\",\"timeout\":\"500ms\"}").timeout()).contains(Duration.ofMillis(500));
        assertThat(ArrowSpecJson.read("{\"binary\":\"h\",\"rlimits\":{\"stack\":\"8MiB\",\"nofile\":64}}").rlimits())
                .containsEntry(RlimitResource.STACK, new Rlimit(RlimitResource.STACK, 8 << 20, 8 << 20))
                .containsEntry(RlimitResource.NOFILE, new Rlimit(RlimitResource.NOFILE, 64, 64));
    }

    @Test
    void portOutOfRangeIsReportedWithItsPath() {
        String json = "{\"binary\":\"h\",\"net\":{\"mode\":\"user\",\"forwards\":[{\"host\":70000,\"guest\":80}]}}";
        assertThatThrownBy(() -> ArrowSpecJson.read(json))
                .isInstanceOf(SpecException.class)
                .hasMessage("invalid arrow spec: $.net.forwards[0].host: port 70000 out of range 0..65535");
    }

    @Test
    void unknownFieldsAreRejectedWithTheirPath() {
        assertThat(problems("{\"binary\":\"h\",\"memroy\":\"64MiB\"}")).containsExactly(
                "$.memroy: unknown field; known fields are: args, binary, copyOutMaxBytes, copyOutOnExit, cpus,"
                        + " debugConsole, env, files, gid, hostname, kernel, memory, net, redirectErrorStream, rlimits, timeout, uid,"
                        + " workingDirectory");
        assertThat(problems("{\"binary\":\"h\",\"net\":{\"mode\":\"user\",\"forwards\":[{\"host\":1,\"guest\":2,\"hots\":3}]}}"))
                .containsExactly("$.net.forwards[0].hots: unknown field; known fields are: guest, host, hostAddress, protocol");
        assertThat(problems("{\"binary\":\"h\",\"net\":{\"mode\":\"none\",\"forwards\":[]}}"))
                .containsExactly("$.net.forwards: unknown field for mode \"none\"; known fields are: mode");
        assertThat(problems("{\"binary\":\"h\",\"files\":[{\"guest\":\"/x\",\"text\":\"\",\"owner\":\"root\"}]}"))
                .containsExactly("$.files[0].owner: unknown field; known fields are: base64, guest, host, mode, text, writable");
        assertThat(problems("{\"binary\":\"h\",\"rlimits\":{\"nofiles\":1}}"))
                .containsExactly("$.rlimits.nofiles: unknown resource; known resources are: as, core, cpu, data, fsize,"
                        + " locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack");
    }

    @Test
    void wrongTypesAreRejectedWithTheirPath() {
        assertThat(problems("{\"binary\":\"h\",\"cpus\":\"2\",\"args\":[\"a\",1],\"debugConsole\":\"yes\","
                + "\"env\":{\"K\":null},\"uid\":1.5}")).containsExactly(
                "$.args[1]: expected a string, got number 1",
                "$.env.K: expected a string, got null",
                "$.uid: expected an integer, got number 1.5",
                "$.cpus: expected an integer, got string \"2\"",
                "$.debugConsole: expected true or false, got string \"yes\"");
        assertThat(problems("{\"binary\":\"h\",\"cpus\":99999999999}"))
                .containsExactly("$.cpus: expected an integer, got number 99999999999");
        assertThat(problems("[1,2]")).containsExactly("$: expected an object, got an array");
    }

    @Test
    void badValuesAreRejectedWithReason() {
        assertThat(problems("{\"binary\":\"h\",\"memory\":\"64MB\"}")).containsExactly(
                "$.memory: \"64MB\" has an unknown unit \"MB\" (sizes are binary: write \"MiB\"); use B, KiB, MiB, GiB or TiB");
        assertThat(problems("{\"binary\":\"h\",\"memory\":\"16MiB\"}")).containsExactly(
                "$.memory: 16MiB is too small; the guest needs at least 32MiB, ask for 32MiB or more");
        assertThat(problems("{\"binary\":\"h\",\"timeout\":\"30 seconds\"}")).containsExactly(
                "$.timeout: \"30 seconds\" is not a duration; write a whole number with a unit h, m, s, ms, us or ns,"
                        + " e.g. \"30s\", \"500ms\", \"1h30m\"");
        assertThat(problems("{\"binary\":\"h\",\"net\":{\"mode\":\"bridge\"}}"))
                .containsExactly("$.net.mode: unknown mode \"bridge\"; use \"none\", \"user\" or \"tap\"");
        assertThat(problems("{\"binary\":\"h\",\"net\":{\"mode\":\"user\",\"forwards\":[{\"protocol\":\"sctp\",\"host\":1,\"guest\":1}]}}"))
                .containsExactly("$.net.forwards[0].protocol: unknown protocol \"sctp\"; use \"tcp\" or \"udp\"");
        assertThat(problems("{\"binary\":\"h\",\"files\":[{\"guest\":\"/x\",\"text\":\"a\",\"mode\":420}]}"))
                .containsExactly("$.files[0].mode: expected an octal string such as \"0644\", got number 420");
        assertThat(problems("{\"binary\":\"h\",\"files\":[{\"guest\":\"/x\",\"text\":\"a\",\"mode\":\"0x1ff\"}]}"))
                .containsExactly("$.files[0].mode: \"0x1ff\" is not an octal mode; write it like \"0644\" or \"0755\"");
        assertThat(problems("{\"binary\":\"h\",\"files\":[{\"guest\":\"/x\",\"text\":\"a\",\"host\":\"b\"}]}"))
                .containsExactly("$.files[0]: both host and text given; give exactly one of \"host\", \"text\" or \"base64\"");
        assertThat(problems("{\"binary\":\"h\",\"files\":[{\"guest\":\"/x\"}]}"))
                .containsExactly("$.files[0]: no content given; give exactly one of \"host\", \"text\" or \"base64\"");
        assertThat(problems("{\"binary\":\"h\",\"files\":[{\"guest\":\"/x\",\"base64\":\"%%%\"}]}"))
                .singleElement().asString().startsWith("$.files[0].base64: not valid base64 (");
        assertThat(problems("{\"binary\":\"h\",\"files\":[{\"guest\":\"x\",\"text\":\"a\"}]}")).containsExactly(
                "$.files[0].guest: guest path \"x\" is relative; write it as an absolute path, e.g. \"/x\"");
        assertThat(problems("{\"binary\":\"h\",\"rlimits\":{\"nofile\":{\"soft\":\"lots\",\"hard\":1}}}"))
                .containsExactly("$.rlimits.nofile.soft: \"lots\" is not a size; write a whole number of bytes or a"
                        + " number with a unit, e.g. \"64MiB\", \"512KiB\", \"1GiB\", or \"unlimited\"");
    }

    @Test
    void missingRequiredFieldsAreNamed() {
        assertThat(problems("{}")).containsExactly(
                "$.binary: required field is missing; give the host path of the statically linked program to run");
        assertThat(problems("{\"binary\":\"h\",\"net\":{\"mode\":\"tap\"}}")).containsExactly(
                "$.net.name: required field is missing; give the name of an existing tap device such as \"tap0\"");
        assertThat(problems("{\"binary\":\"h\",\"net\":{\"mode\":\"user\",\"forwards\":[{\"host\":1}]}}"))
                .containsExactly("$.net.forwards[0].guest: required field is missing; give the guest port to forward to");
    }

    @Test
    void duplicateFieldsAndSyntaxErrorsAreRejected() {
        assertThat(problems("{\"binary\":\"h\",\"cpus\":1,\"cpus\":2}")).singleElement().asString()
                .startsWith("$.cpus: invalid JSON at line 1, column ").contains("Duplicate field 'cpus'");
        assertThat(problems("{\"binary\":\"h\",\"args\":[\"a\",}")).singleElement().asString()
                .startsWith("$.args[1]: invalid JSON at line 1, column ");
        assertThat(problems("{\"binary\":\"h\"} {}")).singleElement().asString()
                .startsWith("$: invalid JSON at line 1, column ").contains("Trailing token");
        assertThat(problems("")).containsExactly(
                "$: the document is empty; expected a JSON object with at least \"binary\"");
    }

    @Test
    void readsAndWritesFiles(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("spec.json");
        ArrowSpec spec = everything();
        ArrowSpecJson.write(spec, file);
        assertThat(new String(java.nio.file.Files.readAllBytes(file), StandardCharsets.UTF_8)).startsWith("{");
        assertThat(ArrowSpecJson.read(file)).isEqualTo(spec);
    }
}
