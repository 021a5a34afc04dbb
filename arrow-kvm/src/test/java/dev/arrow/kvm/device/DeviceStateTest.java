package dev.arrow.kvm.device;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The state records of the legacy devices: round trips, continuing from a state, hostile states. */
class DeviceStateTest {

    static int read(BusDevice device, int offset) {
        byte[] b = new byte[1];
        device.read(offset, b);
        return b[0] & 0xff;
    }

    static void write(BusDevice device, int offset, int value) {
        device.write(offset, new byte[] {(byte) value});
    }

    // ---- Serial8250 ----

    final AtomicInteger serialInterrupts = new AtomicInteger();
    final ByteArrayOutputStream serialOutput = new ByteArrayOutputStream();
    final Serial8250 serial = new Serial8250(serialInterrupts::incrementAndGet, serialOutput);

    @Test
    void aFreshUartRoundTrips() {
        Serial8250.State state = serial.state();

        assertThat(Serial8250.restore(state, InterruptTrigger.NONE, new ByteArrayOutputStream(), null).state())
                .isEqualTo(state);
    }

    @Test
    void aUartWithReceivedBytesAndAPendingInterruptContinuesLikeTheOriginal() {
        write(serial, Serial8250.LCR, Serial8250.LCR_DLAB);
        write(serial, Serial8250.RBR_THR_DLL, 1); // 115200 baud
        write(serial, Serial8250.LCR, 0x03);
        write(serial, Serial8250.IIR_FCR, Serial8250.FCR_ENABLE_FIFO);
        write(serial, Serial8250.IER_DLM, Serial8250.IER_RDI | Serial8250.IER_THRI);
        write(serial, Serial8250.SCR, 0x5a);
        serial.receive("hello".getBytes(US_ASCII), 0, 5);
        assertThat(read(serial, Serial8250.RBR_THR_DLL)).isEqualTo('h');

        Serial8250.State state = serial.state();
        assertThat(state.receiveFifo()).isEqualTo("ello".getBytes(US_ASCII));
        assertThat(state.thrInterruptPending()).as("THRE raised when ETBEI was set").isTrue();
        AtomicInteger restoredInterrupts = new AtomicInteger();
        ByteArrayOutputStream restoredOutput = new ByteArrayOutputStream();
        Serial8250 restored = Serial8250.restore(state, restoredInterrupts::incrementAndGet, restoredOutput, null);

        assertThat(restored.state()).isEqualTo(state);
        assertThat(restoredInterrupts).as("restoring raises nothing").hasValue(0);
        // Both continue identically: the same register reads, FIFO bytes and output.
        for (Serial8250 uart : List.of(serial, restored)) {
            write(uart, Serial8250.RBR_THR_DLL, '!');
        }
        for (int offset : new int[] {Serial8250.IIR_FCR, Serial8250.LSR, Serial8250.RBR_THR_DLL, Serial8250.RBR_THR_DLL,
                Serial8250.IIR_FCR, Serial8250.SCR, Serial8250.LSR, Serial8250.MSR}) {
            assertThat(read(restored, offset)).as("register %d", offset).isEqualTo(read(serial, offset));
        }
        assertThat(restored.state()).isEqualTo(serial.state());
        assertThat(restoredOutput.toByteArray()).isEqualTo("!".getBytes(US_ASCII));
        assertThat(restored.receiveSpace()).isEqualTo(serial.receiveSpace());
    }

    @Test
    void aLoopbackUartKeepsItsModemLinesAndOverrun() {
        write(serial, Serial8250.MCR, Serial8250.MCR_LOOP | Serial8250.MCR_RTS);
        write(serial, Serial8250.IER_DLM, Serial8250.IER_RLSI | Serial8250.IER_MSI);
        write(serial, Serial8250.RBR_THR_DLL, 'a');
        write(serial, Serial8250.RBR_THR_DLL, 'b'); // FIFO off: one byte fits, the second overruns
        Serial8250.State state = serial.state();
        assertThat(state.overrun()).isTrue();

        Serial8250 restored = Serial8250.restore(state, InterruptTrigger.NONE, new ByteArrayOutputStream(), null);

        assertThat(read(restored, Serial8250.IIR_FCR)).isEqualTo(read(serial, Serial8250.IIR_FCR));
        assertThat(read(restored, Serial8250.LSR)).isEqualTo(read(serial, Serial8250.LSR));
        assertThat(read(restored, Serial8250.MSR)).isEqualTo(read(serial, Serial8250.MSR));
        assertThat(restored.state()).isEqualTo(serial.state());
    }

    @Test
    void theUartStateIsACopyNotAView() {
        serial.receive(new byte[] {1}, 0, 1);
        Serial8250.State state = serial.state();
        state.receiveFifo()[0] = 9;

        assertThat(state.receiveFifo()).containsExactly(1);
    }

    @Test
    void hostileUartStatesAreRefused() {
        assertThatThrownBy(() -> new Serial8250.State(0x10, 3, 0, 0, 12, 0, 0xb0, false, false, false, new byte[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("IER 0x10");
        assertThatThrownBy(() -> new Serial8250.State(0, 0x100, 0, 0, 12, 0, 0xb0, false, false, false, new byte[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("LCR");
        assertThatThrownBy(() -> new Serial8250.State(0, 3, 0, 0, 12, 0, 0xb0, false, false, false, new byte[2]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 received bytes do not fit a receive FIFO of 1");
        assertThatThrownBy(() -> new Serial8250.State(0, 3, 0, 0, 12, 0, 0xb0, true, false, false, new byte[17]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("of 16");
        assertThatThrownBy(() -> new Serial8250.State(0, 3, 0, 0, 12, 0, 0xb0, true, false, false, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("receiveFifo is required");
    }

    // ---- I8042 ----

    final AtomicInteger resets = new AtomicInteger();
    final AtomicInteger keyboardInterrupts = new AtomicInteger();
    final I8042 i8042 = new I8042(resets::incrementAndGet, keyboardInterrupts::incrementAndGet);

    @Test
    void aFreshControllerRoundTrips() {
        I8042.State state = i8042.state();

        assertThat(I8042.restore(state, () -> { }, InterruptTrigger.NONE).state()).isEqualTo(state);
    }

    @Test
    void aControllerWaitingForACommandsDataByteFinishesItAfterRestore() {
        write(i8042.commandPort(), 0, I8042.CMD_WRITE_CONFIG);
        write(i8042.dataPort(), 0, I8042.CONFIG_KEYBOARD_INTERRUPT | I8042.CONFIG_SYSTEM);
        write(i8042.commandPort(), 0, I8042.CMD_SELF_TEST); // output buffer full, unread
        write(i8042.commandPort(), 0, I8042.CMD_WRITE_OUTPUT_PORT); // waits for its data byte
        I8042.State state = i8042.state();
        assertThat(state.pendingCommand()).isEqualTo(I8042.CMD_WRITE_OUTPUT_PORT);
        assertThat(state.outputFull()).isTrue();
        AtomicInteger restoredResets = new AtomicInteger();
        AtomicInteger restoredInterrupts = new AtomicInteger();
        I8042 restored = I8042.restore(state, restoredResets::incrementAndGet, restoredInterrupts::incrementAndGet);

        assertThat(restored.state()).isEqualTo(state);
        assertThat(read(restored.commandPort(), 0)).isEqualTo(read(i8042.commandPort(), 0));
        assertThat(read(restored.dataPort(), 0)).isEqualTo(I8042.SELF_TEST_PASSED);
        write(restored.dataPort(), 0, 0x02); // output port with the reset line asserted
        assertThat(restoredResets).as("the restored controller takes the byte as the pending command's").hasValue(1);
        write(restored.commandPort(), 0, I8042.CMD_READ_CONFIG);
        assertThat(read(restored.dataPort(), 0)).isEqualTo(I8042.CONFIG_KEYBOARD_INTERRUPT | I8042.CONFIG_SYSTEM);
        assertThat(restoredInterrupts).as("config byte restored with keyboard interrupts on").hasValue(1);
    }

    @Test
    void hostileControllerStatesAreRefused() {
        assertThatThrownBy(() -> new I8042.State(0x100, 3, 0, false, false, false, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("config 256 is not a byte");
        assertThatThrownBy(() -> new I8042.State(0, 3, -1, false, false, false, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outputBuffer");
        assertThatThrownBy(() -> new I8042.State(0, 3, 0, false, false, false, I8042.CMD_SELF_TEST))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("command 0xaa does not wait for a data byte");
    }

    // ---- StatusPort ----

    final List<String> lines = new ArrayList<>();
    final StatusPort status = new StatusPort(lines::add);

    @Test
    void aStatusPortMidLineFinishesTheLineAfterRestore() {
        status.write(0, "arrow-status exi".getBytes(US_ASCII));
        StatusPort.State state = status.state();
        List<String> restoredLines = new ArrayList<>();
        StatusPort restored = StatusPort.restore(state, restoredLines::add);

        assertThat(restored.state()).isEqualTo(state);
        restored.write(0, "ted 0\n".getBytes(US_ASCII));
        assertThat(restoredLines).containsExactly("arrow-status exited 0");
        assertThat(lines).isEmpty();
    }

    @Test
    void aStatusPortSkippingALongLineStillSkipsItAfterRestore() {
        status.write(0, new byte[StatusPort.MAX_LINE_BYTES + 10]);
        StatusPort.State state = status.state();
        assertThat(state.discarding()).isTrue();
        List<String> restoredLines = new ArrayList<>();
        StatusPort restored = StatusPort.restore(state, restoredLines::add);

        restored.write(0, "tail\nnext\n".getBytes(US_ASCII));
        assertThat(restoredLines).containsExactly("next");
    }

    @Test
    void hostileStatusPortStatesAreRefused() {
        assertThatThrownBy(() -> new StatusPort.State(new byte[StatusPort.MAX_LINE_BYTES], false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("longer than the 1023");
        assertThatThrownBy(() -> new StatusPort.State("a\nb".getBytes(US_ASCII), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("contains a newline");
        assertThatThrownBy(() -> new StatusPort.State(new byte[1], true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keeps no bytes");
    }
}
