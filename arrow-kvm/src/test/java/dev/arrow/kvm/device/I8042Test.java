package dev.arrow.kvm.device;

import static dev.arrow.kvm.device.I8042.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class I8042Test {

    private int resets;
    private int keyboardIrqs;
    private I8042 kbc;

    @BeforeEach
    void create() {
        kbc = new I8042(() -> resets++, () -> keyboardIrqs++);
    }

    private int status() {
        byte[] b = new byte[1];
        kbc.commandPort().read(0, b);
        return b[0] & 0xff;
    }

    private int data() {
        byte[] b = new byte[1];
        kbc.dataPort().read(0, b);
        return b[0] & 0xff;
    }

    private void command(int c) {
        kbc.commandPort().write(0, new byte[] {(byte) c});
    }

    private void writeData(int d) {
        kbc.dataPort().write(0, new byte[] {(byte) d});
    }

    /** Linux i8042_command(): wait for IBF clear, write, then wait for OBF (bounded like I8042_CTL_TIMEOUT). */
    private int commandWithResult(int c) {
        assertThat(status() & STATUS_INPUT_FULL).isZero();
        command(c);
        for (int i = 0; i < 10000; i++) {
            if ((status() & STATUS_OUTPUT_FULL) != 0) {
                return data();
            }
        }
        throw new AssertionError("i8042 timeout on command 0x" + Integer.toHexString(c));
    }

    @Test
    void rebootPathPulsesTheResetLine() {
        // arch/x86/kernel/reboot.c BOOT_KBD: kb_wait() polls for the input buffer to drain,
        // then outb(0xfe, 0x64)
        assertThat(status() & STATUS_INPUT_FULL).isZero();
        command(CMD_PULSE_RESET);
        assertThat(resets).isEqualTo(1);
        assertThat(kbc.resetRequests()).isEqualTo(1);
    }

    @Test
    void onlyPulsesWithBitZeroClearReset() {
        command(0xff); // pulse nothing
        command(0xfd); // pulse bit 1 (A20)
        assertThat(resets).isZero();
        command(0xf0); // pulses bit 0 among others
        assertThat(resets).isEqualTo(1);
    }

    @Test
    void writingTheOutputPortWithResetLowResets() {
        command(CMD_READ_OUTPUT_PORT);
        int port = data();
        assertThat(port & 1).as("reset line released").isEqualTo(1);
        command(CMD_WRITE_OUTPUT_PORT);
        writeData(port | 0x02);
        assertThat(resets).isZero();
        command(CMD_WRITE_OUTPUT_PORT);
        writeData(0x02);
        assertThat(resets).isEqualTo(1);
    }

    @Test
    void linuxControllerProbeSucceedsWithoutTimeouts() {
        // i8042_controller_check(): flush
        assertThat(status() & STATUS_OUTPUT_FULL).isZero();
        // i8042_controller_selftest()
        assertThat(commandWithResult(CMD_SELF_TEST)).isEqualTo(SELF_TEST_PASSED);
        // i8042_controller_init(): stable CTR read, keylock check, CTR write
        int ctr = commandWithResult(CMD_READ_CONFIG);
        assertThat(commandWithResult(CMD_READ_CONFIG)).isEqualTo(ctr);
        assertThat(status() & STATUS_NOT_INHIBITED).as("no keylock").isNotZero();
        int newCtr = (ctr | CONFIG_KEYBOARD_DISABLED) & ~CONFIG_KEYBOARD_INTERRUPT;
        command(CMD_WRITE_CONFIG);
        writeData(newCtr);
        assertThat(commandWithResult(CMD_READ_CONFIG)).isEqualTo(newCtr);
        assertThat(status() & STATUS_LAST_WAS_COMMAND).isNotZero();
        assertThat(keyboardIrqs).as("keyboard interrupt off").isZero();
    }

    @Test
    void auxProbeFindsNoAuxPortAtOnce() {
        // i8042_check_aux(): AUX loop returns the byte as keyboard data (auxerr), AUX test reports a stuck clock.
        command(CMD_WRITE_AUX_BUFFER);
        writeData(0x5a);
        int st = status();
        assertThat(st & STATUS_OUTPUT_FULL).isNotZero();
        assertThat(st & STATUS_AUX_DATA).as("not from AUX").isZero();
        int result = commandWithResult(CMD_AUX_TEST);
        assertThat(result).isNotIn(0x00, 0xfa, 0xff);
    }

    @Test
    void keyboardLoopEchoesAsKeyboardData() {
        command(CMD_WRITE_KEYBOARD_BUFFER);
        writeData(0x42);
        assertThat(status() & (STATUS_OUTPUT_FULL | STATUS_AUX_DATA)).isEqualTo(STATUS_OUTPUT_FULL);
        assertThat(data()).isEqualTo(0x42);
        assertThat(status() & STATUS_OUTPUT_FULL).isZero();
    }

    @Test
    void bytesForTheAbsentKeyboardAreAnsweredWithNakAndTimeout() {
        command(CMD_WRITE_CONFIG);
        writeData(CONFIG_KEYBOARD_INTERRUPT | CONFIG_SYSTEM);
        writeData(0xf2); // ATKBD_CMD_GETID
        assertThat(keyboardIrqs).isEqualTo(1);
        int st = status();
        assertThat(st & (STATUS_OUTPUT_FULL | STATUS_TIMEOUT)).isEqualTo(STATUS_OUTPUT_FULL | STATUS_TIMEOUT);
        assertThat(data()).isEqualTo(KEYBOARD_NAK);
        assertThat(status() & STATUS_TIMEOUT).as("cleared with the data").isZero();
    }

    @Test
    void enableAndDisableCommandsShowInTheConfigByte() {
        command(CMD_KEYBOARD_DISABLE);
        assertThat(commandWithResult(CMD_READ_CONFIG) & CONFIG_KEYBOARD_DISABLED).isNotZero();
        command(CMD_KEYBOARD_ENABLE);
        assertThat(commandWithResult(CMD_READ_CONFIG) & CONFIG_KEYBOARD_DISABLED).isZero();
        command(CMD_AUX_ENABLE);
        assertThat(commandWithResult(CMD_READ_CONFIG) & CONFIG_AUX_DISABLED).isZero();
        command(CMD_AUX_DISABLE);
        assertThat(commandWithResult(CMD_READ_CONFIG) & CONFIG_AUX_DISABLED).isNotZero();
        assertThat(commandWithResult(CMD_KEYBOARD_TEST)).isEqualTo(INTERFACE_TEST_PASSED);
    }

    @Test
    void aCommandCancelsAPendingDataByte() {
        command(CMD_WRITE_CONFIG);
        command(CMD_SELF_TEST);
        data();
        int before = commandWithResult(CMD_READ_CONFIG);
        writeData(0x00); // goes to the keyboard, not into the config byte
        data();
        assertThat(commandWithResult(CMD_READ_CONFIG)).isEqualTo(before);
    }

    @Test
    void auxBytesAreSwallowed() {
        command(CMD_WRITE_AUX);
        writeData(0xff);
        assertThat(status() & STATUS_OUTPUT_FULL).isZero();
    }

    @Test
    void unknownCommandsAndOtherOffsetsAreHarmless() {
        command(0x99);
        assertThat(status() & STATUS_OUTPUT_FULL).isZero();
        byte[] b = new byte[2];
        kbc.commandPort().read(1, b);
        assertThat(b).containsOnly(0xff);
        kbc.commandPort().write(1, new byte[] {(byte) 0xfe});
        assertThat(resets).isZero();
    }

    @Test
    void systemFlagFollowsTheConfigByte() {
        assertThat(status() & STATUS_SYSTEM).isNotZero();
        command(CMD_WRITE_CONFIG);
        writeData(0);
        assertThat(status() & STATUS_SYSTEM).isZero();
    }

    @Test
    void callbacksAreRequired() {
        assertThatThrownBy(() -> new I8042(null, InterruptTrigger.NONE)).isInstanceOf(IllegalArgumentException.class);
    }
}
