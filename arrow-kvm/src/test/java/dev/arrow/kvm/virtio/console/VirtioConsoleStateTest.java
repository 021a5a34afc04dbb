package dev.arrow.kvm.virtio.console;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.arrow.kvm.memory.GuestAddress;
import dev.arrow.kvm.memory.HeapGuestMemory;
import dev.arrow.kvm.virtio.GuestErrorListener;
import dev.arrow.kvm.virtio.MirroredBus;
import dev.arrow.kvm.virtio.MirroredMemory;
import dev.arrow.kvm.virtio.VirtioMmioTransport;
import dev.arrow.kvm.virtio.testing.GuestArena;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A console captured mid-session (ports open, input delivered and unread, an interrupt pending) and continued. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VirtioConsoleStateTest {
    static final int BUFFER = 256;
    static final int STDIN = StdioConsoles.STDIN;
    static final int STDOUT = StdioConsoles.STDOUT;

    final HeapGuestMemory memory = HeapGuestMemory.ofSize(4 << 20);
    final MirroredMemory driverView = new MirroredMemory(memory);
    final GuestArena arena = new GuestArena(driverView, GuestAddress.of(0x10000), 3 << 20);
    final VirtioConsole console = StdioConsoles.builder().bufferBytes(BUFFER).queueSize(8).build();
    final AtomicInteger interrupts = new AtomicInteger();
    final VirtioMmioTransport transport = new VirtioMmioTransport("virtio-console", console, memory,
            interrupts::incrementAndGet, GuestErrorListener.NONE, Runnable::run);
    final MirroredBus bus = new MirroredBus(transport);
    final ConsoleGuest guest = new ConsoleGuest(bus, arena);

    static VirtioMmioTransport restore(VirtioMmioTransport.State state, HeapGuestMemory memory, AtomicInteger interrupts) {
        VirtioConsole device = VirtioConsole.restore((VirtioConsole.State) state.device(), BUFFER);
        return VirtioMmioTransport.restore(state, "virtio-console", device, memory, interrupts::incrementAndGet,
                GuestErrorListener.NONE, Runnable::run);
    }

    static String readAll(ConsolePort port, int count) throws IOException {
        return new String(port.fromGuest().readNBytes(count), US_ASCII);
    }

    /** Handshake done, stdin and stdout open, guest output read by the host, host input delivered and unread. */
    void midSession() throws IOException {
        guest.start();
        guest.open(STDIN);
        guest.open(STDOUT);
        guest.write(STDOUT, "hello".getBytes(US_ASCII));
        assertThat(readAll(console.port(STDOUT), 5)).isEqualTo("hello");
        console.port(STDIN).toGuest().write("abc".getBytes(US_ASCII));
        assertThat(guest.filledReceiveBuffers(STDIN)).isEqualTo(1);
    }

    @Test
    void aFreshConsoleRoundTrips() {
        VirtioMmioTransport.State state = transport.state();

        assertThat(restore(state, memory, new AtomicInteger()).state()).isEqualTo(state);
        assertThat(((VirtioConsole.State) state.device()).ports()).extracting(VirtioConsole.PortState::name)
                .containsExactly(StdioConsoles.STDIN_NAME, StdioConsoles.STDOUT_NAME, StdioConsoles.STDERR_NAME);
    }

    @Test
    void aConsoleCapturedMidSessionContinuesLikeTheOriginal() throws IOException {
        midSession();
        VirtioMmioTransport.State state = transport.state();
        VirtioConsole.State device = (VirtioConsole.State) state.device();
        assertThat(device.driverReady()).isTrue();
        assertThat(device.ports().get(STDIN)).isEqualTo(new VirtioConsole.PortState(StdioConsoles.STDIN_NAME,
                ConsolePort.Direction.TO_GUEST, true, true, false, false));
        assertThat(state.interruptStatus()).as("the driver has not acknowledged the input").isEqualTo(1);

        HeapGuestMemory copy = MirroredMemory.copyOf(memory);
        AtomicInteger restoredInterrupts = new AtomicInteger();
        VirtioMmioTransport restored = restore(state, copy, restoredInterrupts);
        VirtioConsole restoredConsole = (VirtioConsole) restored.device();
        assertThat(restored.state()).isEqualTo(state);
        driverView.mirrorTo(copy);
        bus.mirrorTo(restored);

        int before = interrupts.get();
        assertThat(guest.mmio.acknowledgeInterrupt()).isEqualTo(1); // read on both, compared
        assertThat(guest.read(STDIN)).isEqualTo("abc".getBytes(US_ASCII));
        assertThat(copy.read(GuestAddress.of(0), (int) copy.size()))
                .as("the restored machine's guest read the same bytes").isEqualTo(memory.read(GuestAddress.of(0), (int) memory.size()));
        guest.write(STDOUT, "world".getBytes(US_ASCII));
        assertThat(readAll(console.port(STDOUT), 5)).isEqualTo("world");
        assertThat(readAll(restoredConsole.port(STDOUT), 5)).isEqualTo("world");
        for (VirtioConsole c : List.of(console, restoredConsole)) {
            c.port(STDIN).toGuest().write("xyz".getBytes(US_ASCII));
            c.port(STDIN).toGuest().close();
        }
        guest.processControl(); // PORT_OPEN 0 for stdin: end of file
        assertThat(guest.read(STDIN)).isEqualTo("xyz".getBytes(US_ASCII));
        guest.close(STDOUT);

        assertThat(restoredConsole.port(STDOUT).fromGuest().read()).as("end of the guest's output").isEqualTo(-1);
        assertThat(console.port(STDOUT).fromGuest().read()).isEqualTo(-1);
        assertThat(restored.state()).isEqualTo(transport.state());
        assertThat(restoredInterrupts.get()).isEqualTo(interrupts.get() - before).isPositive();
        assertThat(copy.read(GuestAddress.of(0), (int) copy.size()))
                .isEqualTo(memory.read(GuestAddress.of(0), (int) memory.size()));
    }

    @Test
    void undeliveredControlMessagesAreCarriedOver() {
        guest.probe(VirtioConsole.F_MULTIPORT, 1, 4, 64); // one control buffer: messages queue up
        guest.sendControl(ConsoleGuest.BAD_ID, ControlMessage.DEVICE_READY, 1);
        VirtioMmioTransport.State state = transport.state();
        assertThat(((VirtioConsole.State) state.device()).controlOut()).isNotEmpty();
        HeapGuestMemory copy = MirroredMemory.copyOf(memory);
        VirtioMmioTransport restored = restore(state, copy, new AtomicInteger());
        driverView.mirrorTo(copy);
        bus.mirrorTo(restored);

        for (int round = 0; round < 20; round++) {
            guest.processControl();
        }
        assertThat(guest.names).containsValues(StdioConsoles.STDIN_NAME, StdioConsoles.STDOUT_NAME, StdioConsoles.STDERR_NAME);
        assertThat(restored.state()).isEqualTo(transport.state());
        assertThat(copy.read(GuestAddress.of(0), (int) copy.size()))
                .isEqualTo(memory.read(GuestAddress.of(0), (int) memory.size()));
    }

    @Test
    void guestOutputTheHostHasNotReadPreventsCapture() {
        guest.start();
        guest.open(STDOUT);
        guest.write(STDOUT, "unread".getBytes(US_ASCII));

        assertThatThrownBy(transport::state).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("port 1 (stdout, FROM_GUEST) holds 6 bytes on the host side");
    }

    @Test
    void hostInputTheGuestHasNotTakenPreventsCapture() throws IOException {
        guest.start(); // stdin not opened by the guest: input waits in the host buffer
        console.port(STDIN).toGuest().write("early".getBytes(US_ASCII));

        assertThatThrownBy(transport::state).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("port 0 (stdin, TO_GUEST) holds 5 bytes on the host side");
    }

    @Test
    void aStoppedGuestsConsoleHasNoState() {
        transport.guestStopped();

        assertThatThrownBy(transport::state).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("the guest has stopped");
    }

    @Test
    void hostileConsoleStatesAreRefused() {
        VirtioConsole.PortState port = new VirtioConsole.PortState("p", ConsolePort.Direction.TO_GUEST, false, false, false, false);

        assertThatThrownBy(() -> new VirtioConsole.State(12, List.of(port), true, false, List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("queue size 12 is not a power of two");
        assertThatThrownBy(() -> new VirtioConsole.State(8, List.of(), true, false, List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one port");
        assertThatThrownBy(() -> new VirtioConsole.State(8, List.of(port), true, false,
                List.of(ControlMessage.of(1, ControlMessage.PORT_OPEN, 1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("names a port outside 0..0");
        assertThatThrownBy(() -> new VirtioConsole.State(8, List.of(port), true, false,
                java.util.Collections.nCopies(5, ControlMessage.of(0, ControlMessage.PORT_OPEN, 1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than 4 per port");
        assertThatThrownBy(() -> new VirtioConsole.PortState("a/b", ConsolePort.Direction.TO_GUEST, false, false, false, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("without NUL or '/'");
        assertThatThrownBy(() -> new VirtioConsole.PortState("p", ConsolePort.Direction.TO_GUEST, true, true, true, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("open and closed");
    }
}
