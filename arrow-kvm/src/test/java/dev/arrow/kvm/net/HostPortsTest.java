package dev.arrow.kvm.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import org.junit.jupiter.api.Test;

class HostPortsTest {

    @Test
    void aPortSomeoneListensOnIsReportedInUse() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.tcp(port, 80))))
                    .isInstanceOfSatisfying(NetworkSetupException.class,
                            e -> assertThat(e.problem()).isEqualTo(NetworkSetupException.Problem.PORT_IN_USE))
                    .hasMessageStartingWith("host port " + port + " is already in use (tcp)");
        }
    }

    @Test
    void aBoundUdpPortIsReportedInUse() throws IOException {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.udp(port, 53))))
                    .hasMessageStartingWith("host port " + port + " is already in use (udp)");
        }
    }

    @Test
    void freePortsPassAndStayFree() throws IOException {
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        assertThatCode(() -> HostPorts.checkFree(List.of(PortMapping.tcp(port, 80), PortMapping.udp(port, 80))))
                .doesNotThrowAnyException();
        try (ServerSocket again = new ServerSocket(port)) {
            assertThat(again.getLocalPort()).isEqualTo(port);
        }
    }

    @Test
    void aHostPortForwardedTwiceIsRefused() {
        assertThatThrownBy(() -> HostPorts.checkFree(List.of(PortMapping.tcp(18080, 80), PortMapping.tcp(18080, 81))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("forwarded twice");
    }
}
