package dev.arrow.backend.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.config.LinuxLimits;
import dev.arrow.image.init.InitProtocol;
import dev.arrow.kvm.device.StatusPort;
import dev.arrow.kvm.net.TapBackend;
import dev.arrow.kvm.virtio.console.ConsolePort;
import dev.arrow.kvm.virtio.console.VirtioConsole;
import dev.arrow.kvm.x86.Layout;
import org.junit.jupiter.api.Test;

/**
 * Tier 1: the VMM's devices are where init looks for them, and the VMM takes what the spec validator lets through. arrow-kvm cannot see arrow-image, so the
 * backend, which wires the two, checks that the VMM's status device and the console it builds follow
 * {@link InitProtocol}.
 */
class InitProtocolWiringTest {

    @Test
    void theVmmsStatusDeviceSitsOnInitsPortsAndTakesItsLongestLine() {
        assertThat(Layout.STATUS_PORT).isEqualTo(InitProtocol.STATUS_PORT);
        assertThat(Layout.STATUS_PORT_COUNT).isEqualTo(InitProtocol.STATUS_PORT_COUNT);
        assertThat(StatusPort.MAX_LINE_BYTES).isEqualTo(InitProtocol.STATUS_LINE_MAX_BYTES);
    }

    @Test
    void theConsoleHasThePortsInitOpensInTheDirectionsItUsesThem() {
        VirtioConsole console = VirtioStdio.console();
        assertThat(console.ports()).extracting(ConsolePort::name).containsExactly(InitProtocol.STDIN_PORT_NAME,
                InitProtocol.STDOUT_PORT_NAME, InitProtocol.STDERR_PORT_NAME, InitProtocol.CONTROL_PORT_NAME,
                InitProtocol.FILES_PORT_NAME);
        assertThat(console.ports()).extracting(ConsolePort::direction).containsExactly(ConsolePort.Direction.TO_GUEST,
                ConsolePort.Direction.FROM_GUEST, ConsolePort.Direction.FROM_GUEST, ConsolePort.Direction.TO_GUEST,
                ConsolePort.Direction.FROM_GUEST);
        assertThat(console.port(VirtioStdio.CONTROL_PORT).name()).isEqualTo(InitProtocol.CONTROL_PORT_NAME);
        assertThat(console.port(VirtioStdio.FILES_PORT).name()).isEqualTo(InitProtocol.FILES_PORT_NAME);
    }

    @Test
    void theTapBackendAcceptsTheInterfaceNamesTheSpecValidatorDoes() {
        assertThat(TapBackend.MAX_NAME_BYTES).isEqualTo(LinuxLimits.MAX_INTERFACE_NAME_BYTES);
    }
}
