package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.device.I8042;
import dev.arrow.kvm.device.InterruptTrigger;
import dev.arrow.kvm.device.IoBus;
import dev.arrow.kvm.device.Serial8250;
import dev.arrow.kvm.device.StatusPort;
import dev.arrow.kvm.x86.Layout;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tier 1: the port-I/O bus every VM and clone gets ({@link VmBuilder#portBus}), as init's status writes reach it. */
class PortBusTest {

    private final List<String> lines = new ArrayList<>();
    private final IoBus bus = VmBuilder.portBus(new Serial8250(InterruptTrigger.NONE, new ByteArrayOutputStream()),
            new I8042(() -> { }, InterruptTrigger.NONE), new StatusPort(lines::add));

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void theStatusPortOwnsTheFourPortsFromStatusPortAndNothingElseIsThere() {
        IoBus.Mapping status = bus.find(Layout.STATUS_PORT).orElseThrow();
        assertThat(status.device()).isInstanceOf(StatusPort.class);
        assertThat(status.length()).isEqualTo(Layout.STATUS_PORT_COUNT).isEqualTo(4);
        for (int port = Layout.STATUS_PORT; port < Layout.STATUS_PORT + Layout.STATUS_PORT_COUNT; port++) {
            assertThat(bus.find(port)).contains(status);
        }
        assertThat(bus.find(Layout.STATUS_PORT - 1)).isEmpty();
        assertThat(bus.find(Layout.STATUS_PORT + Layout.STATUS_PORT_COUNT)).isEmpty();
    }

    @Test
    void fourByteWritesAtTheStatusPortReachItInOrder() {
        // "arrow-status exited 0\n" as init writes it: 5 outl to 0xf4, then 2 outb
        String line = "arrow-status exited 0\n";
        for (int i = 0; i + 4 <= line.length(); i += 4) {
            assertThat(bus.write(Layout.STATUS_PORT, ascii(line.substring(i, i + 4)))).isTrue();
        }
        assertThat(bus.write(Layout.STATUS_PORT, ascii("0"))).isTrue();
        assertThat(lines).isEmpty();
        assertThat(bus.write(Layout.STATUS_PORT, ascii("\n"))).isTrue();
        assertThat(lines).containsExactly("arrow-status exited 0");
    }

    @Test
    void anAccessReachingPastTheLastStatusPortIsNotDispatched() {
        assertThat(bus.write(Layout.STATUS_PORT + 1, ascii("ab\n\n"))).isFalse();
        assertThat(bus.write(Layout.STATUS_PORT + 3, ascii("\n\n"))).isFalse();
        assertThat(bus.write(Layout.STATUS_PORT + 2, ascii("x\n"))).isTrue();
        assertThat(lines).containsExactly("x");
    }
}
