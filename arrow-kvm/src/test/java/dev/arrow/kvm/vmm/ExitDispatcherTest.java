package dev.arrow.kvm.vmm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.arrow.kvm.HostKvm;
import dev.arrow.kvm.device.I8042;
import dev.arrow.kvm.device.InterruptTrigger;
import dev.arrow.kvm.device.IoBus;
import dev.arrow.kvm.device.Serial8250;
import dev.arrow.kvm.device.StatusPort;
import dev.arrow.kvm.x86.Layout;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Tier 1: port I/O through the dispatcher every VM's vCPUs use, on the port bus every VM gets
 * ({@link VmBuilder#portBus}). A VM has no PIT (docs/boot-profile.md), so the guest kernel's few
 * accesses to it reach the dispatcher, which answers them as absent hardware.
 */
class ExitDispatcherTest {
    /** The i8254's three counters and its mode register, and the speaker port (PIT channel 2's gate). */
    static final int[] PIT_PORTS = {0x40, 0x41, 0x42, 0x43, 0x61};

    private final ByteArrayOutputStream serialOut = new ByteArrayOutputStream();
    private final List<String> statusLines = new ArrayList<>();
    private final AtomicInteger resets = new AtomicInteger();
    private final ExitDispatcher dispatcher = new ExitDispatcher(
            VmBuilder.portBus(new Serial8250(InterruptTrigger.NONE, serialOut),
                    new I8042(resets::incrementAndGet, InterruptTrigger.NONE), new StatusPort(statusLines::add)),
            new IoBus("mmio"), false, HostKvm.UNKNOWN);

    private static byte[] ones(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) 0xFF);
        return b;
    }

    @Test
    void thePitsPortsAndTheSpeakerPortReadAsAbsentHardware() {
        for (int port : PIT_PORTS) {
            for (int size : new int[] {1, 2, 4}) {
                assertThat(dispatcher.readPort(port, size, 1)).as("in of %d bytes at 0x%x", size, port)
                        .isEqualTo(ones(size));
            }
            assertThat(dispatcher.readPort(port, 1, 3)).as("insb of 3 at 0x%x", port).isEqualTo(ones(3));
        }
    }

    @Test
    void theGuestKernelsPitShutdownIsDroppedAndReachesNoOtherDevice() {
        // clockevent_i8253_disable(), which Linux runs at boot when it keeps time without the PIT: channel 0 to
        // mode 0, a zero count, mode 0 again
        dispatcher.writePort(0x43, 1, 1, new byte[] {0x30});
        dispatcher.writePort(0x40, 1, 2, new byte[] {0, 0});
        dispatcher.writePort(0x43, 1, 1, new byte[] {0x30});
        // and its speaker port, with the bits that would reset the i8042's neighbours on a PC
        dispatcher.writePort(0x61, 1, 1, new byte[] {(byte) 0xFF});

        assertThat(serialOut.size()).as("bytes at the serial port").isZero();
        assertThat(statusLines).isEmpty();
        assertThat(resets).as("i8042 resets").hasValue(0);
        assertThat(dispatcher.readPort(0x61, 1, 1)).as("nothing latched a value").isEqualTo(ones(1));
    }

    @Test
    void theDevicesBesideThePitStillAnswer() {
        assertThat(dispatcher.readPort(Layout.I8042_COMMAND_PORT, 1, 1)).as("the i8042's status")
                .isNotEqualTo(ones(1));
        dispatcher.writePort(Layout.I8042_COMMAND_PORT, 1, 1, new byte[] {(byte) 0xFE});
        assertThat(resets).as("the i8042's reset pulse").hasValue(1);
        dispatcher.writePort(Layout.SERIAL_PORT, 1, 2, new byte[] {'o', 'k'});
        assertThat(serialOut.toString()).isEqualTo("ok");
    }

    @Test
    void unclaimedPortsAreLoggedOnceEachAndAtMostABoundedNumberOfThem() {
        for (int i = 0; i < 3; i++) {
            for (int port : PIT_PORTS) {
                dispatcher.readPort(port, 1, 1);
                dispatcher.writePort(port, 1, 1, new byte[] {0});
            }
        }
        assertThat(dispatcher.loggedAddresses()).as("addresses logged").isEqualTo(PIT_PORTS.length);

        // a guest sweeping the port space cannot flood the log
        for (int port = 0x100; port < 0x100 + 4 * ExitDispatcher.MAX_LOGGED_ADDRESSES; port++) {
            assertThat(dispatcher.readPort(port, 1, 1)).isEqualTo(ones(1));
        }
        assertThat(dispatcher.loggedAddresses()).isEqualTo(ExitDispatcher.MAX_LOGGED_ADDRESSES);
    }
}
