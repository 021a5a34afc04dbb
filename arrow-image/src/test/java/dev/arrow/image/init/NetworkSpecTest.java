package dev.arrow.image.init;

import static dev.arrow.image.init.InitSpecCheck.raw;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.image.HostCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The net-* records of the spec file: Java's encoding, checked against init's own parser (--check-spec). */
class NetworkSpecTest {
    @TempDir
    static Path tmp;
    static InitSpecCheck specCheck;

    @BeforeAll
    static void extractInit() throws IOException {
        specCheck = InitSpecCheck.extractTo(tmp);
    }

    static final NetworkSettings USER_MODE = NetworkSettings.of("10.0.2.15", 24, "10.0.2.2", "10.0.2.3");

    @Test
    void networkRecordsFollowTheOtherSettingsInTheDocumentedOrder() {
        LaunchSpec spec = LaunchSpec.builder().hostname("box").killGrace(Duration.ofMillis(100))
                .network(NetworkSettings.of("192.168.7.20", 28, "192.168.7.17", "1.1.1.1", "9.9.9.9")).build();
        assertThat(SpecFile.encode(spec)).isEqualTo(raw("exec", "/arrow/app", "arg", "/arrow/app", "hostname", "box",
                "grace-ms", "100", "net-ipv4", "192.168.7.20/28", "net-gateway", "192.168.7.17", "net-dns", "1.1.1.1",
                "net-dns", "9.9.9.9", "end", ""));
    }

    @Test
    void withoutSettingsThereAreNoNetworkRecords() {
        assertThat(new String(SpecFile.encode(LaunchSpec.builder().build()), StandardCharsets.ISO_8859_1)).doesNotContain("net-");
    }

    @Test
    void initParsesWhatJavaWritesBackToTheSameBytes() throws IOException {
        List<NetworkSettings> cases = List.of(USER_MODE,
                NetworkSettings.of("10.0.2.15", 24, null),
                NetworkSettings.of("172.16.0.2", 30, "172.16.0.1"),
                NetworkSettings.of("10.255.255.254", 8, "10.0.0.1", "10.0.0.53", "8.8.8.8", "8.8.4.4"),
                NetworkSettings.of("192.0.2.100", 1, "255.255.255.254"),
                USER_MODE.withTcpReceiveBuffer(256 << 10),
                USER_MODE.withTcpReceiveBuffer(NetworkSettings.MIN_TCP_RECEIVE_BUFFER),
                USER_MODE.withTcpReceiveBuffer(NetworkSettings.MAX_TCP_RECEIVE_BUFFER));
        for (NetworkSettings n : cases) {
            byte[] bytes = SpecFile.encode(LaunchSpec.builder().hostname("guest").network(n).build());
            HostCommand.Result r = specCheck.check(bytes);
            assertThat(r.exitCode()).as("%s: %s", n, r.stderr()).isZero();
            assertThat(r.stdout()).as("%s", n).isEqualTo(bytes);
        }
    }

    @Test
    void truncatedNetworkRecordsAreRejected() throws IOException {
        byte[] bytes = SpecFile.encode(LaunchSpec.builder().network(USER_MODE).build());
        int netStart = new String(bytes, StandardCharsets.ISO_8859_1).indexOf("net-ipv4");
        for (int len = netStart; len < bytes.length; len++) {
            HostCommand.Result r = specCheck.check(Arrays.copyOf(bytes, len));
            assertThat(r.exitCode()).as("prefix of %d bytes", len).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "unknown network key 'net-ipv6'|net-ipv6|fd00::2/64",
        "net-ipv4 given twice|net-ipv4|10.0.2.15/24|net-ipv4|10.0.2.16/24",
        "is not '<a.b.c.d>/<prefix 1..30>'|net-ipv4|10.0.2.15",
        "is not '<a.b.c.d>/<prefix 1..30>'|net-ipv4|10.0.2.15/0",
        "is not '<a.b.c.d>/<prefix 1..30>'|net-ipv4|10.0.2.15/31",
        "is not '<a.b.c.d>/<prefix 1..30>'|net-ipv4|10.0.2.15/024",
        "is not '<a.b.c.d>/<prefix 1..30>'|net-ipv4|10.0.2.015/24",
        "is not '<a.b.c.d>/<prefix 1..30>'|net-ipv4|10.0.2.256/24",
        "is not '<a.b.c.d>/<prefix 1..30>'|net-ipv4|10.0.2/24",
        "is not '<a.b.c.d>/<prefix 1..30>'|net-ipv4|10.0.2.15.1/24",
        "is not '<a.b.c.d>/<prefix 1..30>'|net-ipv4|10.0.2.15 /24",
        "is not '<a.b.c.d>/<prefix 1..30>'|net-ipv4|/24",
        "network or broadcast address|net-ipv4|10.0.2.0/24",
        "network or broadcast address|net-ipv4|10.0.2.255/24",
        "net-gateway '10.0.2.x' is not an IPv4 address|net-ipv4|10.0.2.15/24|net-gateway|10.0.2.x",
        "net-gateway given twice|net-ipv4|10.0.2.15/24|net-gateway|10.0.2.2|net-gateway|10.0.2.3",
        "not another host of the net-ipv4 subnet|net-ipv4|10.0.2.15/24|net-gateway|10.0.3.2",
        "not another host of the net-ipv4 subnet|net-ipv4|10.0.2.15/24|net-gateway|10.0.2.15",
        "not another host of the net-ipv4 subnet|net-ipv4|10.0.2.15/24|net-gateway|10.0.2.255",
        "net-dns '' is not an IPv4 address|net-ipv4|10.0.2.15/24|net-dns|",
        "more than 3 net-dns records|net-ipv4|10.0.2.15/24|net-dns|1.1.1.1|net-dns|1.0.0.1|net-dns|8.8.8.8|net-dns|8.8.4.4",
        "net-gateway without net-ipv4|net-gateway|10.0.2.2",
        "net-dns without net-ipv4|net-dns|10.0.2.3",
        "net-tcp-rmem-max without net-ipv4|net-tcp-rmem-max|262144",
        "net-tcp-rmem-max given twice|net-ipv4|10.0.2.15/24|net-tcp-rmem-max|262144|net-tcp-rmem-max|262144",
        "net-tcp-rmem-max '4095' is not a decimal 4096..67108864|net-ipv4|10.0.2.15/24|net-tcp-rmem-max|4095",
        "net-tcp-rmem-max '67108865' is not a decimal|net-ipv4|10.0.2.15/24|net-tcp-rmem-max|67108865",
        "net-tcp-rmem-max '' is not a decimal|net-ipv4|10.0.2.15/24|net-tcp-rmem-max|",
        "net-tcp-rmem-max '256k' is not a decimal|net-ipv4|10.0.2.15/24|net-tcp-rmem-max|256k",
    })
    void malformedNetworkRecordsAreRejectedWithAReason(String caseText) throws IOException {
        String[] parts = caseText.split("\\|", -1);
        String[] records = new String[parts.length - 1 + 6];
        records[0] = "exec";
        records[1] = "/a";
        records[2] = "arg";
        records[3] = "a";
        System.arraycopy(parts, 1, records, 4, parts.length - 1);
        records[records.length - 2] = "end";
        records[records.length - 1] = "";
        HostCommand.Result r = specCheck.check(raw(records));
        assertThat(r.exitCode()).as(r.stderr()).isEqualTo(1);
        assertThat(r.stderr()).contains("malformed spec").contains(parts[0]);
    }

    @Test
    void settingsInitWouldRejectAreRefusedInJava() {
        assertThatThrownBy(() -> NetworkSettings.of("10.0.2.15", 31, "10.0.2.14"))
                .isInstanceOf(InvalidLaunchSpecException.class).hasMessageContaining("outside 1..30");
        assertThatThrownBy(() -> NetworkSettings.of("10.0.2.0", 24, "10.0.2.2")).hasMessageContaining("network or broadcast");
        assertThatThrownBy(() -> NetworkSettings.of("10.0.2.15", 24, "10.0.3.2")).hasMessageContaining("not another host");
        assertThatThrownBy(() -> NetworkSettings.of("10.0.2.15", 24, "10.0.2.15")).hasMessageContaining("not another host");
        assertThatThrownBy(() -> NetworkSettings.of("10.0.2.15", 24, null, "1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"))
                .hasMessageContaining("at most 3");
        assertThatThrownBy(() -> NetworkSettings.of("10.0.2.015", 24, null)).hasMessageContaining("not a dotted IPv4 address");
        assertThatThrownBy(() -> NetworkSettings.of("localhost", 24, null)).hasMessageContaining("not a dotted IPv4 address");
        assertThatThrownBy(() -> USER_MODE.withTcpReceiveBuffer(4095)).hasMessageContaining("outside 4096..67108864");
        assertThatThrownBy(() -> USER_MODE.withTcpReceiveBuffer((64 << 20) + 1)).hasMessageContaining("outside 4096..67108864");
    }

    @Test
    void aTcpReceiveBufferCapIsTheLastNetworkRecord() {
        LaunchSpec spec = LaunchSpec.builder().network(NetworkSettings.of("10.0.2.15", 24, "10.0.2.2")
                .withTcpReceiveBuffer(262144)).build();
        assertThat(SpecFile.encode(spec)).isEqualTo(raw("exec", "/arrow/app", "arg", "/arrow/app", "net-ipv4", "10.0.2.15/24",
                "net-gateway", "10.0.2.2", "net-tcp-rmem-max", "262144", "end", ""));
    }

    @Test
    void settingsDescribeThemselvesAsInTheSpec() {
        assertThat(USER_MODE.cidr()).isEqualTo("10.0.2.15/24");
        assertThat(NetworkSettings.INTERFACE).isEqualTo("eth0");
        assertThat(LaunchSpec.builder().network(USER_MODE).build().network()).contains(USER_MODE);
        assertThat(LaunchSpec.builder().build().network()).isEmpty();
    }
}
