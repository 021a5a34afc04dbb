package dev.arrow.kvm.device;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part of a PS/2 (i8042) keyboard controller that a Linux guest needs: the reset line, which
 * {@code reboot=k} pulses by writing 0xFE to the command port, and sane answers to the probe of
 * Linux's i8042 driver so that it finds a controller with no keyboard and no AUX port quickly
 * (no command is left unanswered, which would cost the guest a 0.5 s timeout each).
 *
 * <p>Two ports, each a {@link BusDevice} of its own: {@link #dataPort()} (0x60) and
 * {@link #commandPort()} (0x64, status on read). Commands: 0x20 read / 0x60 write the
 * controller configuration byte, 0xAA self-test (0x55), 0xAB keyboard interface test (0x00),
 * 0xA9 AUX interface test (0x01, clock line stuck: no AUX port), 0xA7/0xA8 and 0xAD/0xAE
 * disable/enable AUX and keyboard, 0xD0/0xD1 read/write the output port (writing bit 0 clear
 * resets), 0xD2/0xD3 echo a byte as keyboard data, 0xD4 (byte to AUX) swallowed, and 0xF0..0xFF
 * pulse output lines: the reset line when bit 0 is clear (0xFE). A byte written to the data port
 * outside a command goes to the (absent) keyboard and is answered with a NAK (0xFE) and the
 * timeout status bit, so Linux's keyboard probe fails at once.
 *
 * <p>The one-byte output buffer raises the keyboard IRQ through {@code keyboardInterrupt} when
 * the configuration byte enables it. The reset callback runs on the vCPU thread that wrote the
 * command; the VMM treats it as the end of the guest.
 *
 * <p>State: {@link #state()} captures the controller's registers, its output buffer and a command
 * waiting for its data byte as a {@link State}; {@link #restore} builds a controller that
 * continues from it. Thread-safe.
 */
public final class I8042 {

    private static final Logger log = LoggerFactory.getLogger(I8042.class);

    // Status register bits.
    public static final int STATUS_OUTPUT_FULL = 0x01;
    public static final int STATUS_INPUT_FULL = 0x02;
    public static final int STATUS_SYSTEM = 0x04;
    public static final int STATUS_LAST_WAS_COMMAND = 0x08;
    public static final int STATUS_NOT_INHIBITED = 0x10;
    public static final int STATUS_AUX_DATA = 0x20;
    public static final int STATUS_TIMEOUT = 0x40;

    // Controller configuration byte bits.
    public static final int CONFIG_KEYBOARD_INTERRUPT = 0x01;
    public static final int CONFIG_AUX_INTERRUPT = 0x02;
    public static final int CONFIG_SYSTEM = 0x04;
    public static final int CONFIG_KEYBOARD_DISABLED = 0x10;
    public static final int CONFIG_AUX_DISABLED = 0x20;
    public static final int CONFIG_TRANSLATE = 0x40;

    // Commands.
    public static final int CMD_READ_CONFIG = 0x20;
    public static final int CMD_WRITE_CONFIG = 0x60;
    public static final int CMD_AUX_DISABLE = 0xa7;
    public static final int CMD_AUX_ENABLE = 0xa8;
    public static final int CMD_AUX_TEST = 0xa9;
    public static final int CMD_SELF_TEST = 0xaa;
    public static final int CMD_KEYBOARD_TEST = 0xab;
    public static final int CMD_KEYBOARD_DISABLE = 0xad;
    public static final int CMD_KEYBOARD_ENABLE = 0xae;
    public static final int CMD_READ_OUTPUT_PORT = 0xd0;
    public static final int CMD_WRITE_OUTPUT_PORT = 0xd1;
    public static final int CMD_WRITE_KEYBOARD_BUFFER = 0xd2;
    public static final int CMD_WRITE_AUX_BUFFER = 0xd3;
    public static final int CMD_WRITE_AUX = 0xd4;
    public static final int CMD_PULSE_RESET = 0xfe;

    public static final int SELF_TEST_PASSED = 0x55;
    public static final int INTERFACE_TEST_PASSED = 0x00;
    /** Interface test answer "clock line stuck low": there is no AUX (mouse) port. */
    public static final int AUX_TEST_NO_PORT = 0x01;
    /** What the absent keyboard "answers" to every byte (PS/2 NAK). */
    public static final int KEYBOARD_NAK = 0xfe;
    /** Output port: bit 0 = reset line released (1), bit 1 = A20 enabled. */
    private static final int OUTPUT_PORT_DEFAULT = 0x03;

    private final Runnable resetRequest;
    private final InterruptTrigger keyboardInterrupt;
    private final BusDevice dataPort = new Port(true);
    private final BusDevice commandPort = new Port(false);

    private int config = CONFIG_SYSTEM | CONFIG_TRANSLATE | CONFIG_AUX_DISABLED;
    private int outputPort = OUTPUT_PORT_DEFAULT;
    private int outputBuffer;
    private boolean outputFull;
    private boolean timeout;
    private boolean lastWasCommand;
    private int pendingCommand; // command waiting for its data byte, 0 if none
    private long resets;

    /**
     * @param resetRequest      run when the guest asserts the reset line
     * @param keyboardInterrupt the keyboard IRQ (1), raised when a byte arrives in the output
     *                          buffer with keyboard interrupts enabled
     */
    public I8042(Runnable resetRequest, InterruptTrigger keyboardInterrupt) {
        if (resetRequest == null || keyboardInterrupt == null) {
            throw new IllegalArgumentException("reset callback and keyboard interrupt are required");
        }
        this.resetRequest = resetRequest;
        this.keyboardInterrupt = keyboardInterrupt;
    }

    /**
     * The guest-visible state of the controller: the configuration byte, the output port, the
     * output buffer (its byte, whether it is full, whether it carries the timeout bit), whether
     * the last write went to the command port, and a command waiting for its data byte (0 if none).
     */
    public record State(int config, int outputPort, int outputBuffer, boolean outputFull, boolean timeout,
                        boolean lastWasCommand, int pendingCommand) {
        /** @throws IllegalArgumentException naming the field that no controller could hold */
        public State {
            checkByte("config", config);
            checkByte("outputPort", outputPort);
            checkByte("outputBuffer", outputBuffer);
            if (pendingCommand != 0 && !takesDataByte(pendingCommand)) {
                throw new IllegalArgumentException(String.format(
                        "i8042 state: command 0x%x does not wait for a data byte", pendingCommand));
            }
        }

        private static void checkByte(String field, int value) {
            if (value < 0 || value > 0xff) {
                throw new IllegalArgumentException("i8042 state: " + field + " " + value + " is not a byte");
            }
        }
    }

    /** A controller that continues from {@code state}; the other parameters are those of the constructor. */
    public static I8042 restore(State state, Runnable resetRequest, InterruptTrigger keyboardInterrupt) {
        I8042 controller = new I8042(resetRequest, keyboardInterrupt);
        synchronized (controller) {
            controller.config = state.config();
            controller.outputPort = state.outputPort();
            controller.outputBuffer = state.outputBuffer();
            controller.outputFull = state.outputFull();
            controller.timeout = state.timeout();
            controller.lastWasCommand = state.lastWasCommand();
            controller.pendingCommand = state.pendingCommand();
        }
        return controller;
    }

    /** The controller's guest-visible state as it stands. */
    public synchronized State state() {
        return new State(config, outputPort, outputBuffer, outputFull, timeout, lastWasCommand, pendingCommand);
    }

    /** Whether {@code command} waits for a byte on the data port. */
    private static boolean takesDataByte(int command) {
        return command == CMD_WRITE_CONFIG || command == CMD_WRITE_OUTPUT_PORT || command == CMD_WRITE_KEYBOARD_BUFFER
                || command == CMD_WRITE_AUX_BUFFER || command == CMD_WRITE_AUX;
    }

    /** The data port (0x60): offset 0 only. */
    public BusDevice dataPort() {
        return dataPort;
    }

    /** The command (write) / status (read) port (0x64): offset 0 only. */
    public BusDevice commandPort() {
        return commandPort;
    }

    /** How many times the guest has asserted the reset line. */
    public synchronized long resetRequests() {
        return resets;
    }

    private synchronized int readStatus() {
        return (outputFull ? STATUS_OUTPUT_FULL : 0)
                | (config & CONFIG_SYSTEM)
                | (lastWasCommand ? STATUS_LAST_WAS_COMMAND : 0)
                | STATUS_NOT_INHIBITED
                | (timeout ? STATUS_TIMEOUT : 0);
    }

    private synchronized int readData() {
        outputFull = false;
        timeout = false;
        return outputBuffer;
    }

    private void writeCommand(int command) {
        boolean reset;
        synchronized (this) {
            lastWasCommand = true;
            pendingCommand = 0;
            reset = command(command);
            if (reset) {
                resets++;
            }
        }
        if (reset) {
            resetRequest.run();
        }
    }

    /** Runs one controller command; true if it asserted the reset line. */
    private boolean command(int command) {
        switch (command) {
            case CMD_READ_CONFIG -> respond(config, false);
            case CMD_WRITE_CONFIG, CMD_WRITE_OUTPUT_PORT, CMD_WRITE_KEYBOARD_BUFFER,
                    CMD_WRITE_AUX_BUFFER, CMD_WRITE_AUX -> pendingCommand = command;
            case CMD_AUX_DISABLE -> config |= CONFIG_AUX_DISABLED;
            case CMD_AUX_ENABLE -> config &= ~CONFIG_AUX_DISABLED;
            case CMD_AUX_TEST -> respond(AUX_TEST_NO_PORT, false);
            case CMD_SELF_TEST -> respond(SELF_TEST_PASSED, false);
            case CMD_KEYBOARD_TEST -> respond(INTERFACE_TEST_PASSED, false);
            case CMD_KEYBOARD_DISABLE -> config |= CONFIG_KEYBOARD_DISABLED;
            case CMD_KEYBOARD_ENABLE -> config &= ~CONFIG_KEYBOARD_DISABLED;
            case CMD_READ_OUTPUT_PORT -> respond(outputPort, false);
            default -> {
                if (command >= 0xf0) {
                    return (command & 0x01) == 0; // pulse: bit 0 clear pulses the reset line
                }
                log.debug("i8042: ignoring unknown command 0x{}", Integer.toHexString(command));
            }
        }
        return false;
    }

    private void writeData(int value) {
        boolean reset = false;
        synchronized (this) {
            lastWasCommand = false;
            int command = pendingCommand;
            pendingCommand = 0;
            switch (command) {
                case CMD_WRITE_CONFIG -> config = value;
                case CMD_WRITE_OUTPUT_PORT -> {
                    outputPort = value;
                    reset = (value & 0x01) == 0;
                }
                // There is no AUX port: a byte echoed "from AUX" arrives as keyboard data, which
                // Linux's AUX loop test reads as "no AUX port" at once.
                case CMD_WRITE_KEYBOARD_BUFFER, CMD_WRITE_AUX_BUFFER -> respond(value, false);
                case CMD_WRITE_AUX -> { } // no AUX device to send to
                default -> respond(KEYBOARD_NAK, true); // to the absent keyboard
            }
            if (reset) {
                resets++;
            }
        }
        if (reset) {
            resetRequest.run();
        }
    }

    /** Puts a byte into the output buffer (replacing an unread one) and raises IRQ 1 if enabled. */
    private void respond(int value, boolean keyboardTimeout) {
        outputBuffer = value & 0xff;
        outputFull = true;
        timeout = keyboardTimeout;
        if ((config & CONFIG_KEYBOARD_INTERRUPT) != 0) {
            keyboardInterrupt.trigger();
        }
    }

    private final class Port implements BusDevice {
        private final boolean data;

        Port(boolean data) {
            this.data = data;
        }

        @Override
        public void read(long offset, byte[] bytes) {
            if (bytes.length == 0) {
                return;
            }
            int value = offset != 0 ? 0xff : data ? readData() : readStatus();
            bytes[0] = (byte) value;
            for (int i = 1; i < bytes.length; i++) {
                bytes[i] = (byte) 0xff;
            }
        }

        @Override
        public void write(long offset, byte[] bytes) {
            if (bytes.length == 0 || offset != 0) {
                return;
            }
            if (data) {
                writeData(bytes[0] & 0xff);
            } else {
                writeCommand(bytes[0] & 0xff);
            }
        }
    }
}
