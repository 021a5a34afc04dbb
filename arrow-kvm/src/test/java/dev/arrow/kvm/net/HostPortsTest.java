package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.arrow.testing.FreePort;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HostPortsTest {

    @Test
    void aPortSomeoneListensOnIsReportedInUse() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.tcp(port, 80))))
                    .isInstanceOfSatisfying(NetworkBackendException.class,
                            e -> assertThat(e.reason()).isEqualTo(NetworkBackendException.Reason.PORT_IN_USE))
                    .hasMessage("host port " + port + " is already in use (tcp on 127.0.0.1): stop what listens there"
                            + " or forward another host port");
        }
    }

    @Test
    void aBoundUdpPortIsReportedInUse() throws IOException {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.udp(port, 53))))
                    .hasMessageStartingWith("host port " + port + " is already in use (udp on 127.0.0.1)");
        }
    }

    @Test
    void aListenerOnEveryInterfaceTakesTheLoopbackPortToo() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, PortMapping.ANY)) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.tcp(port, 80))))
                    .hasMessageStartingWith("host port " + port + " is already in use (tcp on 127.0.0.1)");
        }
    }

    @Test
    void aListenerOnTheLoopbackTakesTheWildcardPortToo() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.tcp(port, 80).on(PortMapping.ANY))))
                    .hasMessageStartingWith("host port " + port + " is already in use (tcp on 0.0.0.0)");
        }
    }

    /** The check binds the address the forward will listen on: a listener on another address is no conflict. */
    @Test
    void aListenerOnAnotherAddressOfTheHostLeavesTheLoopbackPortFree() throws IOException {
        Optional<Inet4Address> external = ProcListeners.nonLoopbackAddress();
        assumeTrue(external.isPresent(), "this host has no IPv4 address besides the loopback");
        try (ServerSocket elsewhere = new ServerSocket(0, 1, external.get())) {
            int port = elsewhere.getLocalPort();
            assertThatCode(() -> HostPorts.checkFree(List.of(PortMapping.tcp(port, 80)))).doesNotThrowAnyException();
            assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.tcp(port, 80).on(external.get()))))
                    .hasMessageStartingWith("host port " + port + " is already in use (tcp on "
                            + external.get().getHostAddress() + ")");
        }
    }

    @Test
    void anAddressThisHostDoesNotHaveIsNamedWithTheFix() throws IOException {
        int port = FreePort.onAnyAddress();
        Inet4Address foreign = GuestNetwork.ipv4("198.51.100.254"); // TEST-NET-2: on no host's interface
        assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.tcp(port, 80).on(foreign))))
                .isInstanceOfSatisfying(NetworkBackendException.class,
                        e -> assertThat(e.reason()).isEqualTo(NetworkBackendException.Reason.BIND_ADDRESS))
                .hasMessage("cannot forward tcp 198.51.100.254:" + port + ": 198.51.100.254 is not an address of this host;"
                        + " forward on 127.0.0.1 (this host only, the default), on 0.0.0.0 (all interfaces) or on one of"
                        + " this host's addresses (ip -4 addr)");
    }

    @Test
    void aPortBelowTheUnprivilegedStartIsRefusedEvenForRootBecausePasstRunsUnprivileged() {
        int start = HostPorts.unprivilegedPortStart();
        assumeTrue(start > 1, "net.ipv4.ip_unprivileged_port_start is " + start + ": every port is unprivileged here");
        int port = start - 1;
        assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.tcp(port, 80))))
                .isInstanceOfSatisfying(NetworkBackendException.class,
                        e -> assertThat(e.reason()).isEqualTo(NetworkBackendException.Reason.PORT_IN_USE))
                .hasMessage("host tcp port " + port + " is below " + start + " (net.ipv4.ip_unprivileged_port_start),"
                        + " and passt runs unprivileged (as nobody when Arrow runs as root): forward a port of " + start
                        + " or above, or allow it with sysctl net.ipv4.ip_unprivileged_port_start=" + port);
    }

    @Test
    void theUnprivilegedPortStartIsTheSysctlsWholeValue() throws Exception {
        Process cat = new ProcessBuilder("cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start").start();
        String value = new String(cat.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).strip();
        assertThat(cat.waitFor()).isZero();
        assertThat(HostPorts.unprivilegedPortStart()).isEqualTo(Integer.parseInt(value));
    }

    @Test
    void freePortsPassAndStayFree() throws IOException {
        int port = FreePort.onAnyAddress();
        assertThatCode(() -> HostPorts.checkFree(List.of(PortMapping.tcp(port, 80), PortMapping.udp(port, 80))))
                .doesNotThrowAnyException();
        try (ServerSocket again = new ServerSocket(port)) {
            assertThat(again.getLocalPort()).isEqualTo(port);
        }
    }

    @Test
    void aHostPortForwardedTwiceIsRefusedAlsoOnTwoAddresses() {
        assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.tcp(18080, 80), PortMapping.tcp(18080, 81))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("forwarded twice");
        assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.tcp(18080, 80),
                PortMapping.tcp(18080, 81).on(PortMapping.ANY))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("also on different host addresses");
    }

    @Test
    void freePortsAreChosenOnTheForwardsAddressAndAreFreeAndDistinct() throws IOException {
        List<PortMapping> asked = List.of(PortMapping.tcp(0, 80), PortMapping.tcp(0, 81), PortMapping.udp(0, 53),
                PortMapping.tcp(18081, 82));
        List<PortMapping> chosen = HostPorts.chooseFree(asked);
        assertThat(chosen).hasSize(4);
        assertThat(chosen.get(3)).as("a fixed port stays").isEqualTo(asked.get(3));
        for (int i = 0; i < 3; i++) {
            assertThat(chosen.get(i).hostPort()).isGreaterThanOrEqualTo(HostPorts.unprivilegedPortStart());
            assertThat(chosen.get(i)).isEqualTo(asked.get(i).withHostPort(chosen.get(i).hostPort()));
        }
        assertThat(chosen.get(0).hostPort()).isNotEqualTo(chosen.get(1).hostPort());
        assertThatCode(() -> HostPorts.checkFree(chosen)).as("released again for passt").doesNotThrowAnyException();
        try (ServerSocket s = new ServerSocket(chosen.get(0).hostPort(), 1, InetAddress.getLoopbackAddress())) {
            assertThat(s.getLocalPort()).isEqualTo(chosen.get(0).hostPort());
        }
    }

    @Test
    void aFreePortOnAnAddressThisHostDoesNotHaveIsNamedWithTheFix() {
        PortMapping elsewhere = PortMapping.tcp(0, 80).on(GuestNetwork.ipv4("192.0.2.1"));
        assertThatThrownBy(() -> HostPorts.chooseFree(List.of(elsewhere)))
                .isInstanceOfSatisfying(NetworkBackendException.class,
                        e -> assertThat(e.reason()).isEqualTo(NetworkBackendException.Reason.BIND_ADDRESS))
                .hasMessageContaining("192.0.2.1 is not an address of this host");
    }
}
